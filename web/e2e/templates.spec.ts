// Channel templates in the settings: the owner adds one to the demo channel (a refusal
// first, in the API's words), sees it listed with its ContentSid, language and
// placeholders, finds it offered in the contacts screen's "start a conversation", and
// removes it (asked first); it is no longer offered.
import { expect, test } from "@playwright/test";
import { demo, screenshot, signIn, unnamedControls } from "./support";

test("the owner adds a template to a channel, it is offered to start a conversation, then removed", async ({
  page,
}) => {
  const name = `Lembrete ${Date.now()}`;
  await signIn(page);
  await page.goto("/settings/channels");
  await expect(page.getByRole("heading", { name: "Números", exact: true })).toBeVisible();
  const channel = page.locator("li.channel").filter({ hasText: demo.channel }).first();
  await channel.getByRole("button", { name: /^Adicionar um modelo a/ }).click();
  const form = channel.getByRole("group", { name: /^Adicionar um modelo a/ });
  await expect(form.getByLabel("Nome do modelo")).toBeVisible();
  expect(await unnamedControls(page)).toEqual([]);

  // A ContentSid that is not one: the API's refusal, in words.
  await form.getByLabel("Nome do modelo").fill(name);
  await form.getByLabel("ContentSid (Twilio Content API)").fill("nope");
  await form.getByLabel("Marcadores").fill("1=Nome, 2=Dia");
  await form.getByLabel(/^Texto aprovado/).fill("Olá {{1}}, seu pedido fica pronto {{2}}.");
  await form.getByRole("button", { name: "Salvar modelo" }).click();
  await expect(channel.getByRole("alert")).not.toBeEmpty();

  await form.getByLabel("ContentSid (Twilio Content API)").fill("HX0123456789abcdef0123456789abcd01");
  await form.getByRole("button", { name: "Salvar modelo" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Modelo ${name} adicionado.` })).toBeVisible();
  const row = channel.getByTestId("template").filter({ hasText: name });
  await expect(row).toContainText("pt_BR");
  await expect(row).toContainText("HX0123456789abcdef0123456789abcd01");
  await expect(row).toContainText("Marcadores: {{1}} Nome, {{2}} Dia");
  expect(await unnamedControls(page)).toEqual([]);
  await row.scrollIntoViewIfNeeded();
  await screenshot(page, "settings-templates", "desktop");

  // Offered in the contacts screen, to start a conversation with the demo customer.
  const offered = async () => {
    await page.getByRole("navigation", { name: "Navegação principal" }).getByRole("link", { name: "Contatos" }).click();
    await page.getByLabel("Buscar por nome ou número").fill(demo.customer.slice(1));
    const contact = page.getByTestId("contact").filter({ hasText: demo.customer }).first();
    await contact.getByRole("button", { name: /^Iniciar uma conversa com/ }).click();
    const start = page.getByRole("group", { name: /^Iniciar uma conversa com/ });
    return start.getByLabel("Modelo").locator("option", { hasText: name });
  };
  await expect(await offered()).toHaveCount(1);

  // Removed, asked first.
  await page.goto("/settings/channels");
  await row.getByRole("button", { name: `Remover o modelo ${name}` }).click();
  await row.getByRole("button", { name: "Sim, remover" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Modelo ${name} removido.` })).toBeVisible();
  await expect(channel.getByTestId("template").filter({ hasText: name })).toHaveCount(0);
  await expect(await offered()).toHaveCount(0);
});
