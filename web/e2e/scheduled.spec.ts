// Scheduling a message in a conversation: picked in the browser's time zone (the tests'
// is America/Sao_Paulo), sent to the API with its offset, listed with its status, and
// cancelled.
import { expect, test } from "@playwright/test";
import { graphql, ownerSession, screenshot, signIn, simulate } from "./support";

test("schedule a message, see it listed, cancel it", async ({ page }) => {
  const owner = await ownerSession();
  const customer = "+5521922221111";
  const hello = `Oi, é o Beto (${Date.now()})`;
  const wrote = await simulate(hello, { from: customer, name: "Beto" });
  expect(wrote.code, wrote.output).toBe(0);

  await signIn(page);
  await page.getByRole("link", { name: /Beto/ }).first().click();
  await expect(page.getByRole("log").getByText(hello, { exact: true })).toBeVisible();
  const panel = page.getByTestId("scheduled");
  await panel.getByText(/Mensagens agendadas/).click();
  const form = page.getByRole("group", { name: "Agendar uma mensagem" });
  await expect(form.getByRole("radio", { name: "Texto livre" })).toBeChecked();
  const text = `Lembrete: sua encomenda fica pronta amanhã (${Date.now()})`;
  await form.getByLabel("Mensagem").fill(text);
  // Tomorrow at 09:00 on the browser's clock (São Paulo: UTC-3, no daylight saving).
  const tomorrow = new Date(Date.now() + 86_400_000);
  const day = tomorrow.toLocaleDateString("sv-SE", { timeZone: "America/Sao_Paulo" });
  await form.getByLabel(/Quando \(horário de America\/Sao_Paulo\)/).fill(`${day}T09:00`);
  await form.getByRole("button", { name: "Agendar" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Mensagem agendada para" })).toBeVisible();

  const list = page.getByRole("list", { name: "Mensagens agendadas desta conversa" });
  const item = list.getByRole("listitem").filter({ hasText: text });
  await expect(item).toContainText("Agendada");
  await expect(panel.getByText("Mensagens agendadas (1 aguardando)")).toBeVisible();

  // The API holds the moment the team meant: 09:00 in São Paulo is 12:00 UTC.
  const conversationId = page.url().split("/c/")[1];
  const stored = await graphql<{
    conversation: { scheduledMessages: { body: string | null; sendAt: string; status: string }[] };
  }>(
    "query ($id: ID!) { conversation(id: $id) { scheduledMessages { body sendAt status } } }",
    { id: conversationId },
    owner.token,
  );
  const mine = stored.conversation.scheduledMessages.find((m) => m.body === text);
  expect(mine?.status).toBe("SCHEDULED");
  expect(Date.parse(mine?.sendAt ?? "")).toBe(Date.parse(`${day}T12:00:00Z`));
  await screenshot(page, "scheduled", "desktop");

  await item.getByRole("button", { name: /Cancelar a mensagem de/ }).click();
  await expect(page.getByRole("status").filter({ hasText: "Agendamento cancelado." })).toBeVisible();
  await expect(item).toContainText("Cancelada");
  await expect(item.getByRole("button")).toHaveCount(0);
  await expect(panel.getByText("Mensagens agendadas (0 aguardando)")).toBeVisible();
});
