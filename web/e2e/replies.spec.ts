// What a conversation shows beyond text: the knowledge passages an assistant's answer
// used, a voice note's transcript, and, outside WhatsApp's 24-hour window, the approved
// templates instead of a reply.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { graphql, ownerSession, screenshot, sentToCustomer, signIn, simulate, sql } from "./support";

test("an answer shows the knowledge passages it used", async ({ page }) => {
  const owner = await ownerSession();
  const added = await graphql<{ addKnowledgeDocument: { document: { id: string } } }>(
    `mutation ($org: ID!) {
      addKnowledgeDocument(input: {organizationId: $org, title: "Horários",
        content: "# Horários\\n\\nA padaria abre todos os dias às 6h30 e fecha às 20h."}) {
        ... on AddKnowledgeDocumentSuccess { document { id } }
      }
    }`,
    { org: owner.organizationId },
    owner.token,
  );
  const documentId = added.addKnowledgeDocument.document.id;
  await expect
    .poll(
      async () => {
        const found = await graphql<{
          organization: { knowledgeDocuments: { edges: { node: { id: string; status: string } }[] } };
        }>(
          `query ($org: ID!) { organization(id: $org) {
            knowledgeDocuments(first: 20) { edges { node { id status } } } } }`,
          { org: owner.organizationId },
          owner.token,
        );
        return found.organization.knowledgeDocuments.edges.find((e) => e.node.id === documentId)
          ?.node.status;
      },
      { timeout: 30_000 },
    )
    .toBe("READY");

  await signIn(page);
  const question = `A que horas a padaria abre? (${Date.now()})`;
  await simulate(question, { from: "+5521955554444", name: "Rita" });
  await page.getByRole("link", { name: /Rita/ }).click();
  const answer = page.getByRole("log").getByRole("listitem").filter({ hasText: "6h30" });
  await expect(answer).toContainText("Assistente");
  await answer.getByText(/Fontes da base de conhecimento/).click();
  await expect(answer.getByText("Horários", { exact: true })).toBeVisible();
});

test("a voice note shows its transcript, and the assistant answered what it said", async ({
  page,
}) => {
  // A voice note as WhatsApp sends one (Opus in Ogg); the demo model transcribes it with a
  // marked demo transcript, which the assistant's answer quotes.
  const file = join(tmpdir(), `atende-e2e-voice-${Date.now()}.ogg`);
  writeFileSync(file, Buffer.concat([Buffer.from("OggS"), Buffer.alloc(2000, 7)]));
  await signIn(page);
  const sent = await simulate("", { from: "+5521933332222", name: "Lia", media: [file] });
  expect(sent.code, sent.output).toBe(0);
  await page.getByRole("link", { name: /Lia/ }).click();
  const log = page.getByRole("log");
  await expect(log.getByTestId("transcript")).toContainText("Transcrição de demonstração");
  const answer = log.getByRole("listitem").filter({ hasText: "áudio transcrito" });
  await expect(answer).toContainText("Assistente");
});

test("outside the 24-hour window, an approved template is sent instead", async ({ page }) => {
  const owner = await ownerSession();
  const customer = "+5521944443333";
  await simulate(`Oi, é o Pedro (${Date.now()})`, { from: customer, name: "Pedro" });
  const channels = await graphql<{ organization: { channels: { id: string }[] } }>(
    "query ($org: ID!) { organization(id: $org) { channels { id } } }",
    { org: owner.organizationId },
    owner.token,
  );
  const name = `Pedido pronto ${Date.now()}`;
  await graphql(
    `mutation ($channel: ID!, $name: String!) {
      createChannelTemplate(input: {channelId: $channel, name: $name,
        contentSid: "HX0123456789abcdef0123456789abcdef", language: "pt_BR",
        variables: [{key: "1", name: "Nome"}],
        body: "Olá {{1}}, seu pedido está pronto para retirar."}) { __typename }
    }`,
    { channel: channels.organization.channels[0]?.id, name },
    owner.token,
  );
  // Two days pass since Pedro last wrote.
  await sql(
    "update public.conversations set last_inbound_at = now() - interval '2 days'" +
      " where contact_id = (select id from public.contacts where phone_number = %s)",
    [customer],
  );

  await signIn(page);
  await page.getByRole("link", { name: /Pedro/ }).click();
  await expect(page.getByTestId("window")).toContainText("A janela de 24 h fechou");
  await expect(page.getByRole("textbox", { name: "Sua resposta" })).toBeDisabled();
  const picker = page.getByRole("group", { name: "Enviar um modelo aprovado" });
  await picker.getByLabel("Modelo").selectOption({ label: `${name} (pt_BR)` });
  await picker.getByLabel("Nome").fill("Pedro");
  await expect(picker.getByLabel("Como o cliente vai ler")).toHaveText(
    "Olá Pedro, seu pedido está pronto para retirar.",
  );
  await screenshot(page, "template", "desktop");
  await picker.getByRole("button", { name: "Enviar modelo" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Modelo enviado." })).toBeVisible();
  await expect
    .poll(async () =>
      (await sentToCustomer(customer)).some((m) => m.content_variables?.["1"] === "Pedro"),
    )
    .toBe(true);
});
