// What the browser tests share: the demo workspace, playing the customer with
// `atende simulate`, reading the Twilio simulator, and screenshots for docs/.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { expect } from "@playwright/test";
import type { Page } from "@playwright/test";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests with \`make test-web\``);
  return value;
}

export const demo = {
  email: required("ATENDE_E2E_DEMO_EMAIL"),
  password: required("ATENDE_E2E_DEMO_PASSWORD"),
  channel: required("ATENDE_E2E_CHANNEL"),
  customer: required("ATENDE_E2E_CUSTOMER"),
  owner: "Dona Ana",
  customerName: "Maria",
  firstMessage: "Olá! Vocês abrem amanhã?",
};
const simulatorUrl = required("ATENDE_E2E_SIMULATOR_URL");
const screenshots = new URL("../../docs/screenshots/", import.meta.url).pathname;

/** The demo model's answer to `text` (atende/devtools/demo_model.py). */
export function demoReply(text: string): string {
  return `Recebi sua mensagem: “${text}”`;
}

/** Write to the business as the demo customer, with the real `atende simulate` (a signed
 * webhook, as Twilio posts it). Resolves with its exit status and output. */
export function simulate(
  text: string,
  {
    timeout = 30,
    from = demo.customer,
    name = demo.customerName,
    media = [],
  }: { timeout?: number; from?: string; name?: string; media?: string[] } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      required("ATENDE_E2E_ATENDE"),
      [
        "simulate",
        "--channel",
        demo.channel,
        "--from",
        from,
        "--name",
        name,
        "--timeout",
        String(timeout),
        ...media.flatMap((file) => ["--media", file]),
        text,
      ],
      { env: process.env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

export interface SimulatedMessage {
  sid: string;
  to: string;
  body: string | null;
  status: string;
  content_sid?: string | null;
  content_variables?: Record<string, string> | null;
}

/** What Twilio (the simulator) was asked to send to the demo customer. */
export async function sentToCustomer(customer = demo.customer): Promise<SimulatedMessage[]> {
  const url = new URL("/__simulator/messages", simulatorUrl);
  url.searchParams.set("to", `whatsapp:${customer}`);
  const response = await fetch(url);
  const body = (await response.json()) as { messages: SimulatedMessage[] };
  return body.messages;
}

export async function signIn(page: Page): Promise<void> {
  await page.goto("/");
  await page.getByLabel("E-mail").fill(demo.email);
  await page.getByLabel("Senha").fill(demo.password);
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeVisible();
}

/** A screenshot of the screen as it is, into docs/screenshots/<name>-<width class>.png. */
export async function screenshot(page: Page, name: string, size: "desktop" | "phone") {
  mkdirSync(screenshots, { recursive: true });
  // Let transitions and fonts settle; nothing blinks in the app.
  await page.evaluate(() => document.fonts.ready);
  await page.screenshot({ path: join(screenshots, `${name}-${size}.png`) });
}

/** GraphQL over HTTP, as a script would (the tests' own setup, not the app's). */
export async function graphql<T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<T> {
  const response = await fetch(new URL("/graphql", required("ATENDE_E2E_BASE_URL")), {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: T; errors?: unknown[] };
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** The demo owner's access token and organization, signed in over the API. */
export async function ownerSession(): Promise<{ token: string; organizationId: string }> {
  const signedIn = await graphql<{ signIn: { session: { accessToken: string } } }>(
    `mutation ($email: String!, $password: String!) {
      signIn(input: {email: $email, password: $password}) {
        ... on SignInSuccess { session { accessToken } }
      }
    }`,
    { email: demo.email, password: demo.password },
  );
  const token = signedIn.signIn.session.accessToken;
  const viewer = await graphql<{
    viewer: { memberships: { organization: { id: string } }[] };
  }>("{ viewer { memberships { organization { id } } } }", {}, token);
  const organizationId = viewer.viewer.memberships[0]?.organization.id;
  if (!organizationId) throw new Error("the demo owner belongs to no organization");
  return { token, organizationId };
}

interface CaughtMail {
  number: number;
  envelope_to: string[];
  text: string | null;
}

async function caughtMails(): Promise<CaughtMail[]> {
  const response = await fetch(new URL("/messages.json", required("ATENDE_E2E_MAILS_URL")));
  return (await response.json()) as CaughtMail[];
}

/** How many mails the mail catcher holds: pass it to `mailedLink` as `since`. */
export async function mailCount(): Promise<number> {
  return (await caughtMails()).length;
}

/** The link in a mail to `address` whose text has `path`, among the mails that arrived
 * after the first `since` (the mail catcher keeps them in order). */
export async function mailedLink(address: string, path: string, since = 0): Promise<string> {
  const pattern = new RegExp(`https?://\\S+${path}\\?token=[\\w-]+`);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const mails = (await caughtMails()).slice(since);
    for (const mail of [...mails].reverse()) {
      const link = mail.envelope_to.includes(address) ? pattern.exec(mail.text ?? "") : null;
      if (link) return link[0];
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no mail to ${address} with a ${path} link within 30 s`);
}

/** Run SQL on the product's database as its superuser: for what no API may do, such as
 * letting two days pass. Uses the product's own Python (psycopg). */
export function sql(statement: string, parameters: string[] = []): Promise<void> {
  const python = required("ATENDE_E2E_ATENDE").replace(/atende$/, "python");
  const script =
    "import os, sys, psycopg\n" +
    "with psycopg.connect(os.environ['DATABASE_URL'], autocommit=True) as c:\n" +
    "    c.execute(sys.argv[1], sys.argv[2:])\n";
  return new Promise((resolve, reject) => {
    const child = spawn(python, ["-c", script, statement, ...parameters], {
      env: process.env,
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`SQL failed with status ${code}`)),
    );
  });
}

/** Controls without an accessible name (a rough check of what screen readers announce). */
export async function unnamedControls(page: Page): Promise<string[]> {
  return page
    .locator("button, a[href], input, select, textarea, [role=button], [role=img]")
    .evaluateAll((elements) =>
      elements
        .filter((element) => {
          const labelled = element.getAttribute("aria-labelledby");
          const name =
            element.getAttribute("aria-label") ??
            (labelled ? document.getElementById(labelled)?.textContent : null) ??
            (element instanceof HTMLInputElement ||
            element instanceof HTMLSelectElement ||
            element instanceof HTMLTextAreaElement
              ? Array.from(element.labels ?? [])
                  .map((label) => label.textContent)
                  .join(" ")
              : element.textContent) ??
            "";
          return !(name.trim() || element.getAttribute("title"));
        })
        .map((element) => element.outerHTML.slice(0, 120)),
    );
}
