// By keyboard alone, with a name for every control; and the GraphiQL playground, built
// with the app, working offline with the app's session.
import { expect, test } from "@playwright/test";
import type { Page } from "@playwright/test";
import { demo, screenshot, signIn, unnamedControls } from "./support";

async function tabTo(page: Page, matches: (page: Page) => Promise<boolean>): Promise<void> {
  for (let presses = 0; presses < 40; presses++) {
    await page.keyboard.press("Tab");
    if (await matches(page)) return;
  }
  throw new Error("never reached by Tab");
}

test("sign in, open a conversation and reply with the keyboard alone", async ({ page }) => {
  await page.goto("/");
  expect(await unnamedControls(page)).toEqual([]);
  await page.keyboard.type(demo.email); // the e-mail field has the focus
  await page.keyboard.press("Tab");
  await page.keyboard.type(demo.password);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeVisible();
  await expect(page.getByRole("link", { name: /Maria/ })).toBeVisible();
  expect(await unnamedControls(page)).toEqual([]);

  await tabTo(page, (p) =>
    p.evaluate(() => document.activeElement?.textContent?.includes("Maria") ?? false),
  );
  await page.keyboard.press("Enter");
  const composer = page.getByRole("textbox", { name: "Sua resposta" });
  await expect(composer).toBeVisible();
  expect(await unnamedControls(page)).toEqual([]);
  await tabTo(page, () => composer.evaluate((element) => element === document.activeElement));
  const note = `Pelo teclado (${Date.now()})`;
  await page.keyboard.type(note);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("log").getByText(note)).toBeVisible();
  // Replying took the conversation over: hand it back, still by keyboard.
  await page.getByRole("button", { name: "Devolver ao assistente" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("ai-state")).toHaveText("Assistente respondendo");
});

test("the app speaks English too", async ({ page }) => {
  await signIn(page);
  await page.getByLabel("Idioma").first().selectOption("en");
  await expect(page.getByRole("heading", { name: "Conversations" })).toBeVisible();
  await expect(page.getByRole("button", { name: "With the team" })).toBeVisible();
  await expect(page.locator("html")).toHaveAttribute("lang", "en");
  await page.getByLabel("Language").first().selectOption("pt-BR");
  await expect(page.getByRole("heading", { name: "Conversas" })).toBeVisible();
});

test("GraphiQL is served by Atende itself and uses the app's session", async ({ page }) => {
  const origin = new URL(process.env.ATENDE_E2E_BASE_URL ?? "").origin;
  const elsewhere: string[] = [];
  page.on("request", (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith("data:")) elsewhere.push(url);
  });
  await signIn(page);
  await page.goto("/graphql");
  await expect(page.locator(".graphiql-container")).toBeVisible();
  await expect(page.locator(".graphiql-query-editor")).toContainText("query Me");
  // The schema's documentation comes from introspection, through the same fetcher.
  await page.getByRole("button", { name: /Show Documentation Explorer/ }).click();
  await expect(page.getByText("A GraphQL schema provides a root type")).toBeVisible();
  await page.getByRole("button", { name: /Execute query/ }).click();
  await expect(page.locator(".result-window")).toContainText(demo.owner);
  await screenshot(page, "graphiql", "desktop");
  expect(elsewhere).toEqual([]);
});
