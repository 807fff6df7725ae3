// Helpers shared by the editor's browser tests and benchmark: Debian chromium via playwright-core
// (never a downloaded browser), the real login form, image->screen mapping, and mask decoding.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const frontRequire = createRequire(join(ROOT, "frontend", "package.json"));
const { chromium } = frontRequire("playwright-core");
const fastPng = await import(pathToFileURL(frontRequire.resolve("fast-png")).href);

export const BASE = process.env.SPINELAB_URL;
export const IDS = JSON.parse(process.env.SPINELAB_IDS || "{}");

// playwright-core refuses an explicit --user-data-dir with launch(): it starts chromium with a
// fresh temporary profile of its own, which it deletes on close.
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run", "--disable-quic"],
  });
  return { browser, close: () => browser.close() };
}

/** Uncaught JavaScript errors of every page opened through these helpers; the editor scripts put them
 * in their result and the pytest wrappers fail on any (a page that throws is broken). */
export const pageErrors = [];

/** Record a page's uncaught errors in `pageErrors` (and on the console). */
export function watchErrors(page) {
  page.on("pageerror", (e) => {
    pageErrors.push(`${page.url()}: ${e.message}`);
    console.error(`[page error] ${e.message}`);
  });
}

/** `section(name, fn)`: run one independent part of a script, its result (or its error, so the
 * other parts still run) going into `results[name]` (or `results.errors[name]`). */
export function sectionsOf(results) {
  return async (name, fn) => {
    try {
      results[name] = await fn();
    } catch (e) {
      results.errors[name] = String(e?.stack ?? e).slice(0, 1500);
    }
  };
}

/** Log in through the real login form and return the page. */
export async function login(browser, username, password, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  watchErrors(page);
  await page.goto(`${BASE}/login/`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith("/login")), page.click('[type="submit"]')]);
  return page;
}

export async function openEditor(page, sliceId, query = "") {
  await page.goto(`${BASE}/slices/${sliceId}/edit/${query}`);
  await page.waitForSelector(`body[data-editor-ready="1"][data-editor-slice="${sliceId}"]`, { timeout: 20000 });
}

/** Screen (page) coordinates of the centre of image pixel (x, y). */
export async function pixelToPage(page, x, y) {
  return page.evaluate(([x, y]) => {
    const ed = window.spinelabEditor;
    const r = ed.ui.stage.getBoundingClientRect();
    const v = ed.state.viewport;
    return { x: r.left + (x + 0.5) * v.zoom + v.offsetX, y: r.top + (y + 0.5) * v.zoom + v.offsetY };
  }, [x, y]);
}

/** Drag the mouse through image pixels (one pointer event per point). */
export async function strokeThrough(page, points) {
  const first = await pixelToPage(page, ...points[0]);
  await page.mouse.move(first.x, first.y);
  await page.mouse.down();
  for (const p of points.slice(1)) {
    const s = await pixelToPage(page, ...p);
    await page.mouse.move(s.x, s.y);
  }
  await page.mouse.up();
}

export async function setBrushSize(page, size) {
  await page.locator("#brush-size").evaluate((el, size) => {
    el.value = String(size);
    el.dispatchEvent(new Event("input"));
  }, size);
}

/**
 * The brush geometry, written out independently of the editor's code: a pixel belongs to a
 * segment a->b (pixel centres) of diameter `size` when its centre is within size/2 of the segment.
 */
export function paintExpected(labels, width, height, points, size, value) {
  const r2 = (size / 2) ** 2 + 1e-9;
  const pts = points.map(([x, y]) => [x + 0.5, y + 0.5]);
  for (let i = 0; i < pts.length; i++) {
    const [ax, ay] = pts[Math.max(0, i - 1)];
    const [bx, by] = pts[i];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const cx = x + 0.5, cy = y + 0.5, dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        const t = len2 ? Math.max(0, Math.min(1, ((cx - ax) * dx + (cy - ay) * dy) / len2)) : 0;
        if ((cx - ax - t * dx) ** 2 + (cy - ay - t * dy) ** 2 <= r2) labels[y * width + x] = value;
      }
    }
  }
}

