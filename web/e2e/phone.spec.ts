// On a phone: one pane at a time, the conversation with a way back.
import { expect, test } from "@playwright/test";
import { demo, screenshot } from "./support";

test("the inbox and a conversation on a phone", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Entrar no Atende" })).toBeVisible();
  await screenshot(page, "sign-in", "phone");
  await page.getByLabel("E-mail").fill(demo.email);
  await page.getByLabel("Senha").fill(demo.password);
  await page.getByRole("button", { name: "Entrar" }).tap();

  const maria = page.getByRole("link", { name: /Maria/ });
  await expect(maria).toBeVisible();
  await screenshot(page, "inbox", "phone");
  await maria.tap();
  const composer = page.getByRole("textbox", { name: "Sua resposta" });
  await expect(composer).toBeVisible();
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeHidden();
  await expect(page.getByTestId("window")).toBeVisible();
  await screenshot(page, "conversation", "phone");
  // Nothing is wider than the screen.
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBeLessThanOrEqual(0);

  await page.getByRole("link", { name: "Voltar para as conversas" }).tap();
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeVisible();
  await expect(composer).toBeHidden();
});

test("every settings section fits a phone's screen", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("E-mail").fill(demo.email);
  await page.getByLabel("Senha").fill(demo.password);
  await page.getByRole("button", { name: "Entrar" }).tap();
  await expect(page.getByRole("link", { name: /Maria/ })).toBeVisible();
  for (const [section, heading] of [
    ["assistant", "Configurações"],
    ["team", "Membros"],
    ["channels", "Números"],
    ["knowledge", "Novo documento"],
    ["api-keys", "Nova chave"],
    ["webhooks", "Novo endereço"],
  ] as const) {
    await page.goto(`/settings/${section}`);
    await expect(page.getByRole("heading", { name: heading, exact: true })).toBeVisible();
    // Nothing is wider than the screen, the page or the settings pane.
    const overflow = await page.evaluate(() => {
      const pane = document.getElementById("main");
      const page = document.documentElement;
      return Math.max(
        page.scrollWidth - page.clientWidth,
        pane ? pane.scrollWidth - pane.clientWidth : 0,
      );
    });
    expect(overflow, section).toBeLessThanOrEqual(0);
  }
  await screenshot(page, "settings-webhooks", "phone");
});

test("the contacts screen fits a phone's screen, from the navigation", async ({ page }) => {
  await page.goto("/");
  await page.getByLabel("E-mail").fill(demo.email);
  await page.getByLabel("Senha").fill(demo.password);
  await page.getByRole("button", { name: "Entrar" }).tap();
  await expect(page.getByRole("link", { name: /Maria/ })).toBeVisible();
  await page.getByRole("navigation", { name: "Navegação principal" }).getByRole("link", { name: "Contatos" }).tap();
  await expect(page.getByRole("heading", { name: "Contatos", level: 1 })).toBeVisible();
  await expect(page.getByTestId("contact").filter({ hasText: "Maria" })).toBeVisible();
  const overflow = await page.evaluate(() => {
    const pane = document.getElementById("main");
    const page = document.documentElement;
    return Math.max(page.scrollWidth - page.clientWidth, pane ? pane.scrollWidth - pane.clientWidth : 0);
  });
  expect(overflow).toBeLessThanOrEqual(0);
  await screenshot(page, "contacts", "phone");
});
