// Settings for what the business connects to Atende: API keys (created, the secret shown
// once and used against /graphql, revoked), outgoing webhooks (an endpoint on this test's
// own receiver, its signing secret, a delivery and a redelivery), the knowledge base
// (typed text and an uploaded file indexed, edited, removed), channels (renamed; a new one
// refused by Twilio's check, then added), and an agent, who sees none of the controls
// (channel templates and broadcasts included).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import {
  graphql,
  mailCount,
  mailedLink,
  ownerSession,
  screenshot,
  signIn,
  simulate,
  unnamedControls,
} from "./support";

const baseUrl = process.env.ATENDE_E2E_BASE_URL ?? "http://x:1";
const simulatorUrl = process.env.ATENDE_E2E_SIMULATOR_URL ?? "http://x:1";
// One name per run of the product, so a rerun against the same stack starts afresh.
const run = `${new URL(baseUrl).port}-${Date.now() % 100_000}`;

async function openSection(page: Page, tab: string, heading: string | RegExp) {
  await page.goto("/settings");
  await page.getByRole("navigation", { name: "Seções das configurações" })
    .getByRole("link", { name: tab })
    .click();
  await expect(page.getByRole("heading", { name: heading, exact: true })).toBeVisible();
  // Every control has a name, whoever looks.
  expect(await unnamedControls(page)).toEqual([]);
}

