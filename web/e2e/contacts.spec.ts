// Contacts: a new one with a Brazilian number typed loosely (the API stores it in E.164),
// found by search and by tag, renamed, and a conversation started with one of the demo
// channel's approved templates (the demo workspace has none: the test adds one through
// the API, as an integration would), which opens.
import { expect, test } from "@playwright/test";
import { graphql, ownerSession, screenshot, sentToCustomer, signIn, unnamedControls } from "./support";

test("create a contact, find it, rename it, start a conversation with a template", async ({
  page,
}) => {
  const owner = await ownerSession();
  const channels = await graphql<{ organization: { channels: { id: string }[] } }>(
    "query ($org: ID!) { organization(id: $org) { channels { id } } }",
    { org: owner.organizationId },
    owner.token,
  );
  const template = `Boas-vindas ${Date.now()}`;
  await graphql(
    `mutation ($channel: ID!, $name: String!) {
      createChannelTemplate(input: {channelId: $channel, name: $name,
        contentSid: "HX0123456789abcdef0123456789abcdee", language: "pt_BR",
        variables: [{key: "1", name: "Nome"}],
        body: "Olá {{1}}, aqui é a Padaria Pão Quente!"}) { __typename }
    }`,
    { channel: channels.organization.channels[0]?.id, name: template },
    owner.token,
  );
  // A number of this run, typed as people write it.
  const digits = String(Date.now()).slice(-7);
  const typed = `(21) 9 8${digits.slice(0, 3)}-${digits.slice(3)}`;
  const e164 = `+552198${digits}`;

  await signIn(page);
  await page.getByRole("navigation", { name: "Navegação principal" }).getByRole("link", { name: "Contatos" }).click();
  await expect(page).toHaveURL(/\/contacts$/);
  await expect(page.getByRole("heading", { name: "Contatos", level: 1 })).toBeVisible();

  const form = page.getByRole("group", { name: "Novo contato" });
  // A refusal from the API's union is shown in words, beside the form.
  await form.getByLabel("Número de telefone").fill("123");
  await form.getByRole("button", { name: "Adicionar contato" }).click();
  await expect(form.getByRole("alert")).not.toBeEmpty();

  await form.getByLabel("Número de telefone").fill(typed);
  await form.getByLabel("Nome").fill("Tereza Teste");
  await form.getByLabel("Etiquetas").fill("VIP,  Clientes RJ");
  await form.getByRole("button", { name: "Adicionar contato" }).click();
  await expect(
    page.getByRole("status").filter({ hasText: `Contato Tereza Teste adicionado (${e164}).` }),
  ).toBeVisible();

  const list = page.getByRole("list", { name: "Lista de contatos" });
  const row = list.getByTestId("contact").filter({ hasText: e164 });
  await expect(row).toContainText("Tereza Teste");
  await expect(row.getByText("vip", { exact: true })).toBeVisible();
  await expect(row.getByText("clientes rj", { exact: true })).toBeVisible();

  await page.getByLabel("Buscar por nome ou número").fill("Tereza");
  await expect(page.getByTestId("contacts-count")).toHaveText("1 contato(s)");
  await page.getByLabel("Buscar por nome ou número").fill("");
  // The demo customer, untagged, is listed again, then filtered out by the tag.
  const maria = list.getByTestId("contact").filter({ hasText: "Maria" });
  await expect(maria).toBeVisible();
  await page.getByLabel("Só com a etiqueta").fill("vip");
  await expect(maria).toHaveCount(0);
  await expect(row).toBeVisible();
  await expect(list.getByTestId("contact").filter({ hasNotText: "vip" })).toHaveCount(0);

  await row.getByRole("button", { name: "Editar Tereza Teste" }).click();
  await row.getByLabel("Nome").fill("Tereza Souza");
  // The business's own fields: two added, then one of them removed before saving.
  await row.getByRole("button", { name: "Adicionar campo" }).click();
  await row.getByLabel("Campo", { exact: true }).last().fill("plano");
  await row.getByLabel("Valor").last().fill("ouro");
  await row.getByRole("button", { name: "Adicionar campo" }).click();
  await row.getByLabel("Campo", { exact: true }).last().fill("rascunho");
  await row.getByRole("button", { name: "Remover o campo rascunho" }).click();
  await row.getByRole("button", { name: "Adicionar campo" }).click();
  await row.getByLabel("Campo", { exact: true }).last().fill("cidade");
  await row.getByLabel("Valor").last().fill("Niterói");
  expect(await unnamedControls(page)).toEqual([]);
  await row.getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Alterações salvas." })).toBeVisible();
  await expect(row.getByText("Tereza Souza", { exact: true })).toBeVisible();
  await expect(row.getByLabel("Campos")).toHaveText("plano: ouro · cidade: Niterói");
  const stored = await graphql<{
    organization: { contacts: { edges: { node: { attributes: unknown } }[] } };
  }>(
    `query ($org: ID!) {
      organization(id: $org) { contacts(search: "Tereza Souza") { edges { node { attributes } } } }
    }`,
    { org: owner.organizationId },
    owner.token,
  );
  expect(stored.organization.contacts.edges.map((edge) => edge.node.attributes)).toEqual([
    { plano: "ouro", cidade: "Niterói" },
  ]);
  expect(await unnamedControls(page)).toEqual([]);
  await screenshot(page, "contacts", "desktop");

  await row.getByRole("button", { name: "Iniciar uma conversa com Tereza Souza" }).click();
  const start = page.getByRole("group", { name: "Iniciar uma conversa com Tereza Souza" });
  await start.getByLabel("Modelo").selectOption({ label: `${template} (pt_BR)` });
  await start.getByLabel("Nome", { exact: true }).fill("Tereza");
  await expect(start.getByLabel("Como o cliente vai ler")).toHaveText(
    "Olá Tereza, aqui é a Padaria Pão Quente!",
  );
  expect(await unnamedControls(page)).toEqual([]);
  await start.getByRole("button", { name: "Enviar e abrir a conversa" }).click();
  await expect(page).toHaveURL(/\/c\//);
  await expect(page.getByRole("heading", { name: "Tereza Souza" })).toBeVisible();
  await expect(page.getByRole("log")).toContainText("Olá Tereza");
  await expect
    .poll(async () => (await sentToCustomer(e164)).some((m) => m.content_variables?.["1"] === "Tereza"))
    .toBe(true);
});

test("import a CSV file: refused rows by line, then the fixed file imported", async ({ page }) => {
  const digits = String(Date.now()).slice(-7);
  const good = `(21) 9 7${digits.slice(0, 3)}-${digits.slice(3)}`;
  const e164 = `+552197${digits}`;
  await signIn(page);
  await page.goto("/");
  await page.getByRole("link", { name: "Contatos" }).click();
  const form = page.getByRole("group", { name: "Importar um arquivo CSV" });
  const file = form.getByLabel("Arquivo CSV");

  await file.setInputFiles({
    name: "clientes.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(`telefone;nome;etiquetas\n${good};Carla CSV;importados\n123;Errado;\n`),
  });
  await form.getByRole("button", { name: "Importar" }).click();
  const report = page.getByTestId("contact-import");
  await expect(report.getByRole("status")).toContainText(
    "Nada foi importado: 1 linha(s) recusada(s).",
    { timeout: 30_000 },
  );
  const refused = report.getByRole("table", { name: "Linhas recusadas" });
  await expect(refused.getByRole("row")).toHaveCount(2);
  await expect(refused.getByRole("cell").first()).toHaveText("3");
  await expect(refused.getByRole("cell").nth(1)).not.toBeEmpty();
  await screenshot(page, "contacts-import", "desktop");

  await file.setInputFiles({
    name: "clientes.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(`telefone;nome;etiquetas\n${good};Carla CSV;importados\n`),
  });
  await form.getByRole("button", { name: "Importar" }).click();
  await expect(report.getByRole("status")).toContainText(
    "Importado: 1 novo(s), 0 atualizado(s).",
    { timeout: 30_000 },
  );
  const row = page.getByTestId("contact").filter({ hasText: e164 });
  await expect(row).toContainText("Carla CSV");
  await expect(row.getByText("importados", { exact: true })).toBeVisible();
});
