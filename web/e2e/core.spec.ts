// The core path, as a business owner lives it: sign in, see the demo conversation, a
// customer writes and it arrives live, take over, reply (and Twilio gets the reply), hand
// back, sign out.
import { expect, test } from "@playwright/test";
import { demo, demoReply, screenshot, sentToCustomer, simulate } from "./support";

test("sign in, watch a customer live, take over, reply, hand back, sign out", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Entrar no Atende" })).toBeVisible();
  await screenshot(page, "sign-in", "desktop");
  await page.getByLabel("E-mail").fill(demo.email);
  await page.getByLabel("Senha").fill(demo.password);
  await page.getByRole("button", { name: "Entrar" }).click();

  // The inbox, with the demo conversation the stack started with.
  const inbox = page.getByRole("list", { name: "Lista de conversas" });
  const maria = inbox.getByRole("link", { name: new RegExp(demo.customerName) });
  await expect(maria).toBeVisible();
  await expect(maria).toContainText(demoReply(demo.firstMessage));
  await screenshot(page, "inbox", "desktop");

  await maria.click();
  await expect(page).toHaveURL(/\/c\//);
  const log = page.getByRole("log", { name: `Mensagens com ${demo.customerName}` });
  await expect(log.getByText(demo.firstMessage, { exact: true })).toBeVisible();
  await expect(log.getByText(demoReply(demo.firstMessage))).toBeVisible();
  await expect(page.getByTestId("ai-state")).toHaveText("Assistente respondendo");
  await expect(page.getByTestId("window")).toContainText("Janela de 24 h aberta");

  // The customer writes: the message and the assistant's answer arrive live, in the
  // conversation and in the inbox, without a reload.
  const question = `Tem pão sem glúten hoje? (${Date.now()})`;
  const customer = simulate(question);
  await expect(log.getByText(question, { exact: true })).toBeVisible();
  await expect(log.getByText(demoReply(question))).toBeVisible({ timeout: 30_000 });
  await expect(maria).toContainText(demoReply(question));
  const answered = await customer;
  expect(answered.code, answered.output).toBe(0);
  const aiAnswer = log.getByRole("listitem").filter({ hasText: demoReply(question) });
  await expect(aiAnswer).toContainText("Assistente");
  await expect(aiAnswer.getByRole("img", { name: "Entregue" })).toBeVisible();

  // Take over: the assistant pauses and the conversation is the owner's.
  await page.getByRole("button", { name: "Assumir" }).click();
  await expect(page.getByTestId("ai-state")).toHaveText("Com a equipe");
  await expect(page.getByLabel("Responsável")).toHaveValue(/.+/);
  await expect(page.getByLabel("Responsável").locator("option:checked")).toHaveText(demo.owner);
  await expect(maria).toContainText("Com a equipe");

  // Reply: it goes out through Twilio and shows its delivery ticks.
  const reply = `Oi Maria, aqui é a Ana! Temos sim, saindo às 16h. (${Date.now()})`;
  const composer = page.getByRole("textbox", { name: "Sua resposta" });
  await composer.fill(reply);
  await composer.press("Enter");
  const sent = log.getByRole("listitem").filter({ hasText: reply });
  await expect(sent).toContainText(demo.owner);
  await expect(sent.getByRole("img", { name: "Entregue" })).toBeVisible();
  await expect(composer).toHaveValue("");
  await expect
    .poll(async () => (await sentToCustomer()).some((message) => message.body === reply))
    .toBe(true);
  await screenshot(page, "conversation", "desktop");

  // While the team has it, the customer's next message gets no AI answer.
  const thanks = `Obrigada! (${Date.now()})`;
  const quiet = await simulate(thanks, { timeout: 5 });
  expect(quiet.code, quiet.output).toBe(3);
  await expect(log.getByText(thanks, { exact: true })).toBeVisible();

  // Hand back to the assistant.
  await page.getByRole("button", { name: "Devolver ao assistente" }).click();
  await expect(page.getByTestId("ai-state")).toHaveText("Assistente respondendo");
  await expect(page.getByRole("button", { name: "Assumir" })).toBeVisible();

  await page.getByRole("button", { name: "Sair" }).click();
  await expect(page.getByRole("heading", { name: "Entrar no Atende" })).toBeVisible();
  await expect(page.getByText("Você saiu. Até logo!")).toBeVisible();
});