test("the owner creates an API key, uses its secret once, and revokes it", async ({ page }) => {
  const owner = await ownerSession();
  await signIn(page);
  await openSection(page, "Chaves de API", "Nova chave");
  const name = `CRM ${run}`;
  await page.getByLabel("Nome da chave (para que serve)").fill(name);
  await page.getByLabel("Pode fazer o que faz um").selectOption("AGENT");
  await page.getByRole("button", { name: "Criar chave" }).click();

  await expect(page.getByRole("heading", { name: `Chave “${name}” criada` })).toBeVisible();
  await expect(page.getByText("você não verá este segredo de novo")).toBeVisible();
  const secret = await page.getByLabel("Segredo", { exact: true }).inputValue();
  expect(secret).toMatch(/^atende_/);
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"]);
  await page.getByRole("button", { name: "Copiar" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Copiado." })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  const row = page.getByRole("listitem").filter({ hasText: name });
  await expect(row).toContainText(secret.slice(0, 15));
  await expect(row).toContainText("último uso: nunca");
  await page.locator("#main").evaluate((pane) => pane.scrollTo(0, 0));
  await screenshot(page, "settings-api-keys", "desktop");

  // The secret works against the API, as the business's system would use it.
  const asKey = await graphql<{ organization: { id: string } | null }>(
    "query ($id: ID!) { organization(id: $id) { id } }",
    { id: owner.organizationId },
    secret,
  );
  expect(asKey.organization?.id).toBe(owner.organizationId);

  await page.getByRole("button", { name: "Já guardei" }).click();
  await expect(page.getByLabel("Segredo", { exact: true })).toHaveCount(0);
  // By keyboard: the question takes the focus to its "yes".
  await row.getByRole("button", { name: `Revogar a chave ${name}` }).focus();
  await page.keyboard.press("Enter");
  await expect(row.getByRole("group")).toContainText("Os sistemas que a usam param de funcionar");
  await expect(row.getByRole("button", { name: "Sim, revogar" })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(row).toContainText("Revogada em");
  await expect(row.getByRole("button", { name: /Revogar/ })).toHaveCount(0);

  // Revoked: refused as an invalid token is.
  const refused = await fetch(new URL("/graphql", baseUrl), {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json",
      Authorization: `Bearer ${secret}`,
    },
    body: JSON.stringify({ query: "{ viewer { user { id } } }" }),
  });
  expect(refused.status).toBe(401);
});

test("the owner adds a webhook endpoint, sees its deliveries and redelivers one", async ({
  page,
}) => {
  // The business's system: this test's own receiver, answering 204.
  const received: { type: string; signature: string | undefined }[] = [];
  const receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk.toString()));
    request.on("end", () => {
      const event = JSON.parse(body) as { type: string };
      received.push({ type: event.type, signature: request.headers["webhook-signature"] as string });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/atende/${run}`;
  try {
    await signIn(page);
    await openSection(page, "Webhooks", "Novo endereço");
    await page.getByLabel("URL (https://)").fill(url);
    await expect(page.getByRole("checkbox", { name: /Mensagem recebida/ })).toBeChecked();
    await page.getByRole("checkbox", { name: /Conversa encerrada/ }).check();
    await page.getByRole("button", { name: "Adicionar endereço" }).click();
    await expect(page.getByText("você não verá este segredo de novo")).toBeVisible();
    expect(await page.getByLabel("Segredo", { exact: true }).inputValue()).toMatch(/^whsec_/);
    const row = page.locator("li.endpoint").filter({ hasText: url });
    await expect(row).toContainText("message.received");
    await expect(row).toContainText("conversation.closed");
    await expect(row).toContainText("Ativo");
    await page.getByRole("button", { name: "Já guardei" }).click();

    // A customer writes: the endpoint hears of it, signed.
    await simulate(`Oi, quero um bolo (${run})`, { from: "+5531966665555", name: "Lia" });
    await expect.poll(() => received.filter((event) => event.type === "message.received").length)
      .toBeGreaterThan(0);
    expect(received[0]?.signature).toMatch(/^v1,/);

    await page.reload();
    await row.getByRole("button", { name: /Entregas recentes/ }).click();
    const delivery = row.getByRole("row").filter({ hasText: "message.received" }).first();
    await expect(delivery).toContainText("Entregue");
    await expect(delivery).toContainText("204");
    expect(await unnamedControls(page)).toEqual([]);
    await page.locator("#main").evaluate((pane) => pane.scrollTo(0, 0));
    await row.evaluate((element) => element.scrollIntoView({ block: "center" }));
    await screenshot(page, "settings-webhooks", "desktop");
    const before = received.length;
    await delivery.getByRole("button", { name: /^Reenviar message.received/ }).click();
    await expect(page.getByRole("status").filter({ hasText: "Entrega na fila de novo." }))
      .toBeVisible();
    await expect.poll(() => received.length).toBeGreaterThan(before);
    // Each attempt is kept: the first and the redelivery's, both answered 204.
    await expect(async () => {
      await page.reload();
      await row.getByRole("button", { name: /Entregas recentes/ }).click();
      await delivery.locator("summary").click();
      await expect(delivery.getByRole("listitem")).toHaveCount(2, { timeout: 1_000 });
    }).toPass();
    await expect(delivery.getByRole("listitem").last()).toContainText("204");

    // Off, on, removed.
    await row.getByRole("button", { name: `Desativar ${url}` }).click();
    await expect(row).toContainText("Desativado");
    await row.getByRole("button", { name: `Ativar ${url}` }).click();
    await expect(row).toContainText("Ativo");
    await row.getByRole("button", { name: `Remover ${url}` }).click();
    await row.getByRole("button", { name: "Sim, remover" }).click();
    await expect(page.locator("li.endpoint").filter({ hasText: url })).toHaveCount(0);
  } finally {
    receiver.close();
  }
});

test("the owner adds knowledge documents, typed and uploaded, and sees them indexed", async ({
  page,
}) => {
  await signIn(page);
  await openSection(page, "Conhecimento", "Novo documento");
  const typed = `Horários ${run}`;
  await page.getByLabel("Título").fill(typed);
  await page.getByLabel("Texto (simples ou Markdown)").fill(
    "# Horários\n\nAbrimos de segunda a sábado, das 7h às 19h. Domingo, das 8h ao meio-dia.",
  );
  await page.getByRole("button", { name: "Adicionar documento" }).click();
  await expect(page.getByRole("status").filter({ hasText: `“${typed}” adicionado` })).toBeVisible();
  const typedRow = page.locator("li.document").filter({ hasText: typed });
  // Indexed in the background; the list looks again while a document is pending.
  await expect(typedRow).toContainText("Pronto");
  await expect(typedRow).toContainText("trechos: 1");

  const uploaded = `Preços ${run}`;
  await page.getByLabel("Título").fill(uploaded);
  await page.getByLabel("Ou um arquivo").setInputFiles({
    name: "precos.md",
    mimeType: "text/markdown",
    buffer: Buffer.from("# Pães\n\nPão francês: R$ 1,00.\n\n# Bolos\n\nBolo de fubá: R$ 25,00.\n"),
  });
  await expect(page.getByLabel("Texto (simples ou Markdown)")).toBeDisabled();
  await page.getByRole("button", { name: "Adicionar documento" }).click();
  const uploadedRow = page.locator("li.document").filter({ hasText: uploaded });
  await expect(uploadedRow).toContainText("precos.md");
  await expect(uploadedRow).toContainText("Pronto");
  await page.locator("#main").evaluate((pane) => pane.scrollTo(0, 0));
  await screenshot(page, "settings-knowledge", "desktop");

  // Edited: a new title and text, indexed again.
  await typedRow.getByRole("button", { name: `Editar ${typed}` }).click();
  const renamed = `Horário de funcionamento ${run}`;
  await typedRow.getByLabel("Título").fill(renamed);
  await typedRow.getByLabel("Novo texto (vazio: manter o atual)").fill(
    "Abrimos todos os dias, das 6h às 20h.",
  );
  await typedRow.getByRole("button", { name: "Salvar" }).click();
  const renamedRow = page.locator("li.document").filter({ hasText: renamed });
  await expect(renamedRow).toContainText("Pronto");

  // A refusal from the API, in words: an empty file.
  await page.getByLabel("Título").fill(`Vazio ${run}`);
  await page.getByLabel("Ou um arquivo").setInputFiles({
    name: "vazio.txt",
    mimeType: "text/plain",
    buffer: Buffer.from(""),
  });
  await page.getByRole("button", { name: "Adicionar documento" }).click();
  await expect(page.getByRole("alert").first()).toBeVisible();

  await renamedRow.getByRole("button", { name: `Remover ${renamed}` }).click();
  await renamedRow.getByRole("button", { name: "Sim, remover" }).click();
  await expect(page.locator("li.document").filter({ hasText: renamed })).toHaveCount(0);
});

test("the owner renames a channel and adds one once Twilio confirms it", async ({ page }) => {
  await signIn(page);
  await openSection(page, "Canais", "Números");
  const demoRow = page.locator("li.channel").first();
  await expect(demoRow).toContainText("WhatsApp");
  await expect(demoRow).toContainText("Ativo");
  await demoRow.getByRole("button", { name: /^Editar/ }).click();
  await demoRow.getByLabel("Nome para a equipe").fill("Loja do centro");
  await demoRow.getByRole("button", { name: "Salvar" }).click();
  await expect(demoRow).toContainText("Loja do centro");

  // A Twilio account of the simulator's, with its number.
  const sid = `AC${"0".repeat(22)}${String(Date.now()).slice(-10)}`;
  const number = `+55319${String(Date.now()).slice(-8)}`;
  await fetch(new URL("/__simulator/accounts", simulatorUrl), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ account_sid: sid, auth_token: "0123456789abcdef0123456789abcdef", numbers: [number] }),
  });
  await page.getByLabel("Tipo").selectOption("SMS");
  await page.getByLabel("Número", { exact: true }).fill(number);
  await page.getByLabel("Account SID da Twilio").last().fill(sid);
  await page.getByLabel("Auth Token da Twilio").last().fill("fedcba9876543210fedcba9876543210");
  await page.getByRole("button", { name: "Adicionar número" }).click();
  // Twilio's refusal, in words.
  await expect(page.getByRole("alert").filter({ hasText: /Twilio/ })).toBeVisible();
  await page.getByLabel("Auth Token da Twilio").last().fill("0123456789abcdef0123456789abcdef");
  await page.getByRole("button", { name: "Adicionar número" }).click();
  await expect(page.locator("li.channel").filter({ hasText: number })).toContainText("SMS");
  await page.locator("#main").evaluate((pane) => pane.scrollTo(0, 0));
  await screenshot(page, "settings-channels", "desktop");
});

test("an agent reads the settings but sees none of the controls", async ({ page }) => {
  const owner = await ownerSession();
  const email = `agente.integracoes.${run}@padaria.test`;
  const since = await mailCount();
  await graphql(
    `mutation ($org: ID!, $email: String!) {
      inviteMember(input: {organizationId: $org, email: $email, role: AGENT}) { __typename }
    }`,
    { org: owner.organizationId, email },
    owner.token,
  );
  const token = new URL(await mailedLink(email, "/accept-invitation", since)).searchParams.get(
    "token",
  );
  await graphql(
    `mutation ($token: String!) {
      acceptInvitation(input: {token: $token, fullName: "Caio", password: "uma-senha-boa"}) {
        __typename
      }
    }`,
    { token },
  );
  await page.goto("/");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Senha").fill("uma-senha-boa");
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeVisible();

  await openSection(page, "Chaves de API", "Configurações");
  await expect(page.getByText("Só proprietários e administradores veem e gerenciam as chaves"))
    .toBeVisible();
  await expect(page.getByRole("button", { name: "Criar chave" })).toHaveCount(0);

  await openSection(page, "Webhooks", "Configurações");
  await expect(page.getByText("Só proprietários e administradores veem e gerenciam os webhooks"))
    .toBeVisible();
  await expect(page.getByRole("button", { name: "Adicionar endereço" })).toHaveCount(0);

  await openSection(page, "Conhecimento", /^Documentos/);
  await expect(page.getByText("Só proprietários e administradores mudam isto.")).toBeVisible();
  await expect(page.getByRole("button", { name: "Adicionar documento" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: /^(Editar|Remover)/ })).toHaveCount(0);

  await openSection(page, "Canais", "Números");
  await expect(page.locator("li.channel").first()).toContainText("WhatsApp");
  await expect(page.getByRole("button", { name: /^(Editar|Desativar|Ativar)/ })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Adicionar número" })).toHaveCount(0);
  // The channel's templates, read-only.
  await expect(page.getByRole("heading", { name: /^Modelos de/ }).first()).toBeVisible();
  await expect(page.getByRole("button", { name: /^(Adicionar um modelo|Remover o modelo)/ })).toHaveCount(0);

  // Broadcasts, read-only: no form, no pace, no cancel.
  await page.getByRole("navigation", { name: "Navegação principal" }).getByRole("link", { name: "Disparos" }).click();
  await expect(page.getByRole("heading", { name: "Últimos disparos" })).toBeVisible();
  await expect(page.getByText("Só proprietários e administradores fazem, cancelam e ajustam disparos")).toBeVisible();
  await expect(page.getByRole("button", { name: /^(Disparar|Cancelar o disparo|Salvar o ritmo)/ })).toHaveCount(0);
  expect(await unnamedControls(page)).toEqual([]);
});
