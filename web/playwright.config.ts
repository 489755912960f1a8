// Browser tests of the web app against the real product (started by
// tests/web/e2e_stack.py: `make test-web`), in Debian's Chromium: Playwright's own browser
// builds are never downloaded.
import { defineConfig } from "@playwright/test";

const baseURL = process.env.ATENDE_E2E_BASE_URL;
if (!baseURL) {
  throw new Error("ATENDE_E2E_BASE_URL is not set: run the tests with `make test-web`");
}

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  fullyParallel: false,
  workers: 1,
  forbidOnly: Boolean(process.env.CI),
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    browserName: "chromium",
    locale: "pt-BR",
    timezoneId: "America/Sao_Paulo",
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium" },
  },
  projects: [
    {
      name: "desktop",
      testMatch: /(core|states|keyboard|accounts|replies|settings|settings-integrations|usage|scheduled|contacts|templates|broadcasts)\.spec\.ts/,
      use: { viewport: { width: 1280, height: 800 } },
    },
    {
      name: "phone",
      testMatch: /phone\.spec\.ts/,
      use: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
    },
  ],
});
