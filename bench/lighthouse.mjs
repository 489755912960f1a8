// Lighthouse's side of `python -m bench web` (bench/web.py): audits the team's inbox ("/")
// signed in as the demo owner, in Debian's Chromium (no browser is ever downloaded), with
// Lighthouse's desktop settings (desktop form factor and screen, simulated throttling:
// 40 ms RTT, 10 Mbit/s, CPU 1x), categories accessibility and performance. Prints one JSON
// line: {"accessibility": 0-100, "performance": 0-100, "failing": [...], "metrics": {...}}.
//
// The app keeps its session in localStorage ("atende.session": web/src/api/session.ts).
// The session comes from the public signIn mutation and is stored before the audit, and
// Lighthouse is told to keep the origin's storage (disableStorageReset), so it loads the
// inbox as a signed-in person reloading the page would: a cold cache, the session present.
import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";
import puppeteer from "puppeteer-core";

const base = process.env.ATENDE_E2E_BASE_URL;
if (!base) throw new Error("ATENDE_E2E_BASE_URL is not set");

const signIn = await fetch(`${base}/graphql`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({
    query:
      "mutation ($input: SignInInput!) { signIn(input: $input) { __typename" +
      " ... on SignInSuccess { session { accessToken refreshToken expiresAt } } } }",
    variables: {
      input: {
        email: process.env.ATENDE_E2E_DEMO_EMAIL,
        password: process.env.ATENDE_E2E_DEMO_PASSWORD,
      },
    },
  }),
}).then((answer) => answer.json());
const session = signIn.data?.signIn?.session;
if (!session) throw new Error(`signIn failed: ${JSON.stringify(signIn)}`);

const flags = ["--headless=new", "--disable-gpu", "--lang=pt-BR"];
// Chromium refuses to start its sandbox as root (CI containers).
if (process.getuid?.() === 0) flags.push("--no-sandbox");
const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  chromeFlags: flags,
  logLevel: "silent",
});
try {
  const browser = await puppeteer.connect({ browserURL: `http://127.0.0.1:${chrome.port}` });
  const page = await browser.newPage();
  await page.goto(`${base}/sign-in`);
  await page.evaluate(
    (value) => localStorage.setItem("atende.session", value),
    JSON.stringify(session),
  );

  const { lhr } = await lighthouse(
    `${base}/`,
    {
      output: "json",
      logLevel: "error",
      disableStorageReset: true,
      onlyCategories: ["accessibility", "performance"],
    },
    desktopConfig,
    page,
  );
  // The page Lighthouse audited must be the signed-in inbox with its conversations, not the
  // sign-in form (a lost session would score the wrong screen).
  const inbox = await page
    .waitForSelector('[aria-label="Lista de conversas"] li', { timeout: 10_000 })
    .then(() => true)
    .catch(() => false);
  await browser.disconnect();
  if (!inbox) throw new Error("the audited page is not the signed-in inbox");
  if (lhr.runtimeError) throw new Error(`lighthouse: ${lhr.runtimeError.message}`);
  const score = (id) => Math.round((lhr.categories[id].score ?? 0) * 100);
  const failing = Object.values(lhr.categories)
    .flatMap((category) => category.auditRefs)
    .map((ref) => lhr.audits[ref.id])
    // What Lighthouse names as wanting (scored under 0.9), to say what to fix.
    .filter((audit) => audit.score !== null && audit.score < 0.9)
    .filter((audit) => audit.scoreDisplayMode !== "informative")
    .map((audit) => ({
      id: audit.id,
      score: audit.score,
      title: audit.title,
      value: audit.displayValue,
    }));
  const metric = (id) => lhr.audits[id]?.numericValue;
  process.stdout.write(
    `${JSON.stringify({
      accessibility: score("accessibility"),
      performance: score("performance"),
      finalUrl: lhr.finalDisplayedUrl,
      failing,
      metrics: {
        fcp: metric("first-contentful-paint"),
        lcp: metric("largest-contentful-paint"),
        tbt: metric("total-blocking-time"),
        cls: metric("cumulative-layout-shift"),
        si: metric("speed-index"),
      },
    })}\n`,
  );
} finally {
  await chrome.kill();
}
