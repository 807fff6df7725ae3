// Browser checks of the volume-aware editor in Debian chromium, against a server seeded by
// tests/e2e/volume_seed.py (one series of 12 slices; 0 and 11 labelled, 1 and 2 pre-labelled, ranked):
// in-place slice navigation (wheel, keys, strip, back button) keeping the view, the title following
// the workflow state, submit moving on, saves refused while switching losing nothing, and copying /
// interpolating from the labelled neighbours.
// Prints one `RESULT=<json>` line; test_editor_volume_browser.py asserts.
import { IDS, countDiff, fetchMask, launch, login, openEditor, pageErrors, setBrushSize, strokeThrough, watchErrors, sectionsOf } from "./lib.mjs";

const results = { errors: {} };
const S = IDS.slices;
const labelsNow = (page) => page.evaluate(() => Array.from(window.spinelabEditor.mask.labels));
const editorView = (page) => page.evaluate(() => {
  const ed = window.spinelabEditor;
  return { slice: ed.slice.id, viewport: ed.state.viewport, wl: ed.state.wl, pageLoads: window.__pageLoads, path: location.pathname };
});
const waitSlice = (page, id) => page.waitForSelector(`body[data-editor-slice="${id}"]`, { timeout: 15000 });
const section = sectionsOf(results);

