// Browser checks of the editor's other tools in Debian chromium: flood fill and lasso, protection
// rules, window/level, T2w/T1w, pre-label accept/compare, pen and touch, leaving with unsaved
// strokes, wheel zoom / fit and the true-size brush cursor. Run through
// `python -m tests.e2e.editor_server -- node tests/e2e/editor_tools.e2e.mjs`
// (test_editor_tools_browser.py does that). Prints one `RESULT=<json>` line; the pytest wrapper asserts.
import {
  IDS, countDiff, countOff, fetchImage16, fetchMask, floodExpected, imageToPage, launch, login, openEditor,
  pageErrors, paintExpected, pixelToPage, polygonExpected, sectionsOf, setBrushSize, strokeThrough, watchErrors, windowedGrey,
} from "./lib.mjs";

const results = { errors: {} };
const labelsNow = (page) => page.evaluate(() => Array.from(window.spinelabEditor.mask.labels));
const editorDiff = async (page, expected) => countDiff(await labelsNow(page), expected);
const saveNow = async (page) => {
  await page.click("#save-now");
  await page.waitForSelector('body[data-save-state="saved"]');
};
/** Red channel of the image layer as drawn: (H*W,) greys. */
const canvasGrey = (page) => page.evaluate(() => {
  const c = window.spinelabEditor.ui.imageCanvas;
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  return Array.from({ length: c.width * c.height }, (_, i) => d[4 * i]);
});
/** A brush stroke under a protection rule: only pixels `allowed(old)` take the value. */
function paintRuled(labels, width, height, points, size, value, allowed) {
  const touched = new Uint8Array(width * height).fill(255);
  paintExpected(touched, width, height, points, size, 1);
  for (let i = 0; i < labels.length; i++) if (touched[i] === 1 && allowed(labels[i])) labels[i] = value;
}
const section = sectionsOf(results);