/** Fetch a mask revision through the API (with the page's session) and decode it. */
export async function fetchMask(page, sliceId, revision = "head") {
  const got = await page.evaluate(async ([id, rev]) => {
    const res = await fetch(`/api/slices/${id}/mask/?revision=${rev}`);
    if (!res.ok) return { status: res.status };
    return { status: res.status, revision: res.headers.get("X-Revision-Id"), bytes: Array.from(new Uint8Array(await res.arrayBuffer())) };
  }, [sliceId, revision]);
  if (got.status !== 200) return got;
  const png = fastPng.decode(Uint8Array.from(got.bytes));
  return { status: 200, revision: Number(got.revision), width: png.width, height: png.height, labels: Uint8Array.from(png.data) };
}

export const encodePng = (labels, width, height) => fastPng.encode({ width, height, data: labels, depth: 8, channels: 1 });

export function countDiff(a, b) {
  let n = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) n++;
  return n;
}

/** Screen (page) coordinates of image point (x, y) itself (pixel corners are integers). */
export async function imageToPage(page, x, y) {
  return page.evaluate(([x, y]) => {
    const ed = window.spinelabEditor;
    const r = ed.ui.stage.getBoundingClientRect();
    const v = ed.state.viewport;
    return { x: r.left + x * v.zoom + v.offsetX, y: r.top + y * v.zoom + v.offsetY };
  }, [x, y]);
}

/** Fetch a channel at full bit depth through the API: stored values + the real-value mapping. */
export async function fetchImage16(page, sliceId, channel) {
  const got = await page.evaluate(async ([id, ch]) => {
    const res = await fetch(`/api/slices/${id}/image/?channel=${ch}&depth=16`);
    return {
      status: res.status, offset: Number(res.headers.get("X-Value-Offset")), scale: Number(res.headers.get("X-Value-Scale")),
      bytes: Array.from(new Uint8Array(await res.arrayBuffer())),
    };
  }, [sliceId, channel]);
  const png = fastPng.decode(Uint8Array.from(got.bytes));
  return { status: got.status, offset: got.offset, scale: got.scale, width: png.width, height: png.height, data: png.data };
}

/** The grey a window/level should give each pixel, written out independently of the editor. (H*W,) */
export function windowedGrey(image, wl) {
  const lo = wl.level - wl.window / 2;
  return Array.from(image.data, (p) => Math.max(0, Math.min(255, Math.round(((p * image.scale + image.offset - lo) / wl.window) * 255))));
}

/** Pixels where two grey images differ by more than `tolerance` grey levels. */
export function countOff(a, b, tolerance = 1) {
  let n = 0;
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!(Math.abs(a[i] - b[i]) <= tolerance)) n++;
  return n;
}

/** 4-connected flood fill on a label array, independent of the editor's scanline version. */
export function floodExpected(labels, width, height, [sx, sy], value) {
  const target = labels[sy * width + sx];
  if (target === value) return;
  const stack = [[sx, sy]];
  while (stack.length) {
    const [x, y] = stack.pop();
    if (x < 0 || y < 0 || x >= width || y >= height || labels[y * width + x] !== target) continue;
    labels[y * width + x] = value;
    stack.push([x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]);
  }
}

/** Pixels whose centre is inside the polygon (even-odd ray casting) become `value`. */
export function polygonExpected(labels, width, height, poly, value) {
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const cx = x + 0.5, cy = y + 0.5;
      let inside = false;
      for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
        const [xi, yi] = poly[i], [xj, yj] = poly[j];
        if ((yi > cy) !== (yj > cy) && cx < xi + ((cy - yi) / (yj - yi)) * (xj - xi)) inside = !inside;
      }
      if (inside) labels[y * width + x] = value;
    }
  }
}
