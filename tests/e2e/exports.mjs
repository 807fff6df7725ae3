// The exports page, for tests/e2e/test_exports_browser.py: a supervisor chooses a format and submits;
// the page follows the export Job until its Download link appears, and the download is a zip.
// Usage: SPINELAB_URL=... node exports.mjs <sessionid> <format>. Prints one RESULT= line.
import { BASE, launch } from "./lib.mjs";

const [sessionid, format] = process.argv.slice(2);
const out = { seen: [] };
const { browser, close } = await launch();
try {
  const context = await browser.newContext();
  await context.addCookies([{ name: "sessionid", value: sessionid, domain: new URL(BASE).hostname, path: "/" }]);
  const page = await context.newPage();
  page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
  await page.goto(`${BASE}/exports/`);
  await page.selectOption('#export-form select[name="format"]', format);
  await page.click("#export-form button[type=submit]");
  const deadline = Date.now() + 90000;
  for (;;) {
    const state = (await page.locator("#export-jobs tbody tr[data-job] .state").first().textContent().catch(() => "")) || "";
    if (state && out.seen[out.seen.length - 1] !== state) out.seen.push(state);
    if (["succeeded", "failed", "cancelled"].includes(state) || Date.now() > deadline) break;
    await page.waitForTimeout(200);
  }
  out.status = await page.locator("#export-status").textContent();
  const link = page.locator("#export-jobs tbody tr[data-job] .actions a").first();
  if (await link.count()) {
    out.href = await link.getAttribute("href");
    const response = await page.request.get(`${BASE}${out.href}`);
    const body = await response.body();
    out.download = { status: response.status(), type: response.headers()["content-type"], zip: body.subarray(0, 2).toString() === "PK", bytes: body.length };
  }
} catch (err) {
  out.error = String(err && err.stack ? err.stack : err);
} finally {
  await close();
}
console.log("RESULT=" + JSON.stringify(out));
