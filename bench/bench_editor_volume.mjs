// The volume part of bench/bench_editor.mjs (run through it: `node bench/bench_editor.mjs volume`),
// against a server seeded by tests/e2e/volume_seed.py with one 12-slice 512x512 series (slices 0 and
// 11 labelled with 11 classes + background). Figures, all in the page (performance.now()):
// - switching to the next slice once it is prefetched, and with the cache emptied first, from the
//   call to the first painted frame of image + mask (a requestAnimationFrame, then a task after it);
// - interpolating the 10 slices between 0 and 11 (both ends already fetched), including previewing
//   the open slice's proposal and accepting it;
// - pointer event -> painted frame while painting (brush 20 px).
// Raw figures go to $EDITOR_VOLUME_OUT (default bench/results/editor-volume.json); the section of
// bench/RESULTS.md is rewritten unless EDITOR_VOLUME_NO_RESULTS_MD=1 (then it is only printed).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";

const { IDS, ROOT, launch, login, openEditor } = await import("../tests/e2e/lib.mjs");
const S = IDS.slices;

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
  return { n: s.length, mean: s.reduce((a, b) => a + b, 0) / s.length, median: q(0.5), p95: q(0.95), max: s[s.length - 1] };
};

/** Time ed.open(id) to the first frame painted after it (in the page). */
const switchTo = (page, id, emptyCache) => page.evaluate(async ([id, emptyCache]) => {
  const ed = window.spinelabEditor;
  if (emptyCache) ed.store.clear();
  else await ed.store.doc(id).then(() => ed.store.image(id, ed.state.channel)); // prefetched by now
  performance.clearResourceTimings();
  const t0 = performance.now();
  await ed.open(id, "push");
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const total = performance.now() - t0;
  // When the last of this slice's image and masks arrived (network + server), from the call.
  const mine = performance.getEntriesByType("resource").filter((e) => e.name.includes(`/slices/${id}/image/`) || e.name.includes(`/slices/${id}/mask/`));
  const fetched = mine.length ? Math.max(...mine.map((e) => e.responseEnd)) - t0 : 0;
  return { total, fetched };
}, [id, emptyCache]);

const OUT = process.env.EDITOR_VOLUME_OUT ?? "bench/results/editor-volume.json";
const loadBefore = loadavg()[0];
const { browser, close } = await launch();
const out = { prefetched: [], cold: [], coldFetched: [], firstVisit: [], imageRequest: [], detailRequest: [], interpolate: [], frame: [] };
try {
  const page = await login(browser, "alice", "alice-pass-123", { width: 1400, height: 900 });
  await openEditor(page, S[1], "?autosave=600000");
  await page.waitForFunction((n) => document.querySelectorAll("#slice-strip [data-slice]").length === n, S.length);
  // Warm-up (JIT, first connections), then forward and back through slices 1..10.
  for (const i of [2, 1]) await switchTo(page, S[i], false);
  for (let round = 0; round < 2; round++) {
    for (let i = 2; i <= 10; i++) out.prefetched.push((await switchTo(page, S[i], false)).total);
    for (let i = 9; i >= 1; i--) out.prefetched.push((await switchTo(page, S[i], false)).total);
  }
  for (let round = 0; round < 2; round++) {
    for (const i of [5, 2, 9, 4, 7, 1, 10, 3, 8, 6]) {
      const { total, fetched } = await switchTo(page, S[i], true);
      out.cold.push(total);
      out.coldFetched.push(fetched);
    }
  }
  // The same with the browser's HTTP cache off too (images and mask revisions it may keep): a slice
  // never seen before in this browser.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  for (const i of [5, 2, 9, 4, 7, 1, 10, 3, 8, 6]) out.firstVisit.push((await switchTo(page, S[i], true)).total);
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: false });
  // What the server takes: the requests a cold switch waits for, alone (no decoding, no drawing).
  for (const i of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
    const [image, detail] = await page.evaluate(async (id) => {
      const time = async (url) => {
        const t0 = performance.now();
        await (await fetch(url)).arrayBuffer();
        return performance.now() - t0;
      };
      return [await time(`/api/slices/${id}/image/?channel=T2w&depth=16`), await time(`/api/slices/${id}/`)];
    }, S[i]);
    out.imageRequest.push(image);
    out.detailRequest.push(detail);
  }
  // Interpolation from slice 5: proposals for 1..10, the open one previewed and accepted (then undone).
  await switchTo(page, S[5], false);
  out.interpolate = await page.evaluate(async ([a, b]) => {
    const ed = window.spinelabEditor;
    await Promise.all([ed.store.doc(a), ed.store.doc(b)]);
    const times = [];
    for (let k = 0; k < 6; k++) {
      const t0 = performance.now();
      await ed.neighbours.interpolate(); // proposals for all ten, the open one previewed
      ed.neighbours.acceptProposal();
      times.push(performance.now() - t0);
      ed.undo();
    }
    return times.slice(1); // the first is the warm-up
  }, [S[0], S[11]]);
  // Pointer event -> painted frame while painting.
  out.frame = await page.evaluate(async () => {
    const ed = window.spinelabEditor;
    ed.state.update({ brushSize: 20 });
    const stage = ed.ui.stage, r = stage.getBoundingClientRect(), v = ed.state.viewport;
    const at = (x, y) => ({ clientX: r.left + x * v.zoom + v.offsetX, clientY: r.top + y * v.zoom + v.offsetY });
    const opts = { pointerId: 1, pointerType: "mouse", isPrimary: true, bubbles: true, button: 0, buttons: 1 };
    const frame = () => new Promise((res) => requestAnimationFrame(() => setTimeout(res, 0)));
    stage.dispatchEvent(new PointerEvent("pointerdown", { ...opts, ...at(100, 100) }));
    const times = [];
    for (let i = 0; i < 120; i++) {
      const t0 = performance.now();
      stage.dispatchEvent(new PointerEvent("pointermove", { ...opts, ...at(100 + 2.5 * i, 100 + 80 * Math.sin(i / 10)) }));
      await frame();
      times.push(performance.now() - t0);
    }
    stage.dispatchEvent(new PointerEvent("pointerup", { ...opts, buttons: 0, ...at(400, 100) }));
    ed.undo();
    return times.slice(10);
  });
} finally {
  await close();
}