const { browser, close } = await launch();
try {
  const page = await login(browser, "alice", "alice-pass-123");
  // A marker that survives only while the document does: in-place navigation keeps it.
  await page.addInitScript(() => (window.__pageLoads = (window.__pageLoads || 0) + 1));

  // --- 1. in-place navigation keeps the view; the slice left is saved first -------------------------
  await section("navigate", async () => {
    await openEditor(page, S[3], "?autosave=600000");
    await page.waitForFunction((n) => document.querySelectorAll("#slice-strip [data-slice]").length === n, S.length);
    const strip = await page.$$eval("#slice-strip [data-slice]", (cells) => cells.map((c) => ({
      id: Number(c.dataset.slice), state: c.dataset.state, prelabel: c.dataset.prelabel === "1", rank: Number(c.dataset.rank), current: c.classList.contains("current"),
    })));
    // Zoom in with Ctrl + wheel, pan, change the window by a right drag.
    const st = await page.locator("#stage").boundingBox();
    await page.mouse.move(st.x + st.width / 2, st.y + st.height / 2);
    await page.keyboard.down("Control");
    await page.mouse.wheel(0, -300);
    await page.keyboard.up("Control");
    await page.mouse.down({ button: "right" });
    await page.mouse.move(st.x + st.width / 2 + 40, st.y + st.height / 2 - 20);
    await page.mouse.up({ button: "right" });
    await page.keyboard.press("2");
    await setBrushSize(page, 6);
    await strokeThrough(page, [[58, 44], [70, 50]]);
    const painted = await labelsNow(page);
    const before = await editorView(page);
    // The next slice is prefetched: image and masks are there before the user moves.
    await page.waitForFunction((id) => window.spinelabEditor.store.has(id, "T2w"), S[4]);
    await page.mouse.move(st.x + st.width / 2, st.y + st.height / 2);
    await page.mouse.wheel(0, 100); // one notch down: the next slice
    await waitSlice(page, S[4]);
    const after = await editorView(page);
    const stored = await fetchMask(page, S[3]);
    const title = await page.textContent("#title");
    // Keys, strip and the browser's back button.
    await page.keyboard.press(",");
    await waitSlice(page, S[3]);
    const backLabels = await labelsNow(page);
    await page.click(`#slice-strip [data-slice="${S[6]}"]`);
    await waitSlice(page, S[6]);
    await page.goBack();
    await waitSlice(page, S[3]);
    const afterBack = await editorView(page);
    await page.goForward();
    await waitSlice(page, S[6]);
    return {
      strip, before, after, afterBack, title, storedDiff: countDiff(stored.labels, painted), backDiff: countDiff(backLabels, painted),
      currentCell: await page.$eval("#slice-strip .current", (c) => Number(c.dataset.slice)), forwardPath: new URL(page.url()).pathname,
    };
  });

  // --- 2. the title follows the workflow state; submit confirms and moves on ------------------------
  await section("state", async () => {
    await openEditor(page, S[1], "?autosave=600000");
    const titleBefore = await page.textContent("#title");
    await page.click("#accept-prelabel");
    await page.click("#save-now");
    await page.waitForSelector('body[data-save-state="saved"]');
    await page.waitForFunction(() => document.getElementById("title").dataset.state === "in_progress");
    const titleAfterSave = await page.textContent("#title");
    const apiState = await page.evaluate(async (id) => (await (await fetch(`/api/slices/${id}/`)).json()).state, S[1]);
    await page.click("#submit");
    await page.waitForFunction((id) => document.body.dataset.editorSlice !== String(id), S[1], { timeout: 15000 });
    const submittedState = await page.evaluate(async (id) => (await (await fetch(`/api/slices/${id}/`)).json()).state, S[1]);
    return {
      titleBefore, titleAfterSave, apiState, submittedState, notice: await page.textContent("#notice"),
      movedTo: Number(await page.evaluate(() => document.body.dataset.editorSlice)),
      stripCell: await page.$eval(`#slice-strip [data-slice="${S[1]}"]`, (c) => c.dataset.state),
    };
  });

  // --- 3. faults: a refused save while switching keeps the mask on screen and as a local draft -------
  await section("faults", async () => {
    const id = S[5];
    await openEditor(page, id, "?autosave=600000");
    const out = {};
    for (const [kind, answer] of [["413 too large", { status: 413, body: '{"detail": "mask too large", "code": "payload_too_large"}' }],
      ["network down", null]]) {
      await page.route(`**/api/slices/${id}/mask/`, (route) => {
        if (route.request().method() !== "PUT") return route.continue();
        return answer ? route.fulfill({ status: answer.status, contentType: "application/json", body: answer.body }) : route.abort("internetdisconnected");
      });
      await page.keyboard.press("3");
      await strokeThrough(page, [[50 + Object.keys(out).length * 10, 60], [60 + Object.keys(out).length * 10, 70]]);
      const painted = await labelsNow(page);
      // The previous fault's error notice is still up: wait for this save's own notice, not that one.
      const before = await page.textContent("#notice");
      await page.keyboard.press(".");
      await page.waitForFunction((b) => {
        const n = document.getElementById("notice");
        return n.dataset.kind === "error" && n.textContent !== b;
      }, before, { timeout: 10000 });
      out[kind] = {
        notice: await page.textContent("#notice"), stayed: await page.evaluate(() => document.body.dataset.editorSlice),
        onScreenDiff: countDiff(await labelsNow(page), painted), saveState: await page.evaluate(() => document.body.dataset.saveState),
        draft: await page.evaluate((id) => localStorage.getItem(`spinelab:draft:${id}`) !== null, id),
      };
      await page.unroute(`**/api/slices/${id}/mask/`);
    }
    // The draft comes back on the next visit (here: while the first window is still offline).
    const painted = await labelsNow(page);
    // Another browser window with this one's cookies and local storage (a tab closed while the
    // server is away would fire a keepalive save the test cannot hold back); this page stays offline.
    await page.route(`**/api/slices/${id}/mask/`, (route) => (route.request().method() === "PUT" ? route.abort("internetdisconnected") : route.continue()));
    const second = await browser.newContext({ viewport: { width: 1280, height: 800 }, storageState: await page.context().storageState() });
    const again = await second.newPage();
    watchErrors(again);
    await openEditor(again, id, "?autosave=0");
    await again.waitForSelector('body[data-save-state="saved"]');
    const stored = await fetchMask(again, id);
    out.reopened = {
      notice: await again.textContent("#notice"), storedDiff: countDiff(stored.labels, painted), onScreenDiff: countDiff(await labelsNow(again), painted),
      draftAfterSave: await again.evaluate((id) => localStorage.getItem(`spinelab:draft:${id}`) !== null, id),
    };
    await again.keyboard.press(".");
    await waitSlice(again, S[6]);
    out.movedAfterSave = true;
    return out;
  });

  // --- 4. reuse of neighbours: copy, class-only copy, interpolation proposals, said errors ----------
  // Labelled by now: 0, 1, 3, 5 (the sections above) and 11.
  await section("reuse", async () => {
    const page = await login(browser, "alice", "alice-pass-123");
    const out = {};
    const notice = () => page.textContent("#notice");
    const headOf = async (id) => fetchMask(page, id);
    const revisionMeta = async (id) => {
      const rev = (await headOf(id)).revision;
      return page.evaluate(async (r) => (await (await fetch(`/api/revisions/${r}/`)).json()).meta, rev);
    };
    const stripLoaded = () => page.waitForFunction((n) => document.querySelectorAll("#slice-strip [data-slice]").length === n, S.length);

    await openEditor(page, S[0], "?autosave=600000");
    await stripLoaded();
    await page.click("#copy-prev");
    await page.waitForSelector('#notice[data-kind="error"]');
    out.noPrevious = await notice();
    await page.click("#interpolate");
    await page.waitForFunction(() => document.getElementById("notice").textContent.startsWith("Interpolation needs"));
    out.noInterpolation = await notice();

    await openEditor(page, S[4], "?autosave=600000");
    await stripLoaded();
    const empty = await labelsNow(page);
    await page.click("#copy-prev");
    await page.waitForFunction(() => document.getElementById("notice").textContent.startsWith("Copied"));
    const three = await headOf(S[3]);
    out.copyPrevDiff = countDiff(await labelsNow(page), three.labels);
    out.copyNotice = await notice();
    await page.keyboard.press("Control+z");
    out.undoDiff = countDiff(await labelsNow(page), empty);
    const five = await headOf(S[5]);
    const keys = await page.evaluate(() => Object.fromEntries(window.spinelabEditor.classes.map((c) => [c.index, c.key])));
    const cls = five.labels.find((v) => v !== 0);
    await page.keyboard.press(keys[cls]);
    await page.check("#copy-class-only");
    await page.click("#copy-next");
    await page.waitForFunction(() => document.getElementById("notice").textContent.startsWith("Copied"));
    const classCopy = await labelsNow(page);
    out.classOnly = { copied: classCopy.filter((v) => v === cls).length, want: five.labels.filter((v) => v === cls).length, others: classCopy.filter((v) => v !== 0 && v !== cls).length };
    await page.uncheck("#copy-class-only");
    await page.keyboard.press("Control+z");
    const beforeProposal = await labelsNow(page);
    await page.click("#interpolate");
    await page.waitForFunction(() => document.getElementById("notice").textContent.startsWith("Interpolated"));
    out.interpolateNotice = await notice();
    // The proposal is previewed hatched over the image; the mask is not touched until accepted.
    out.preview = {
      maskUnchanged: countDiff(await labelsNow(page), beforeProposal) === 0,
      layerShown: await page.locator("#proposal-layer").isVisible(),
      actionsShown: await page.locator("#proposal-actions").isVisible(),
      ...(await page.evaluate(() => {
        const ed = window.spinelabEditor, c = ed.ui.proposalCanvas;
        const px = new Uint32Array(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.buffer);
        const proposal = ed.neighbours.proposals.get(ed.slice.id).labels;
        let drawn = 0, outside = 0;
        px.forEach((v, i) => { if (v) { drawn++; if (proposal[i] === 0) outside++; } });
        return { drawn, outside, labelled: proposal.filter((v) => v !== 0).length };
      })),
    };
    await page.click("#accept-proposal");
    out.interpolatedHere = (await labelsNow(page)).filter((v) => v !== 0).length;
    out.afterAccept = { layerShown: await page.locator("#proposal-layer").isVisible(), notice: await notice() };
    const accepted = await labelsNow(page);
    await page.keyboard.press("Control+z");
    out.acceptUndoDiff = countDiff(await labelsNow(page), beforeProposal);
    await page.keyboard.press("Control+y");
    out.acceptRedoDiff = countDiff(await labelsNow(page), accepted);
    await page.click("#save-now");
    await page.waitForSelector('body[data-save-state="saved"]');
    out.interpolatedMeta = await revisionMeta(S[4]);

    // Between 5 and 11: proposals for 6..10, applied here (8) and accepted on 9 slice by slice.
    await openEditor(page, S[8], "?autosave=600000");
    await stripLoaded();
    await page.click("#interpolate");
    await page.waitForFunction(() => document.getElementById("notice").textContent.startsWith("Interpolated"));
    const interpolatedNotice = await notice();
    await page.click("#accept-proposal");
    const eight = await labelsNow(page);
    const ends = [await headOf(S[5]), await headOf(S[11])];
    out.series = {
      notice: interpolatedNotice, painted: eight.filter((v) => v !== 0).length,
      ends: ends.map((e) => e.labels.filter((v) => v !== 0).length),
    };
    await page.keyboard.press(".");
    await waitSlice(page, S[9]);
    out.series.proposalOffered = await page.locator("#accept-proposal").isVisible();
    await page.click("#accept-proposal");
    out.series.acceptedPainted = (await labelsNow(page)).filter((v) => v !== 0).length;
    out.series.offeredAfter = await page.locator("#accept-proposal").isVisible();
    await page.click("#save-now");
    await page.waitForSelector('body[data-save-state="saved"]');
    out.series.acceptedMeta = await revisionMeta(S[9]);
    out.series.eightMeta = await revisionMeta(S[8]);
    // Slice 10: its proposal is discarded; the mask stays empty and nothing is saved.
    await page.keyboard.press(".");
    await waitSlice(page, S[10]);
    const tenOffered = await page.locator("#proposal-layer").isVisible();
    await page.click("#discard-proposal");
    out.series.discarded = {
      offered: tenOffered,
      layerAfter: await page.locator("#proposal-layer").isVisible(),
      actionsAfter: await page.locator("#proposal-actions").isVisible(),
      painted: (await labelsNow(page)).filter((v) => v !== 0).length,
      notice: await notice(),
      stored: (await page.evaluate(async (id) => (await (await fetch(`/api/slices/${id}/`)).json()).head_revision, S[10])),
    };
    return out;
  });
} finally {
  await close();
}
console.log("RESULT=" + JSON.stringify({ ...results, pageErrors }));
