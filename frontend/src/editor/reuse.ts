/**
 * Reusing the neighbours' work: copy a labelled slice's mask (or one class of it), and shape-based
 * interpolation between two labelled slices. Pure functions on label maps ((H, W) uint8, row-major).
 *
 * Interpolation is per class on signed distance maps (negative inside): the class's distance map
 * at fraction t between the two slices is (1 - t) * d_a + t * d_b, and each pixel takes the class
 * whose interpolated map is most negative there (background where none is negative). A class only
 * one side has shrinks onto its centroid towards the other side. Distances are exact Euclidean distance transforms
 * (Felzenszwalb & Huttenlocher), computed only inside the union of the class's two bounding boxes
 * (plus a margin), where the interpolated shape lies.
 */

/** The label map `dst` takes from `src`: all of it (`cls` null), or only class `cls` (which it
 * loses where `src` does not have it). */
export function copyLabels(src: Uint8Array, dst: Uint8Array, cls: number | null): Uint8Array {
  if (src.length !== dst.length) throw new Error(`masks differ in size: ${src.length} vs ${dst.length} pixels`);
  if (cls === null) return src.slice();
  const out = dst.slice();
  for (let i = 0; i < out.length; i++) {
    if (src[i] === cls) out[i] = cls;
    else if (out[i] === cls) out[i] = 0;
  }
  return out;
}

interface Box { x0: number; y0: number; x1: number; y1: number }
interface ClassExtent { box: Box; cx: number; cy: number }

/** Bounding box and centroid of each class present in `m` (index = class), or undefined. */
function classExtents(m: Uint8Array, width: number): (ClassExtent | undefined)[] {
  const out: (ClassExtent | undefined)[] = [];
  const n: number[] = [];
  for (let i = 0; i < m.length; i++) {
    const c = m[i];
    if (c === 0) continue;
    const x = i % width;
    const y = (i - x) / width;
    const e = out[c];
    if (!e) {
      out[c] = { box: { x0: x, y0: y, x1: x + 1, y1: y + 1 }, cx: x, cy: y };
      n[c] = 1;
      continue;
    }
    const b = e.box;
    if (x < b.x0) b.x0 = x;
    if (x >= b.x1) b.x1 = x + 1;
    if (y < b.y0) b.y0 = y;
    if (y >= b.y1) b.y1 = y + 1;
    e.cx += x;
    e.cy += y;
    n[c]++;
  }
  out.forEach((e, c) => {
    if (!e) return;
    e.cx /= n[c];
    e.cy /= n[c];
  });
  return out;
}

const INF = 1e20;
/** Pixels of distance map kept around each class's box. */
const MARGIN = 2;

/** 1-D squared distance transform of `f` (length n) into `d` (lower envelope of parabolas). */
function edt1d(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -INF;
  z[1] = INF;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = INF;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const dq = q - v[k];
    d[q] = dq * dq + f[v[k]];
  }
}

/** Squared distance of every pixel of a w x h grid to the nearest pixel where `site` is 1. */
function squaredEdt(site: Uint8Array, w: number, h: number): Float64Array {
  const g = new Float64Array(w * h);
  const n = Math.max(w, h);
  const f = new Float64Array(n), d = new Float64Array(n), z = new Float64Array(n + 1);
  const v = new Int32Array(n);
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) f[y] = site[y * w + x] ? 0 : INF;
    edt1d(f, h, d, v, z);
    for (let y = 0; y < h; y++) g[y * w + x] = d[y];
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) f[x] = g[y * w + x];
    edt1d(f, w, d, v, z);
    for (let x = 0; x < w; x++) g[y * w + x] = d[x];
  }
  return g;
}

/**
 * Signed distance of class `cls` of `labels` inside box `b` (negative inside). A class absent here
 * is a point at `centre` (the other end's centroid): interpolation shrinks the shape onto it.
 */
