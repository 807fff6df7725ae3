// Drives Debian chromium through playwright-core for tests/e2e/test_review_browser.py.
// Usage: node review.mjs <baseUrl> <sliceId> <sessionid> <phase: reject|comments|accept>
// Prints one JSON line with what the page showed.
import { createRequire } from "node:module";
import path from "node:path";

// ESM ignores NODE_PATH: resolve playwright-core from it explicitly (frontend/node_modules).
const modules = process.env.NODE_PATH || path.resolve(import.meta.dirname, "../../frontend/node_modules");
const { chromium } = createRequire(path.join(modules, "resolve-from-here.js"))("playwright-core");

const [baseUrl, sliceId, sessionid, phase] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run"],
});
const out = { phase };
try {
  const context = await browser.newContext();
  const host = new URL(baseUrl).hostname;
  await context.addCookies([{ name: "sessionid", value: sessionid, domain: host, path: "/" }]);
  const page = await context.newPage();
  page.on("pageerror", (e) => { out.pageErrors = (out.pageErrors || []).concat(String(e)); });
  if (phase === "comments") {
    // The annotator's editor: the rejection's comment and pins beside the image, each pin's marker
    // on its image pixel through the editor's image -> screen transform (checked after a zoom too).
    await page.goto(`${baseUrl}/slices/${sliceId}/edit/`);
    await page.waitForSelector('body[data-editor-ready="1"]', { timeout: 20000 });
    await page.waitForSelector("#review-thread li", { timeout: 10000 });
    out.comments = await page.textContent("#review-thread");
    out.markers = await page.locator(".review-pin-marker").count();
    const offset = () => page.evaluate(() => {
      const ed = window.spinelabEditor, pin = ed.review.review.pins[0], v = ed.state.viewport;
      const m = document.querySelector(".review-pin-marker").getBoundingClientRect();
      const st = ed.ui.stage.getBoundingClientRect();
      const want = { x: st.left + pin.x * v.zoom + v.offsetX, y: st.top + pin.y * v.zoom + v.offsetY };
      return Math.hypot(m.left + m.width / 2 - want.x, m.top + m.height / 2 - want.y);
    });
    out.markerOffset = await offset();
    const st = await page.locator("#stage").boundingBox();
    await page.mouse.move(st.x + st.width / 3, st.y + st.height / 3);
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -400);
    await page.keyboard.up("Control");
    await page.waitForTimeout(200);
    out.markerOffsetZoomed = await offset();
    out.commentsVisible = await page.locator("#review-thread").isVisible();
    // A "resolved" tick per pin: the list item and the marker say so, and it is still ticked after a reload.
    await page.check("#review-thread li:first-child .pin-resolved");
    out.resolved = await page.evaluate(() => [document.querySelector("#review-thread li").classList.contains("resolved"),
      document.querySelector(".review-pin-marker").classList.contains("resolved")]);
    const first = "#review-thread li:first-child .pin-resolved";
    const onServer = () => page.evaluate(async (id) => (await (await fetch(`/api/slices/${id}/reviews/`)).json())
      .results[0].pins.map((p) => [p.resolved, p.resolved_by]), sliceId);
    await page.waitForFunction(() => document.querySelector("#review-thread .pin-resolved-by")?.textContent.includes("resolved by"));
    out.resolvedNote = await page.textContent("#review-thread li:first-child .pin-resolved-by");
    out.resolvedOnServer = await onServer();
    await page.reload();
    await page.waitForSelector("#review-thread li .pin-resolved", { timeout: 20000 });
    out.resolvedAfterReload = await page.isChecked(first);
    // The server cannot be reached: clearing the tick is said, shown as set and kept in this browser,
    // then stored when the slice is opened again.
    await page.route("**/review/pins/*/resolve/", (route) => route.abort("internetdisconnected"));
    await page.uncheck(first);
    await page.waitForSelector("#review-thread .pin-tick-status:not([hidden])");
    out.offlineNotice = await page.textContent("#review-thread .pin-tick-status");
    out.offlineChecked = await page.isChecked(first);
    out.offlineServer = await onServer();
    await page.unroute("**/review/pins/*/resolve/");
    const resent = page.waitForResponse((r) => r.url().includes("/resolve/"), { timeout: 20000 });
    await page.reload();
    out.resentStatus = (await resent).status();
    await page.waitForSelector("#review-thread li .pin-resolved", { timeout: 20000 });
    out.afterResend = { checked: await page.isChecked(first), server: await onServer() };
    // Ticked again for the supervisor's page.
    const ticked = page.waitForResponse((r) => r.url().includes("/resolve/"));
    await page.check(first);
    await ticked;
  } else {
    await page.goto(`${baseUrl}/review/${sliceId}/`);
    await page.waitForSelector("body[data-review-ready='1']", { timeout: 15000 });
    out.summary = await page.textContent("#review-diff-summary");
    // Pixel (5, 5) is vertebra in the submitted mask: the overlay tints it red.
    out.headPixel = await page.evaluate(() => {
      const canvas = document.getElementById("review-head");
      const zoom = canvas.width / JSON.parse(document.getElementById("review-config").textContent).width;
      return Array.from(canvas.getContext("2d").getImageData(5 * zoom + 1, 5 * zoom + 1, 1, 1).data);
    });
    if (phase === "reject") {
      const box = await page.locator("#review-head").boundingBox();
      const cfg = JSON.parse(await page.textContent("#review-config"));
      await page.mouse.click(box.x + (5.5 / cfg.width) * box.width, box.y + (1.5 / cfg.height) * box.height);
      await page.fill("#review-pins li:last-child .pin-text", "vertebra here, not disc");
      await page.fill("#review-comment", "Fix the top of L1");
      await page.click("#review-reject");
      await page.waitForFunction(() => document.getElementById("review-status").textContent === "rejected",
        null, { timeout: 10000 });
    } else {
      await page.click("#review-accept");
      await page.waitForFunction(() => document.getElementById("review-status").textContent === "accepted",
        null, { timeout: 10000 });
    }
    await page.waitForSelector("#review-history li");
    out.state = await page.textContent("#review-state");
    out.history = await page.locator("#review-history > li").allTextContents();
    out.historyPins = await page.locator("#review-history .review-history-pins li").allTextContents();
    out.historyTicks = await page.$$eval("#review-history .pin-resolved", (ts) => ts.map((t) => t.checked));
  }
} catch (error) {
  out.error = String(error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
