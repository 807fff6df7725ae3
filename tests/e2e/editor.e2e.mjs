// End-to-end checks of the brush editor in Debian chromium. Run through
// `python -m tests.e2e.editor_server -- node tests/e2e/editor.e2e.mjs [screenshot.png]`
// (test_editor_browser.py does that). Prints one `RESULT=<json>` line; the pytest wrapper asserts.
import {
  BASE, IDS, countDiff, encodePng, fetchMask, launch, login, openEditor, pageErrors, paintExpected, setBrushSize,
  strokeThrough,
} from "./lib.mjs";

const results = {};
const { browser, close } = await launch();
try {
  const page = await login(browser, "alice", "alice-pass-123");
  results.loggedIn = new URL(page.url()).pathname;

  // --- 1. paint two classes, undo one stroke, save, reload, compare with the API pixel for pixel ---
  const id = IDS.small[0];
  await openEditor(page, id, "?autosave=600000");
  const { width, height } = await page.evaluate(() => window.spinelabEditor.slice);
  // Class keys come from the project's schema (background has one too): look them up.
  const keys = await page.evaluate(() => Object.fromEntries(window.spinelabEditor.classes.map((c) => [c.index, c.key])));
  const expected = new Uint8Array(width * height);
  const strokeA = [[10, 10], [40, 12], [60, 30]];
  const strokeB = [[20, 40], [70, 45]];
  const strokeC = [[30, 20], [35, 60]];
  await page.keyboard.press(keys[1]);
  await setBrushSize(page, 9);
  await strokeThrough(page, strokeA);
  paintExpected(expected, width, height, strokeA, 9, 1);
  await page.keyboard.press(keys[3]);
  await setBrushSize(page, 5);
  await strokeThrough(page, strokeB);
  paintExpected(expected, width, height, strokeB, 5, 3);
  await setBrushSize(page, 15);
  await strokeThrough(page, strokeC); // undone below
  results.stateBeforeSave = await page.locator("#save-state").getAttribute("data-state");
  await page.keyboard.press("Control+z");
  results.editorMatchesExpected = await page.evaluate((exp) => {
    const l = window.spinelabEditor.mask.labels;
    let n = 0;
    for (let i = 0; i < l.length; i++) if (l[i] !== exp[i]) n++;
    return n;
  }, Array.from(expected)) === 0;
  await page.click("#save-now");
  await page.waitForSelector('body[data-save-state="saved"]');
  await page.reload();
  await page.waitForSelector('body[data-editor-ready="1"]');
  const reloaded = await page.evaluate(() => Array.from(window.spinelabEditor.mask.labels));
  const stored = await fetchMask(page, id);
  results.paint = {
    classes: [1, 3].map((c) => expected.filter((v) => v === c).length),
    storedSize: [stored.width, stored.height],
    storedDiffPixels: countDiff(stored.labels, expected),
    reloadedDiffPixels: countDiff(reloaded, expected),
    revision: stored.revision,
  };

  // --- 2. a conflict: someone else saves in between; the dialog appears; nothing is lost ---------
  const cid = IDS.small[1];
  await openEditor(page, cid, "?autosave=600000");
  await page.keyboard.press(keys[2]);
  await setBrushSize(page, 7);
  await strokeThrough(page, [[15, 15], [50, 20]]);
  await page.click("#save-now");
  await page.waitForSelector('body[data-save-state="saved"]');
  const first = (await fetchMask(page, cid)).revision;
  // Another save through the API, on top of the same head (e.g. a second tab or a colleague).
  const other = new Uint8Array(width * height).fill(0);
  paintExpected(other, width, height, [[80, 70]], 11, 4);
  const theirs = await page.evaluate(async ([id, base, bytes]) => {
    const csrf = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))?.split("=")[1] ?? "";
    const res = await fetch(`/api/slices/${id}/mask/`, {
      method: "PUT", body: new Uint8Array(bytes),
      headers: { "Content-Type": "image/png", "X-Base-Revision": String(base), "X-CSRFToken": csrf },
    });
    return { status: res.status, body: await res.json() };
  }, [cid, first, Array.from(encodePng(other, width, height))]);
  await strokeThrough(page, [[20, 60], [60, 65]]);
  const mine = await page.evaluate(() => Array.from(window.spinelabEditor.mask.labels));
  await page.click("#save-now");
  await page.waitForSelector("#conflict-dialog[open]", { timeout: 10000 });
  const dialogText = await page.locator("#conflict-text").textContent();
  const yours = Number(/revision (\d+)\.$/.exec(dialogText)?.[1]);
  const keptMine = await fetchMask(page, cid, yours);
  const theirsStored = await fetchMask(page, cid, theirs.body.revision);
  await page.click("#keep-mine");
  await page.waitForSelector('body[data-save-state="saved"]');
  const head = await fetchMask(page, cid);
  results.conflict = {
    firstRevision: first, theirsStatus: theirs.status, theirsRevision: theirs.body.revision, dialogText,
    yourRevision: yours, keptMineDiff: countDiff(keptMine.labels, mine), theirsDiff: countDiff(theirsStored.labels, other),
    headAfterKeepMine: head.revision, headDiff: countDiff(head.labels, mine),
  };

  // --- 3. navigation: "." goes to the next slice of the series after saving -------------------
  await page.keyboard.press(keys[3]);
  await strokeThrough(page, [[5, 5], [6, 6]]);
  await Promise.all([page.waitForURL(`**/slices/${IDS.small[2]}/edit/**`), page.keyboard.press(".")]);
  await page.waitForSelector(`body[data-editor-slice="${IDS.small[2]}"]`);
  results.navigation = { url: new URL(page.url()).pathname, savedBeforeLeaving: (await fetchMask(page, cid)).revision > head.revision };

  // --- 4. screenshot with a phantom image and its accepted pre-label ---------------------------------
  const shot = process.argv[2];
  if (shot) {
    const spage = await login(browser, "alice", "alice-pass-123", { width: 1400, height: 860 });
    await openEditor(spage, IDS.shot[0], "?autosave=600000");
    results.acceptVisible = await spage.locator("#accept-prelabel").isVisible();
    await spage.click("#accept-prelabel");
    await spage.locator("#opacity").evaluate((el) => { el.value = "45"; el.dispatchEvent(new Event("input")); });
    await spage.keyboard.press(keys[3]);
    await setBrushSize(spage, 6);
    const c = await (await import("./lib.mjs")).pixelToPage(spage, 150, 120);
    await spage.mouse.move(c.x, c.y);
    await spage.screenshot({ path: shot });
    results.screenshot = shot;
  }
} finally {
  await close();
}
console.log("RESULT=" + JSON.stringify({ ...results, pageErrors }));
