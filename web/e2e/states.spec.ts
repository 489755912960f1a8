// Bad states are shown, never a blank page: the API unreachable, the live connection
// dropped (then reconnected, and what was missed fetched again), a session that ended.
// And sessions refresh themselves.
import { expect, test } from "@playwright/test";
import type { WebSocketRoute } from "@playwright/test";
import { demoReply, screenshot, signIn, simulate } from "./support";

test("the API unreachable is said, and the inbox comes back when it answers", async ({ page }) => {
  await signIn(page);
  await page.route("**/graphql", (route) => route.abort("connectionrefused"));
  await page.getByRole("button", { name: "Encerradas" }).click();
  const banner = page.getByRole("alert").filter({ hasText: "Sem conexão com o servidor" });
  await expect(banner).toBeVisible();
  await screenshot(page, "api-down", "desktop");
  await page.unroute("**/graphql");
  await banner.getByRole("button", { name: "Tentar agora" }).click();
  await expect(banner).toBeHidden();
  await page.getByRole("button", { name: "Abertas" }).click();
  await expect(page.getByRole("link", { name: /Maria/ })).toBeVisible();
});

test("a dropped live connection reconnects and fetches what it missed", async ({ page }) => {
  let blocked = false;
  const sockets: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/graphql$/, (socket) => {
    if (blocked) {
      socket.close({ code: 1011, reason: "test: server unreachable" });
      return;
    }
    sockets.push(socket);
    socket.connectToServer();
  });
  await signIn(page);
  const inbox = page.getByRole("list", { name: "Lista de conversas" });
  await expect.poll(() => sockets.length).toBeGreaterThan(0);

  // New customers arrive live while the connection is up... (a name no other test gives,
  // since the tests share one database)
  const customer = "Joana Reconexão";
  const hello = `Oi, sou a Joana (${Date.now()})`;
  await simulate(hello, { from: "+5521977776666", name: customer, timeout: 10 });
  const joana = inbox.getByRole("link", { name: customer });
  await expect(joana).toContainText(demoReply(hello));

  // ...then the connection drops, and stays down for a while.
  blocked = true;
  for (const socket of sockets.splice(0)) await socket.close({ code: 1011, reason: "test" });
  const reconnecting = page.getByRole("status").filter({ hasText: "Reconectando" });
  await expect(reconnecting).toBeVisible();
  const missed = `Ainda estão aí? (${Date.now()})`;
  await simulate(missed, { from: "+5521977776666", name: customer, timeout: 10 });
  await page.waitForTimeout(1_000);
  await expect(joana).not.toContainText(demoReply(missed));

  // Back: it reconnects by itself and the inbox shows what happened meanwhile.
  blocked = false;
  await expect(reconnecting).toBeHidden({ timeout: 30_000 });
  await expect(joana).toContainText(demoReply(missed));
});

test("a session whose tokens were refused ends on the sign-in screen, saying so", async ({
  page,
}) => {
  await signIn(page);
  await page.evaluate(() => {
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    localStorage.setItem(
      "atende.session",
      JSON.stringify({ accessToken: "not-a-token", refreshToken: "spent", expiresAt }),
    );
  });
  await page.reload();
  await expect(page.getByRole("heading", { name: "Entrar no Atende" })).toBeVisible();
  await expect(page.getByText("Sua sessão expirou")).toBeVisible();
});

test("a session refreshes itself before its access token expires", async ({ page }) => {
  await signIn(page);
  const before = await page.evaluate(() => JSON.parse(localStorage.getItem("atende.session")!));
  // As if the access token were about to expire: the app trades the refresh token first.
  await page.evaluate((session) => {
    localStorage.setItem(
      "atende.session",
      JSON.stringify({ ...session, expiresAt: new Date(Date.now() + 10_000).toISOString() }),
    );
  }, before);
  await page.reload();
  await expect(page.getByRole("link", { name: /Maria/ })).toBeVisible();
  const after = await page.evaluate(() => JSON.parse(localStorage.getItem("atende.session")!));
  expect(after.refreshToken).not.toBe(before.refreshToken);
  expect(Date.parse(after.expiresAt)).toBeGreaterThan(Date.now() + 60_000);
});
