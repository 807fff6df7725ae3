// Browser checks of side by side (issue 13) in Debian chromium, against the default e2e seed:
// the toggle is disabled on a one-channel slice; on the T2w + T1w slice the two panes show the two
// channels, zooming over the right pane moves both, and a stroke on the right pane edits the one
// mask that is saved. Prints one `RESULT=<json>` line; test_editor_side_by_side_browser.py asserts.
import { IDS, fetchMask, launch, login, openEditor, pageErrors, paintExpected, sectionsOf, setBrushSize } from "./lib.mjs";

const results = { errors: {} };
const section = sectionsOf(results);

/** Page coordinates of the centre of image pixel (x, y) in pane 0 (left) or 1 (right). */
const pixelIn = (page, pane, x, y) => page.evaluate(([pane, x, y]) => {
  const ed = window.spinelabEditor;
  const r = ed.ui.stage.getBoundingClientRect();
  const v = ed.state.viewport;
  return { x: r.left + pane * r.width / 2 + (x + 0.5) * v.zoom + v.offsetX, y: r.top + (y + 0.5) * v.zoom + v.offsetY };
}, [pane, x, y]);

const greys = (page, id) => page.$eval(id, (c) => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  return Array.from({ length: c.width * c.height }, (_, i) => d[i * 4]);
});

const { browser, close } = await launch();
try {
  const page = await login(browser, "alice", "alice-pass-123");

  await section("single", async () => {
    await openEditor(page, IDS.small[0], "?autosave=600000");
    const btn = page.locator("#side-by-side");
    await page.keyboard.press("d");
    return { disabled: await btn.isDisabled(), title: await btn.getAttribute("title"), paneHidden: await page.locator("#pane-right").isHidden() };
  });

  await section("dual", async () => {
    const id = IDS.dual[0];
    await openEditor(page, id, "?autosave=600000");
    const singleViewport = await page.evaluate(() => window.spinelabEditor.state.viewport);
    await page.click("#side-by-side");
    await page.waitForFunction(() => document.getElementById("stage").dataset.rightChannel === "T1w");
    const left = await greys(page, "#image-layer");
    const right = await greys(page, "#image-layer-2");
    let differ = 0;
    for (let i = 0; i < left.length; i++) if (Math.abs(left[i] - right[i]) > 8) differ++;
    const channels = await page.evaluate(() => [window.spinelabEditor.state.channel, document.getElementById("stage").dataset.rightChannel]);
    const split = await page.evaluate(() => window.spinelabEditor.state.viewport);

    // Ctrl + wheel over the right pane: the image point under the mouse stays put, both panes follow.
    const at = await pixelIn(page, 1, 40, 30);
    await page.mouse.move(at.x, at.y);
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -300);
    await page.keyboard.up("Control");
    const zoomed = await page.evaluate(() => window.spinelabEditor.state.viewport);
    const transforms = await page.evaluate(() => ["image-layer", "mask-layer", "image-layer-2", "mask-layer-2"].map((i) => document.getElementById(i).style.transform));
    const stillAt = await pixelIn(page, 1, 40, 30);
    const cursor = await page.evaluate(() => window.spinelabEditor.state.cursor);

    // A right-drag on the right pane changes the right channel's window only.
    const wlBefore = await page.evaluate(() => ({ ...window.spinelabEditor.state.wlByChannel }));
    const rightBefore = await greys(page, "#image-layer-2");
    await page.mouse.down({ button: "right" });
    await page.mouse.move(at.x + 60, at.y - 30);
    await page.mouse.up({ button: "right" });
    const wlAfter = await page.evaluate(() => ({ ...window.spinelabEditor.state.wlByChannel }));
    const rightAfter = await greys(page, "#image-layer-2");
    const windowing = {
      before: wlBefore, after: wlAfter, leftUnchanged: (await greys(page, "#image-layer")).every((g, i) => g === left[i]),
      rightChanged: rightAfter.filter((g, i) => g !== rightBefore[i]).length,
    };

    // A brush stroke on the right pane, saved, read back through the API.
    await page.keyboard.press("2");
    await setBrushSize(page, 5);
    const pts = [[30, 25], [50, 35]];
    const a = await pixelIn(page, 1, ...pts[0]);
    const b = await pixelIn(page, 1, ...pts[1]);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2);
    await page.mouse.move(b.x, b.y);
    await page.mouse.up();
    await page.click("#save-now");
    await page.waitForSelector('body[data-save-state="saved"]');
    const stored = await fetchMask(page, id);
    const { width, height } = stored;
    const expected = new Uint8Array(width * height);
    const mid = [(pts[0][0] + pts[1][0]) / 2, (pts[0][1] + pts[1][1]) / 2];
    const painted = [...stored.labels].map((v, i) => (v !== 0 ? i : -1)).filter((i) => i >= 0);
    const cls = await page.evaluate(() => window.spinelabEditor.state.activeClass);
    // The stroke's pixels (to within a pixel of rounding of the middle point's position).
    paintExpected(expected, width, height, [pts[0], mid, pts[1]], 7, 1);
    const outside = painted.filter((i) => !expected[i]).length;
    const core = new Uint8Array(width * height);
    paintExpected(core, width, height, [pts[0], pts[1]], 3, 1);
    const missing = [...core].map((v, i) => (v && stored.labels[i] !== cls ? 1 : 0)).reduce((s, v) => s + v, 0);
    // The right pane's mask canvas mirrors the left one.
    const mirrored = await page.evaluate(() => {
      const px = (id) => Array.from(document.getElementById(id).getContext("2d").getImageData(0, 0, 96, 80).data);
      const l = px("mask-layer"), r = px("mask-layer-2");
      return { same: l.every((v, i) => v === r[i]), coloured: l.filter((v, i) => i % 4 === 3 && v > 0).length };
    });
    // Review pins on both panes at their image point, through the same transform (this seed has no
    // review: the panel is given a rejection with one pin at the centre of pixel (40, 30)).
    const markers = () => page.$$eval(".review-pin-marker", (ms) => ms.map((m) => {
      const b = m.getBoundingClientRect();
      return { x: b.left + b.width / 2, y: b.top + b.height / 2, right: m.classList.contains("right-pane") };
    }));
    await page.evaluate(() => {
      const ed = window.spinelabEditor;
      ed.review.review = { decision: "reject", reviewer: "sam", revision: 1, comment: "", created_at: "", pins: [{ id: 1, x: 40.5, y: 30.5, text: "here" }] };
      ed.review.place(ed.side.viewports());
    });
    const pins = { markers: await markers(), want: [await pixelIn(page, 0, 40, 30), await pixelIn(page, 1, 40, 30)] };
    await page.click("#side-by-side");
    const backToSingle = await page.evaluate(() => ({ hidden: document.getElementById("pane-right").hidden, viewport: window.spinelabEditor.state.viewport }));
    pins.single = await markers();
    pins.singleWant = await pixelIn(page, 0, 40, 30);
    return {
      channels, differ, windowing, pixels: left.length, singleViewport, split, zoomed, transforms, at, stillAt, cursor,
      paintedCount: painted.length, outside, missing, classes: [...new Set(painted.map((i) => stored.labels[i]))], cls, mirrored, backToSingle, pins,
    };
  });
} finally {
  await close();
}
console.log("RESULT=" + JSON.stringify({ ...results, pageErrors }));
