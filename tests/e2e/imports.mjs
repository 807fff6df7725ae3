// The Import form on the cases page, for tests/e2e/test_imports_browser.py: a supervisor uploads a
// zip with "Import in the background" ticked and the page follows the Job until it reports the import.
// Usage: SPINELAB_URL=... node imports.mjs <sessionid> <zipPath> <kind>. Prints one RESULT= line.
import { BASE, launch } from "./lib.mjs";

const [sessionid, zipPath, kind] = process.argv.slice(2);
const out = { seen: [] };
const { browser, close } = await launch();
try {
  const context = await browser.newContext();
  await context.addCookies([{ name: "sessionid", value: sessionid, domain: new URL(BASE).hostname, path: "/" }]);
  const page = await context.newPage();
  page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
  await page.goto(`${BASE}/`);
  await page.setInputFiles('#import-form input[name="file"]', zipPath);
  await page.selectOption('#import-form select[name="kind"]', kind);
  await page.check('#import-form input[name="background"]');
  await page.click("#import-form button[type=submit]");
  const result = page.locator("#import-result");
  const deadline = Date.now() + 90000;
  for (;;) {
    const text = (await result.textContent()) || "";
    if (text && out.seen[out.seen.length - 1] !== text) out.seen.push(text);
    if (text.startsWith("Imported") || text.startsWith("Import failed") || Date.now() > deadline) break;
    await page.waitForTimeout(200);
  }
} catch (err) {
  out.error = String(err && err.stack ? err.stack : err);
} finally {
  await close();
}
console.log("RESULT=" + JSON.stringify(out));