function signedDistance(labels: Uint8Array, width: number, height: number, cls: number, b: Box, centre: { cx: number; cy: number }): Float32Array {
  const w = b.x1 - b.x0, h = b.y1 - b.y0;
  const inside = new Uint8Array(w * h);
  let any = false;
  for (let y = Math.max(0, -b.y0); y < Math.min(h, height - b.y0); y++) {
    const row = (y + b.y0) * width + b.x0;
    for (let x = Math.max(0, -b.x0); x < Math.min(w, width - b.x0); x++) {
      if (labels[row + x] === cls) {
        inside[y * w + x] = 1;
        any = true;
      }
    }
  }
  const out = new Float32Array(w * h);
  if (!any) {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = Math.hypot(x + b.x0 - centre.cx, y + b.y0 - centre.cy);
    return out;
  }
  const outside = inside.map((v) => 1 - v);
  const toIn = squaredEdt(inside, w, h), toOut = squaredEdt(outside, w, h);
  // Pixel-centre distances: a pixel on either side of the boundary is half a pixel from it.
  for (let i = 0; i < out.length; i++) out[i] = inside[i] ? 0.5 - Math.sqrt(toOut[i]) : Math.sqrt(toIn[i]) - 0.5;
  return out;
}

/**
 * Label maps at fractions `ts` (0 = `a`, 1 = `b`) between two labelled slices of one series.
 * A class both ends have is first aligned on its centroid (moved t of the way from a's to b's),
 * so shapes that moved further than their own size still meet half way. Returns one map per t.
 */
export function interpolateLabels(a: Uint8Array, b: Uint8Array, width: number, height: number, ts: readonly number[]): Uint8Array[] {
  if (a.length !== width * height || b.length !== width * height) throw new Error(`masks are not ${width}x${height}`);
  const outs = ts.map(() => new Uint8Array(width * height));
  const best = ts.map(() => new Float32Array(width * height)); // 0: only inside (negative) wins
  const ea = classExtents(a, width), eb = classExtents(b, width);
  for (let cls = 1; cls < Math.max(ea.length, eb.length); cls++) {
    const A = ea[cls], B = eb[cls];
    if (!A && !B) continue;
    const dx = A && B ? Math.round(B.cx - A.cx) : 0, dy = A && B ? Math.round(B.cy - A.cy) : 0;
    // Each end's distance map covers its own box plus a margin (the other end's when it has none);
    // further out a distance is taken as the way to that box plus the margin (outside, positive).
    const grow = (q: Box): Box => ({ x0: q.x0 - MARGIN, y0: q.y0 - MARGIN, x1: q.x1 + MARGIN, y1: q.y1 + MARGIN });
    const boxA = grow((A ?? B)!.box), boxB = grow((B ?? A)!.box);
    const da = signedDistance(a, width, height, cls, boxA, (B ?? A)!);
    const db = signedDistance(b, width, height, cls, boxB, (A ?? B)!);
    ts.forEach((t, k) => {
      const out = outs[k], bst = best[k];
      // a's shape moves t of the way to b's centroid; b's comes back the rest of the way.
      const ax = Math.round(t * dx), ay = Math.round(t * dy), bx = ax - dx, by = ay - dy;
      const x0 = Math.max(0, Math.min(boxA.x0 + ax, boxB.x0 + bx)), x1 = Math.min(width, Math.max(boxA.x1 + ax, boxB.x1 + bx));
      const y0 = Math.max(0, Math.min(boxA.y0 + ay, boxB.y0 + by)), y1 = Math.min(height, Math.max(boxA.y1 + ay, boxB.y1 + by));
      for (let y = y0; y < y1; y++) {
        const row = y * width;
        for (let x = x0; x < x1; x++) {
          const s = (1 - t) * sample(da, boxA, x - ax, y - ay) + t * sample(db, boxB, x - bx, y - by);
          if (s < bst[row + x]) {
            bst[row + x] = s;
            out[row + x] = cls;
          }
        }
      }
    });
  }
  return outs;
}

/** A distance map's value at image point (x, y); outside its box, the way to the box plus the margin. */
function sample(d: Float32Array, b: Box, x: number, y: number): number {
  const lx = x - b.x0, ly = y - b.y0, w = b.x1 - b.x0;
  if (lx >= 0 && ly >= 0 && x < b.x1 && y < b.y1) return d[ly * w + lx];
  const ox = lx < 0 ? -lx : x >= b.x1 ? x - b.x1 + 1 : 0, oy = ly < 0 ? -ly : y >= b.y1 ? y - b.y1 + 1 : 0;
  return MARGIN + Math.sqrt(ox * ox + oy * oy);
}

/** Index of the nearest slice before (-1) or after (+1) position `at` whose `labelled` is true. */
export function nearestLabelled<T extends { index: number }>(slices: readonly T[], at: number, direction: -1 | 1, labelled: (s: T) => boolean): T | null {
  const sorted = [...slices].sort((p, q) => direction * (p.index - q.index));
  return sorted.find((s) => direction * (s.index - at) > 0 && labelled(s)) ?? null;
}
