// Usage, day by day, as pictures (with their figures for screen readers).
import { expect, test } from "@playwright/test";
import { screenshot, signIn } from "./support";

test("usage shows the last 14 days as charts", async ({ page }) => {
  await signIn(page);
  await page.getByRole("navigation", { name: "Navegação principal" })
    .getByRole("link", { name: "Uso" })
    .click();
  await expect(page.getByRole("heading", { name: "Uso" })).toBeVisible();
  const messages = page.getByRole("img", { name: /^Mensagens por dia\./ });
  await expect(messages).toBeVisible();
  // Today's column holds at least the demo conversation's messages.
  const label = (await messages.getAttribute("aria-label")) ?? "";
  expect(Number(/Recebidas: (\d+)/.exec(label)?.[1])).toBeGreaterThan(0);
  expect(Number(/Enviadas: (\d+)/.exec(label)?.[1])).toBeGreaterThan(0);
  await expect(page.getByRole("img", { name: /^Respostas do assistente\./ })).toBeVisible();
  await expect(page.getByRole("img", { name: /^Tokens do modelo\./ })).toBeVisible();
  await expect(page.locator(".chart rect")).not.toHaveCount(0);
  await screenshot(page, "usage", "desktop");
});
