// The app's initial JavaScript, gzipped: the entry script index.html loads and every chunk
// it preloads (what a browser must fetch before the first screen). Fails the build past
// the budget, and writes dist/bundle-size.json.
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 200 * 1024;
const dist = new URL("../dist/", import.meta.url).pathname;
const html = readFileSync(`${dist}index.html`, "utf8");
const scripts = [
  ...html.matchAll(/<script[^>]+type="module"[^>]+src="\/([^"]+)"/g),
  ...html.matchAll(/<link[^>]+rel="modulepreload"[^>]+href="\/([^"]+)"/g),
].map((match) => match[1]);
const files = [...new Set(scripts)].map((path) => {
  const content = readFileSync(`${dist}${path}`);
  return { path, bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
});
const gzipBytes = files.reduce((total, file) => total + file.gzipBytes, 0);
writeFileSync(
  `${dist}bundle-size.json`,
  `${JSON.stringify({ budgetBytes: BUDGET_BYTES, gzipBytes, files }, null, 2)}\n`,
);
const kB = (bytes) => `${(bytes / 1024).toFixed(1)} kB`;
console.log(`initial JavaScript: ${kB(gzipBytes)} gzipped (budget ${kB(BUDGET_BYTES)})`);
for (const file of files) console.log(`  ${file.path}  ${kB(file.bytes)}, ${kB(file.gzipBytes)} gzipped`);
if (gzipBytes > BUDGET_BYTES) {
  console.error(`over the budget by ${kB(gzipBytes - BUDGET_BYTES)}`);
  process.exit(1);
}