const s = Object.fromEntries(Object.entries(out).map(([k, v]) => [k, stats(v)]));
const f = (x) => x.toFixed(1);
const row = (name, st, target) => `| ${name} | ${st.n} | ${f(st.mean)} | ${f(st.median)} | ${f(st.p95)} | ${f(st.max)} | ${target} |`;
const chromium = spawnSync("/usr/bin/chromium", ["--version"], { encoding: "utf8" }).stdout.trim();
const lines = [
  "## Editor: volume navigation (issue 13)",
  "",
  `\`node bench/bench_editor.mjs volume\` on ${new Date().toISOString().slice(0, 10)}, ${chromium}, headless, --disable-gpu,`,
  "this 2-core machine (shared with other work while measured), against `runserver` on SQLite with one 12-slice 512x512",
  "series (tests/e2e/volume_seed.py). Times in the page with performance.now(): from the call to the first frame painted",
  `after it (a requestAnimationFrame and a task after it). Raw figures: ${OUT}.`,
  "",
  "| measure | n | mean ms | median ms | p95 ms | max ms | target |",
  "|---|---|---|---|---|---|---|",
  row("switch to a prefetched neighbour (image + mask painted)", s.prefetched, "p95 <= 50"),
  row("switch with an empty cache (masks and 16-bit image requested)", s.cold, "p95 <= 150"),
  row("of which: until its image and masks arrived", s.coldFetched, "-"),
  row("switch with empty cache and the browser's HTTP cache off (never seen)", s.firstVisit, "-"),
  row("GET 16-bit image alone (server + transfer)", s.imageRequest, "-"),
  row("GET slice detail alone (no longer waited for)", s.detailRequest, "-"),
  row("interpolate 10 slices, 12 classes, 512x512 (+ preview and accept one)", s.interpolate, "<= 300"),
  row("pointer event -> painted frame (brush 20)", s.frame, "report"),
  "",
  `Load average (1 min) ${loadBefore.toFixed(1)} when the run started, ${loadavg()[0].toFixed(1)} when it ended, on 2 cores: the figures include waiting for the CPU.`,
  "A frame waits for the next vsync (16.7 ms at 60 Hz), so a \"first painted frame\" figure carries up to one frame of it.",
  "A switch with an empty cache (the editor's own cache emptied) requests the slice's masks and image in parallel: the series",
  "listing behind the strip carries everything else the editor shows (channels, stats, state, revisions, rank), so the slice",
  "detail is only checked after the first paint. The browser's HTTP cache may answer the image (max-age 3600) and the mask",
  "revisions, asked for by id (immutable, max-age 3600); the row below turns that cache off. A prefetched switch only draws",
  "(its image was decoded ahead). Interpolation is computed in the page's main thread: signed distance maps only around each class.",
  "",
];
console.log(lines.join("\n"));
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, OUT), JSON.stringify({ date: new Date().toISOString(), chromium, load: { before: loadBefore, after: loadavg()[0] }, stats: s, raw: out }, null, 1) + "\n");
if (process.env.EDITOR_VOLUME_NO_RESULTS_MD === "1") process.exit(0);
const path = join(ROOT, "bench/RESULTS.md");
const old = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n\n";
const section = lines.join("\n");
const re = /## Editor: volume navigation \(issue 13\)\n[\s\S]*?(?=\n## |$)/;
writeFileSync(path, re.test(old) ? old.replace(re, section) : old.replace(/\n*$/, "\n\n") + section);
