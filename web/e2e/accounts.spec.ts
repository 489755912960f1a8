// The pages the account mails link to: accepting an invitation, resetting a password,
// confirming an e-mail. Each test follows the link from the mail the product sent (the
// mail catcher), as the person would.
import { expect, test } from "@playwright/test";
import { demo, graphql, mailCount, mailedLink, ownerSession } from "./support";

// One address per run of the product (a worker restarted after a failure keeps it).
const run = new URL(process.env.ATENDE_E2E_BASE_URL ?? "http://x:1").port;
const agent = { email: `agente.${run}@padaria.test`, name: "Bruno da Padaria" };

test("an invited person creates an account from the mail and works the inbox", async ({
  page,
}) => {
  const owner = await ownerSession();
  const since = await mailCount();
  await graphql(
    `mutation ($org: ID!, $email: String!) {
      inviteMember(input: {organizationId: $org, email: $email, role: AGENT}) { __typename }
    }`,
    { org: owner.organizationId, email: agent.email },
    owner.token,
  );
  const link = await mailedLink(agent.email, "/accept-invitation", since);
  await page.goto(link);
  await expect(page.getByRole("heading", { name: "Convite para a equipe" })).toBeVisible();
  await page.getByLabel("Seu nome").fill(agent.name);
  await page.getByLabel("Nova senha").fill("uma-senha-boa");
  await page.getByRole("button", { name: "Aceitar o convite" }).click();
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeVisible();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("link", { name: new RegExp(demo.customerName) })).toBeVisible();

  // The same link works once.
  await page.getByRole("button", { name: "Sair" }).click();
  await expect(page.getByRole("heading", { name: "Entrar no Atende" })).toBeVisible();
  await page.goto(link);
  await page.getByLabel("Seu nome").fill(agent.name);
  await page.getByLabel("Nova senha").fill("outra-senha-boa");
  await page.getByRole("button", { name: "Aceitar o convite" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
});

test("a forgotten password is reset from the mailed link", async ({ page }) => {
  await page.goto("/");
  await page.getByRole("link", { name: "Esqueci minha senha" }).click();
  await expect(page.getByRole("heading", { name: "Esqueceu a senha?" })).toBeVisible();
  const since = await mailCount();
  await page.getByLabel("E-mail").fill(agent.email);
  await page.getByRole("button", { name: "Enviar o link" }).click();
  await expect(page.getByRole("status")).toBeVisible();

  await page.goto(await mailedLink(agent.email, "/reset-password", since));
  await expect(page.getByRole("heading", { name: "Crie uma nova senha" })).toBeVisible();
  await page.getByLabel("Nova senha").fill("senha-nova-de-verdade");
  await page.getByRole("button", { name: "Salvar e entrar" }).click();
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeVisible();

  await page.getByRole("button", { name: "Sair" }).click();
  await page.getByLabel("E-mail").fill(agent.email);
  await page.getByLabel("Senha").fill("senha-nova-de-verdade");
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeVisible();
});

test("an e-mail is confirmed from the mailed link", async ({ page }) => {
  const owner = await ownerSession();
  const since = await mailCount();
  await graphql("mutation { resendVerificationEmail { __typename } }", {}, owner.token);
  await page.goto(await mailedLink(demo.email, "/verify-email", since));
  await expect(page.getByRole("status")).toHaveText(
    `Pronto: o e-mail ${demo.email} está confirmado.`,
  );
  await page.getByRole("link", { name: "Ir para o Atende" }).click();
  await expect(page.getByRole("heading", { name: "Entrar no Atende" })).toBeVisible();
});
