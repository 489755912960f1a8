// Broadcasts ("Disparos"): three contacts with this run's tag, made through the API, one
// of whom opted out (PARAR, sent on WhatsApp through the simulator); the owner sends an
// approved template to the tag, watches the summary reach "sent" for two and "skipped"
// for the one who opted out, reads the recipients with status and reason, and the Twilio
// simulator got one message each. Then, at a slow pace, a second broadcast is cancelled.
import { expect, test } from "@playwright/test";
import { graphql, ownerSession, screenshot, sentToCustomer, signIn, simulate, unnamedControls } from "./support";

test("broadcast a template to a tag, watch it reach everyone but the one who opted out, cancel another", async ({
  page,
}) => {
  const owner = await ownerSession();
  const run = String(Date.now()).slice(-7);
  const tag = `promo${run}`;
  const template = `Promoção ${run}`;
  const contentSid = `HX0123456789abcdef0123456789${run.slice(0, 6)}`;
  const channels = await graphql<{ organization: { channels: { id: string }[] } }>(
    "query ($org: ID!) { organization(id: $org) { channels { id } } }",
    { org: owner.organizationId },
    owner.token,
  );
  const channelId = channels.organization.channels[0]?.id;
  const made = await graphql<{ createChannelTemplate: { __typename: string } }>(
    `mutation ($channel: ID!, $name: String!, $sid: String!) {
      createChannelTemplate(input: {channelId: $channel, name: $name, contentSid: $sid,
        language: "pt_BR", variables: [{key: "1", name: "Desconto"}],
        body: "Só hoje: {{1}} em todos os pães!"}) { __typename }
    }`,
    { channel: channelId, name: template, sid: contentSid },
    owner.token,
  );
  expect(made.createChannelTemplate.__typename).toBe("ChannelTemplateSuccess");
  const numbers = ["1", "2", "3"].map((last) => `+55219${run}${last}`.slice(0, 14));
  for (const [index, number] of numbers.entries()) {
    const contact = await graphql<{ createContact: { __typename: string } }>(
      `mutation ($org: ID!, $phone: String!, $name: String!, $tag: String!) {
        createContact(input: {organizationId: $org, phoneNumber: $phone, name: $name, tags: [$tag]}) {
          __typename
        }
      }`,
      { org: owner.organizationId, phone: number, name: `Cliente ${index + 1} ${run}`, tag },
      owner.token,
    );
    expect(contact.createContact.__typename).toBe("CreateContactSuccess");
  }
  // The third asks for no more messages, on WhatsApp.
  const optedOut = numbers[2] ?? "";
  await simulate("PARAR", { from: optedOut, name: "Cliente 3", timeout: 5 });
  await expect
    .poll(async () => {
      const found = await graphql<{
        organization: { contacts: { edges: { node: { optedOut: boolean } }[] } };
      }>(
        `query ($org: ID!, $search: String!) {
          organization(id: $org) { contacts(search: $search) { edges { node { optedOut } } } }
        }`,
        { org: owner.organizationId, search: optedOut.slice(1) },
        owner.token,
      );
      return found.organization.contacts.edges[0]?.node.optedOut;
    })
    .toBe(true);

  await signIn(page);
  await page.getByRole("navigation", { name: "Navegação principal" }).getByRole("link", { name: "Disparos" }).click();
  await expect(page).toHaveURL(/\/broadcasts$/);
  await expect(page.getByRole("heading", { name: "Disparos", level: 1 })).toBeVisible();
  const form = page.getByRole("group", { name: "Novo disparo" });
  await form.getByLabel("Modelo").selectOption({ label: `${template} (pt_BR)` });
  await form.getByLabel("Desconto").fill("10%");
  await expect(form.getByLabel("Como os clientes vão ler")).toHaveText("Só hoje: 10% em todos os pães!");
  // A tag nobody has: the API's refusal, in words.
  await form.getByLabel("Para os contatos com a etiqueta").fill(`ninguem${run}`);
  await form.getByRole("button", { name: "Disparar" }).click();
  await expect(page.getByRole("alert").filter({ hasText: /\S/ }).first()).toBeVisible();
  await form.getByLabel("Para os contatos com a etiqueta").fill(tag);
  await form.getByRole("button", { name: "Disparar" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Disparo criado para 3 contato(s)." })).toBeVisible();

  const broadcast = page.getByTestId("broadcast").filter({ hasText: template }).first();
  await expect(broadcast.getByTestId("broadcast-status")).toContainText("Concluído");
  await expect(broadcast.getByTestId("count-total")).toContainText("3");
  await expect(broadcast.getByTestId("count-sent")).toContainText("2");
  await expect(broadcast.getByTestId("count-skipped")).toContainText("1");
  await broadcast.getByRole("button", { name: /^Destinatários de/ }).click();
  const recipients = broadcast.getByTestId("recipient");
  await expect(recipients).toHaveCount(3);
  // Each by the name the team gave them, with the number beside it.
  for (const [index, number] of numbers.entries()) {
    await expect(recipients.filter({ hasText: `Cliente ${index + 1} ${run}` })).toContainText(number);
  }
  await expect(recipients.filter({ hasText: "Pulado" })).toContainText("pediu para não receber mensagens");
  // Twilio reports the deliveries after the broadcast finished: still shown as they come.
  await expect(recipients.filter({ hasText: "Entregue" })).toHaveCount(2);
  await expect(broadcast.getByTestId("count-delivered")).toContainText("2");
  expect(await unnamedControls(page)).toEqual([]);
  await broadcast.evaluate((element) => element.scrollIntoView());
  await screenshot(page, "broadcasts", "desktop");

  // Twilio was asked for one message each, the template with its value; none to the one
  // who opted out.
  for (const number of numbers.slice(0, 2)) {
    await expect
      .poll(async () => (await sentToCustomer(number)).filter((m) => m.content_sid === contentSid).length)
      .toBe(1);
    const [message] = (await sentToCustomer(number)).filter((m) => m.content_sid === contentSid);
    expect(message?.content_variables).toEqual({ "1": "10%" });
  }
  expect(await sentToCustomer(optedOut)).toEqual([]);

  // At one message every 10 s the second waits its turn: cancelled, asked first.
  const pace = page.getByLabel(/^Mensagens por segundo de/).first();
  await pace.fill("0,1");
  await page.getByRole("button", { name: /^Salvar o ritmo de/ }).first().click();
  await expect(page.getByRole("status").filter({ hasText: "Alterações salvas." })).toBeVisible();
  try {
    await form.getByLabel("Modelo").selectOption({ label: `${template} (pt_BR)` });
    await form.getByLabel("Desconto").fill("20%");
    await form.getByLabel("Para os contatos com a etiqueta").fill(tag);
    await form.getByRole("button", { name: "Disparar" }).click();
    const second = page.getByTestId("broadcast").filter({ hasText: "20%" }).first();
    await expect(second.getByTestId("broadcast-status")).toContainText("Enviando");
    await second.getByRole("button", { name: /^Cancelar o disparo/ }).click();
    await second.getByRole("button", { name: "Sim, parar" }).click();
    await expect(second.getByTestId("broadcast-status")).toContainText("Cancelado");
    await expect(second.getByTestId("count-cancelled")).not.toContainText(/^\D*0$/);
  } finally {
    await graphql(
      `mutation ($channel: ID!) {
        setChannelBroadcastRate(input: {channelId: $channel, broadcastRatePerSecond: null}) { __typename }
      }`,
      { channel: channelId },
      owner.token,
    );
  }
});
