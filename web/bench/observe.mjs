// The browser side of `python -m bench web` (bench/web.py): Debian's Chromium signed in to
// the app with the inbox open, reporting, as one JSON line on stdout, each text matching
// BENCH_PATTERN the moment it is rendered (epoch milliseconds, from the page's clock,
// which is the machine's). Prints {"ready": true} once the inbox shows and watches; stops
// when stdin closes.
import { chromium } from "@playwright/test";

const base = process.env.ATENDE_E2E_BASE_URL;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, locale: "pt-BR" });
await page.goto(base);
await page.getByLabel("E-mail").fill(process.env.ATENDE_E2E_DEMO_EMAIL);
await page.getByLabel("Senha").fill(process.env.ATENDE_E2E_DEMO_PASSWORD);
await page.getByRole("button", { name: "Entrar" }).click();
await page.getByRole("heading", { name: "Conversas" }).waitFor();
await page.getByRole("list", { name: "Lista de conversas" }).waitFor();

await page.exposeFunction("__benchSeen", (text, at) => {
  process.stdout.write(`${JSON.stringify({ text, at })}\n`);
});
await page.evaluate((source) => {
  const pattern = new RegExp(source, "g");
  const seen = new Set();
  // Text node by text node: an element's textContent runs its children's texts together
  // (a preview and the unread count beside it would read as one number).
  const report = (text, at) => {
    for (const match of text.matchAll(pattern)) {
      if (seen.has(match[0])) continue;
      seen.add(match[0]);
      window.__benchSeen(match[0], at);
    }
  };
  const look = (node, at) => {
    if (node.nodeType === Node.TEXT_NODE) {
      report(node.data, at);
      return;
    }
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) report(walker.currentNode.data, at);
  };
  new MutationObserver((records) => {
    const at = performance.timeOrigin + performance.now();
    for (const record of records) {
      if (record.type === "characterData") look(record.target, at);
      for (const node of record.addedNodes) look(node, at);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}, process.env.BENCH_PATTERN ?? "bench-\\d+-\\d+");

process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await browser.close();
  process.exit(0);
});
