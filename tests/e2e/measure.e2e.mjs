// Measurement overlay in the editor and the series report page, in Debian chromium against a live
// server (tests/e2e/measure_server.py). Prints one JSON object (see test_measure_browser.py).
// Usage: node measure.e2e.mjs <screenshot.png>
import { BASE, IDS, launch, login, openEditor, pixelToPage, setBrushSize } from "./lib.mjs";

const shotPath = process.argv[2];
const result = {};
const { browser, close } = await launch();
try {
  const sliceId = IDS.slices[1];
  // First (before alice edits the mask) the supervisor's report page: a row per level, the slice with
  // the lines, downloads.
  const sam = await login(browser, "sam", "sam-pass-123", { width: 1400, height: 900 });
  const response = await sam.goto(`${BASE}/series/${IDS.series}/measurements/?slice=${IDS.slices[1]}&lowest=L5`);
  result.reportStatus = response.status();
  await sam.waitForSelector("#measure-table");
  await sam.waitForFunction(() => {
    const img = document.querySelector("#measure-svg image");
    return img && img.getBBox().width > 0;
  });
  result.reportRows = await sam.locator("#measure-table tbody tr[data-level]").count();
  result.reportLines = await sam.locator("#measure-svg line.height-line").count();
  result.reportImageStatus = await sam.evaluate(async () => (await fetch(document.querySelector("#measure-svg image").getAttribute("href"))).status);
  result.csvHead = await sam.evaluate(async () => (await (await fetch(document.getElementById("download-csv").href)).text()).split("\n")[0]);
  await sam.screenshot({ path: shotPath, fullPage: true });
  result.screenshot = shotPath;

  const page = await login(browser, "alice", "alice-pass-123");
  await openEditor(page, sliceId, "?autosave=300");
  result.hiddenAtStart = await page.locator("#measure-layer").evaluate((el) => el.hasAttribute("hidden"));

  // M shows the overlay of the stored head mask.
  await page.keyboard.press("m");
  await page.waitForSelector('body[data-measure^="revision-"]', { timeout: 60000 });
  const api = await page.evaluate(async (id) => (await fetch(`/api/slices/${id}/measurements/`)).json(), sliceId);
  const overlay = () =>
    page.evaluate(() => {
      const svg = document.getElementById("measure-layer");
      const box = svg.getBoundingClientRect();
      const stage = document.getElementById("stage").getBoundingClientRect();
      return {
        visible: !svg.hasAttribute("hidden") && box.width > 50 && box.height > 50,
        insideStage: box.left < stage.right && box.right > stage.left && box.top < stage.bottom && box.bottom > stage.top,
        anteriorLines: svg.querySelectorAll("line.measure-anterior").length,
        discLines: svg.querySelectorAll("line.measure-disc").length,
        labels: Array.from(svg.querySelectorAll("text.measure-label"), (t) => Array.from(t.children, (s) => s.textContent).join(" | ")),
        status: document.getElementById("measure-status").textContent,
        state: document.body.dataset.measure,
        pressed: document.getElementById("toggle-measure").getAttribute("aria-pressed"),
        transform: svg.style.transform,
        canvasTransform: document.getElementById("mask-layer").style.transform,
      };
    });
  result.before = await overlay();
  result.apiMeasured = api.bodies.filter((b) => b.measurable).length;
  result.apiDiscs = api.discs.length;
  result.apiRevision = api.revision.id;
  result.apiLabels = api.bodies.map((b) => b.label);
  // The first anterior line's upper end lands where the API's point is on screen.
  const first = api.bodies.find((b) => b.measurable);
  const expected = await pixelToPage(page, first.anterior.start.x, first.anterior.start.y);
  const drawn = await page.locator("#measure-layer line.measure-anterior").first().evaluate((line) => {
    const svg = line.ownerSVGElement;
    const pt = svg.createSVGPoint();
    pt.x = line.x1.baseVal.value;
    pt.y = line.y1.baseVal.value;
    const screen = pt.matrixTransform(line.getScreenCTM());
    return { x: screen.x, y: screen.y };
  });
  result.lineOffsetPx = Math.hypot(drawn.x - expected.x, drawn.y - expected.y);
  await page.screenshot({ path: shotPath.replace(/\.png$/, "-editor.png") });

  // Erase the top body's centre with a big eraser: after the autosave the overlay shows the new mask.
  const top = api.bodies.find((b) => b.measurable);
  await page.keyboard.press("e");
  await setBrushSize(page, 30);
  const from = await pixelToPage(page, top.centroid.x - 12, top.centroid.y);
  const to = await pixelToPage(page, top.centroid.x + 12, top.centroid.y);
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction((rev) => {
    const m = document.body.dataset.measure || "";
    return m.startsWith("revision-") && m !== `revision-${rev}`;
  }, result.apiRevision, { timeout: 60000 });
  result.after = await overlay();
  const head = await page.evaluate(async (id) => (await fetch(`/api/slices/${id}/measurements/`)).json(), sliceId);
  result.afterApiRevision = head.revision.id;
  result.afterTopLabel = head.bodies[0] ? `${head.bodies[0].label}:${head.bodies[0].measurable}:${head.bodies[0].reason}` : null;

  // M again hides it.
  await page.keyboard.press("m");
  result.hiddenAgain = await page.locator("#measure-layer").evaluate((el) => el.hasAttribute("hidden"));

  // A slice with only the model's pre-label: the overlay shows its measurements, marked as such.
  await openEditor(page, IDS.slices[0]);
  await page.locator("#toggle-measure").click();
  await page.waitForSelector('body[data-measure^="revision-"]', { timeout: 60000 });
  result.prelabelStatus = await page.locator("#measure-status").textContent();
  result.prelabelLines = await page.locator("#measure-layer line.measure-anterior").count();

} finally {
  await close();
}
console.log("RESULT=" + JSON.stringify(result));