const { browser, close } = await launch();
try {
  const page = await login(browser, "alice", "alice-pass-123");
  await openEditor(page, IDS.small[0], "?autosave=600000");
  const keys = await page.evaluate(() => Object.fromEntries(window.spinelabEditor.classes.map((c) => [c.index, c.key])));
  const colours = await page.evaluate(() => window.spinelabEditor.classes.map((c) => c.colour));

  // --- 1. flood fill (toolbar button) and lasso (L key) -------------------------------------------
  await section("fill", async () => {
    const id = IDS.small[0];
    const { width, height } = await page.evaluate(() => window.spinelabEditor.slice);
    const expected = new Uint8Array(width * height);
    const ring = [[20, 20], [60, 20], [60, 60], [20, 60], [20, 20]];
    await page.keyboard.press(keys[2]);
    await setBrushSize(page, 3);
    await strokeThrough(page, ring);
    paintExpected(expected, width, height, ring, 3, 2);
    await page.click("#tool-fill");
    await page.keyboard.press(keys[4]);
    const inside = await pixelToPage(page, 40, 40);
    await page.mouse.click(inside.x, inside.y);
    floodExpected(expected, width, height, [40, 40], 4);
    const afterFill = await editorDiff(page, expected);
    // Lasso vertices on pixel corners, edges with integer dx/dy, so no pixel centre is on an edge.
    const poly = [[70, 10], [110, 30], [110, 70], [90, 80], [70, 70]];
    await page.keyboard.press("l");
    await page.keyboard.press(keys[5]);
    const first = await imageToPage(page, ...poly[0]);
    await page.mouse.move(first.x, first.y);
    await page.mouse.down();
    for (const p of poly.slice(1)) {
      const s = await imageToPage(page, ...p);
      await page.mouse.move(s.x, s.y);
    }
    await page.mouse.up();
    polygonExpected(expected, width, height, poly, 5);
    const afterLasso = await editorDiff(page, expected);
    await saveNow(page);
    const stored = await fetchMask(page, id);
    return {
      filled: expected.filter((v) => v === 4).length, lassoed: expected.filter((v) => v === 5).length,
      afterFillDiff: afterFill, afterLassoDiff: afterLasso, storedDiff: countDiff(stored.labels, expected),
    };
  });

  // --- 2. protection: paint only over background, then protect a class --------------------------
  await section("protect", async () => {
    const id = IDS.small[1];
    await openEditor(page, id, "?autosave=600000");
    const { width, height } = await page.evaluate(() => window.spinelabEditor.slice);
    const expected = new Uint8Array(width * height);
    const bar = [[10, 40], [100, 40]];
    await page.keyboard.press(keys[2]);
    await setBrushSize(page, 11);
    await strokeThrough(page, bar);
    paintExpected(expected, width, height, bar, 11, 2);
    const isClass2 = (a) => Array.from(a, (v, i) => (v === 2 ? i : -1)).filter((i) => i >= 0).join();
    const class2Before = isClass2(expected);

    await page.click("#only-bg");
    await page.keyboard.press(keys[3]);
    await setBrushSize(page, 9);
    const across = [[50, 10], [50, 80]];
    await strokeThrough(page, across);
    paintRuled(expected, width, height, across, 9, 3, (old) => old === 0);
    const onlyBg = { diff: await editorDiff(page, expected), class2Kept: isClass2(await labelsNow(page)) === class2Before };

    await page.click("#only-bg");
    await page.click('#class-list li[data-class="2"] input.lock');
    const lockedInEditor = await page.evaluate(() => [...window.spinelabEditor.state.locked]);
    await page.keyboard.press("e");
    await setBrushSize(page, 15);
    const erase = [[35, 25], [65, 60]];
    await strokeThrough(page, erase);
    const beforeErase = expected.slice();
    paintRuled(expected, width, height, erase, 15, 0, (old) => old !== 2);
    const erased = countDiff(beforeErase, expected);
    await page.keyboard.press(keys[6]);
    await setBrushSize(page, 7);
    const over = [[80, 15], [80, 70]];
    await strokeThrough(page, over);
    paintRuled(expected, width, height, over, 7, 6, (old) => old !== 2);
    const labels = await labelsNow(page);
    await saveNow(page);
    const stored = await fetchMask(page, id);
    return {
      onlyBg, lockedInEditor, lockedDiff: countDiff(labels, expected), class2Kept: isClass2(labels) === class2Before,
      erased,
      class6: expected.filter((v) => v === 6).length, storedDiff: countDiff(stored.labels, expected),
    };
  });

  // --- 7. leaving the slice with unsaved strokes (",": previous slice) saves them first -----------
  await section("leave", async () => {
    const id = IDS.small[1];
    const before = (await fetchMask(page, id)).revision;
    await page.keyboard.press(keys[7]);
    await setBrushSize(page, 5);
    await strokeThrough(page, [[100, 80], [120, 85]]);
    const state = await page.locator("#save-state").getAttribute("data-state");
    const labels = await labelsNow(page);
    await Promise.all([page.waitForURL(`**/slices/${IDS.small[0]}/edit/**`), page.keyboard.press(",")]);
    await page.waitForSelector(`body[data-editor-slice="${IDS.small[0]}"]`);
    const after = await fetchMask(page, id);
    return { stateBeforeLeaving: state, before, after: after.revision, storedDiff: countDiff(after.labels, labels), url: new URL(page.url()).pathname };
  });

  // --- 3. window/level: drag in W/L mode, then a preset -----------------------------------------
  const dual = IDS.dual[0];
  await section("wl", async () => {
    await openEditor(page, dual, "?autosave=600000");
    const info = await page.evaluate((id) => fetch(`/api/slices/${id}/`).then((r) => r.json()), dual);
    const image = await fetchImage16(page, dual, "T2w");
    const start = await page.evaluate(() => window.spinelabEditor.state.wl);
    const greyStart = await canvasGrey(page);
    await page.click("#tool-wl");
    const a = await pixelToPage(page, 48, 40);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(a.x + 40, a.y + 30, { steps: 4 });
    await page.mouse.up();
    const dragged = await page.evaluate(() => window.spinelabEditor.state.wl);
    const greyDragged = await canvasGrey(page);
    const readout = await page.locator("#wl-readout").textContent();
    const presetAfterDrag = await page.locator("#wl-preset").evaluate((el) => el.selectedIndex);
    await page.focus("#wl-preset"); // as a click on it would
    await page.selectOption("#wl-preset", "1"); // "Full range"
    const full = await page.evaluate(() => window.spinelabEditor.state.wl);
    const greyFull = await canvasGrey(page);
    await page.keyboard.press("]"); // the editor's keys work right after picking a preset
    const brushAfterPreset = await page.evaluate(() => window.spinelabEditor.state.brushSize);
    await page.selectOption("#wl-preset", "0");
    const auto = await page.evaluate(() => window.spinelabEditor.state.wl);
    // A select focused but left alone, then a click on the image: the keys work again.
    await page.focus("#channel");
    await page.mouse.click(a.x, a.y);
    await page.keyboard.press("[");
    const brushAfterClick = await page.evaluate(() => window.spinelabEditor.state.brushSize);
    const st = info.stats.T2w;
    return {
      start, dragged, readout, presetAfterDrag, full, auto, brushAfterPreset, brushAfterClick,
      startMatches: countOff(greyStart, windowedGrey(image, start)),
      draggedChanged: countOff(greyStart, greyDragged, 0),
      draggedMatches: countOff(greyDragged, windowedGrey(image, dragged)),
      fullExpected: { window: st.max - st.min, level: (st.max + st.min) / 2 },
      fullMatches: countOff(greyFull, windowedGrey(image, full)),
      pixels: greyStart.length, maskPainted: (await labelsNow(page)).filter((v) => v !== 0).length,
    };
  });

  // --- 4. T2w/T1w switch: the image changes, the mask does not ----------------------------------
  await section("channel", async () => {
    await page.keyboard.press("b");
    await page.keyboard.press(keys[1]);
    await setBrushSize(page, 9);
    await strokeThrough(page, [[20, 20], [70, 50]]);
    await saveNow(page);
    const head = (await fetchMask(page, dual)).revision;
    const mask = await labelsNow(page);
    const greyT2 = await canvasGrey(page);
    const t1 = await fetchImage16(page, dual, "T1w");
    const t2 = await fetchImage16(page, dual, "T2w");
    const options = await page.locator("#channel option").allTextContents();
    await page.focus("#channel");
    await page.selectOption("#channel", "T1w");
    await page.waitForFunction(() => window.spinelabEditor.state.channel === "T1w");
    await page.keyboard.press(keys[5]);
    const classAfterSwitch = await page.evaluate(() => window.spinelabEditor.state.activeClass);
    const wlT1 = await page.evaluate(() => window.spinelabEditor.state.wl);
    const greyT1 = await canvasGrey(page);
    const maskAfter = await labelsNow(page);
    const state = await page.locator("#save-state").getAttribute("data-state");
    await page.selectOption("#channel", "T2w");
    await page.waitForFunction(() => window.spinelabEditor.state.channel === "T2w");
    const greyBack = await canvasGrey(page);
    return {
      options, classAfterSwitch, head, headAfter: (await fetchMask(page, dual)).revision, state,
      t1Matches: countOff(greyT1, windowedGrey(t1, wlT1)), t1VsT2Changed: countOff(greyT1, greyT2, 0),
      backMatches: countOff(greyBack, windowedGrey(t2, await page.evaluate(() => window.spinelabEditor.state.wl))),
      maskDiff: countDiff(maskAfter, mask), maskPainted: mask.filter((v) => v === 1).length, pixels: greyT1.length,
    };
  });

  // --- 8. wheel zoom, fit to window, brush cursor at true size, [ and ] -------------------------
  await section("zoom", async () => {
    const view = () => page.evaluate(() => {
      const ed = window.spinelabEditor;
      const r = ed.ui.stage.getBoundingClientRect();
      const img = ed.ui.imageCanvas.getBoundingClientRect();
      return { ...ed.state.viewport, brush: ed.state.brushSize, out: ed.ui.el("brush-size-out").textContent, stageW: r.width, stageH: r.height,
        imgLeft: img.left - r.left, imgTop: img.top - r.top, imgW: img.width, imgH: img.height, w: ed.slice.width, h: ed.slice.height };
    });
    // The drawn brush outline: bounding box of the cursor layer's non-transparent pixels (CSS px).
    const cursorBox = () => page.evaluate(() => {
      const c = window.spinelabEditor.ui.cursorCanvas;
      const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
      for (let y = 0; y < c.height; y++) for (let x = 0; x < c.width; x++) {
        if (d[4 * (y * c.width + x) + 3] > 0) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      }
      const dpr = window.devicePixelRatio || 1;
      return { w: (x1 - x0 + 1) / dpr, h: (y1 - y0 + 1) / dpr };
    });
    await page.keyboard.press("b");
    await setBrushSize(page, 10);
    const sizes = [];
    for (const k of ["]", "]", "["]) {
      await page.keyboard.press(k);
      sizes.push(await page.evaluate(() => window.spinelabEditor.state.brushSize));
    }
    const fitted = await view();
    const centre = await pixelToPage(page, 48, 40);
    await page.mouse.move(centre.x, centre.y);
    const box1 = await cursorBox();
    const under = await page.evaluate(() => window.spinelabEditor.state.cursor);
    // Ctrl + wheel zooms (the plain wheel steps through slices).
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -300);
    await page.keyboard.up("Control");
    await page.waitForFunction((z) => window.spinelabEditor.state.viewport.zoom > z * 1.2, fitted.zoom);
    const zoomed = await view();
    const underAfter = await page.evaluate(([x, y]) => {
      const ed = window.spinelabEditor, r = ed.ui.stage.getBoundingClientRect(), v = ed.state.viewport;
      return { x: (x - r.left - v.offsetX) / v.zoom, y: (y - r.top - v.offsetY) / v.zoom };
    }, [centre.x, centre.y]);
    const box2 = await cursorBox();
    await page.keyboard.press("Home");
    const refitted = await view();
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, 200);
    await page.keyboard.up("Control");
    await page.click("#fit");
    const buttonFit = await view();
    return { sizes, fitted, zoomed, refitted, buttonFit, box1, box2, under, underAfter };
  });

  // --- 5. pre-label: accept, correct, compare, save ----------------------------------------------
  await section("prelabel", async () => {
    const id = IDS.shot[0];
    await openEditor(page, id, "?autosave=600000");
    const { width, height } = await page.evaluate(() => window.spinelabEditor.slice);
    const pre = await fetchMask(page, id, "prelabel");
    const acceptVisible = await page.locator("#accept-prelabel").isVisible();
    const emptyBefore = (await labelsNow(page)).every((v) => v === 0);
    await page.click("#accept-prelabel");
    const acceptedDiff = await editorDiff(page, pre.labels);
    const expected = pre.labels.slice();
    const stroke = [[100, 100], [140, 130], [150, 170]];
    await page.keyboard.press(keys[3]);
    await setBrushSize(page, 8);
    await strokeThrough(page, stroke);
    paintExpected(expected, width, height, stroke, 8, 3);
    const layers = () => page.evaluate(([pre, colours]) => {
      const ed = window.spinelabEditor;
      const shown = (c) => !c.hidden && getComputedStyle(c).display !== "none";
      // Every pixel of the pre-label layer has its class colour (background transparent).
      const c = ed.ui.prelabelCanvas, d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let off = 0;
      for (let i = 0; i < pre.length; i++) {
        const n = parseInt(colours[pre[i]].slice(1), 16);
        const want = pre[i] === 0 ? [0, 0, 0, 0] : [(n >> 16) & 255, (n >> 8) & 255, n & 255, 255];
        if (want.some((v, k) => d[4 * i + k] !== v)) off++;
      }
      return { prelabelShown: shown(ed.ui.prelabelCanvas), maskShown: shown(ed.ui.maskCanvas), prelabelLayerOff: off };
    }, [Array.from(pre.labels), colours]);
    const normal = await layers();
    await page.click("#compare-prelabel");
    const comparing = await layers();
    const maskWhileComparing = await editorDiff(page, expected);
    await page.click("#compare-prelabel");
    const back = await layers();
    await page.keyboard.down("p");
    const holdingP = await layers();
    await page.keyboard.up("p");
    const releasedP = await layers();
    await saveNow(page);
    const stored = await fetchMask(page, id);
    const rev = await page.evaluate((r) => fetch(`/api/revisions/${r}/`).then((x) => x.json()), stored.revision);
    return {
      acceptVisible, emptyBefore, acceptedDiff, normal, comparing, maskWhileComparing, back, holdingP, releasedP,
      corrected: countDiff(expected, pre.labels), storedDiff: countDiff(stored.labels, expected),
      parent: rev.parent, prelabelRevision: pre.revision,
    };
  });

  // --- 6. pen and touch pointers paint ----------------------------------------------------------
  await section("pointers", async () => {
    const id = IDS.small[2];
    const tpage = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, hasTouch: true, storageState: await page.context().storageState() })).newPage();
    watchErrors(tpage);
    await openEditor(tpage, id, "?autosave=600000");
    const { width, height } = await tpage.evaluate(() => window.spinelabEditor.slice);
    await tpage.evaluate(() => {
      window.seenPointers = [];
      window.spinelabEditor.ui.stage.addEventListener("pointerdown", (e) => window.seenPointers.push(e.pointerType));
    });
    const cdp = await tpage.context().newCDPSession(tpage);
    const expected = new Uint8Array(width * height);
    await tpage.keyboard.press(keys[2]);
    await setBrushSize(tpage, 7);
    const pen = [[10, 10], [50, 20], [90, 15]];
    const at = (p) => pixelToPage(tpage, ...p);
    let s = await at(pen[0]);
    const mouse = (type, s, extra = {}) => cdp.send("Input.dispatchMouseEvent", { type, x: s.x, y: s.y, pointerType: "pen", ...extra });
    await mouse("mouseMoved", s);
    await mouse("mousePressed", s, { button: "left", buttons: 1, clickCount: 1, force: 0.5 });
    for (const p of pen.slice(1)) await mouse("mouseMoved", (s = await at(p)), { button: "left", buttons: 1, force: 0.5 });
    await mouse("mouseReleased", s, { button: "left", buttons: 0, clickCount: 1 });
    paintExpected(expected, width, height, pen, 7, 2);
    const penDiff = await editorDiff(tpage, expected);

    await tpage.keyboard.press(keys[4]);
    await setBrushSize(tpage, 5);
    const touch = [[20, 60], [60, 70], [100, 50]];
    s = await at(touch[0]);
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x: s.x, y: s.y, id: 1 }] });
    for (const p of touch.slice(1)) {
      s = await at(p);
      await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [{ x: s.x, y: s.y, id: 1 }] });
    }
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    paintExpected(expected, width, height, touch, 5, 4);
    await tpage.waitForFunction(() => window.spinelabEditor.busy === false);
    const touchDiff = await editorDiff(tpage, expected);
    await saveNow(tpage);
    const stored = await fetchMask(tpage, id);
    const seen = await tpage.evaluate(() => window.seenPointers);
    await tpage.context().close();
    return { seen, penDiff, touchDiff, storedDiff: countDiff(stored.labels, expected), pen: expected.filter((v) => v === 2).length, touch: expected.filter((v) => v === 4).length };
  });
} finally {
  await close();
}
console.log("RESULT=" + JSON.stringify({ ...results, pageErrors }));
