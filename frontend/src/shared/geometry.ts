/**
 * Pure geometry: image vs screen coordinates, the viewport transform and rectangles.
 *
 * Image coordinates are mask pixels (x to the right, y down; pixel (i, j) covers [i, i+1) x [j, j+1)).
 * Screen coordinates are CSS pixels relative to the editor stage. The two are distinct branded types
 * so a screen point can never be painted into the mask by mistake.
 */

export type ImagePoint = { readonly x: number; readonly y: number; readonly space: "image" };
export type ScreenPoint = { readonly x: number; readonly y: number; readonly space: "screen" };

export const imagePoint = (x: number, y: number): ImagePoint => ({ x, y, space: "image" });
export const screenPoint = (x: number, y: number): ScreenPoint => ({ x, y, space: "screen" });

/** screen = image * zoom + offset. */
export interface Viewport {
  readonly zoom: number;
  readonly offsetX: number;
  readonly offsetY: number;
}

export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 64;

export function toImage(p: ScreenPoint, v: Viewport): ImagePoint {
  return imagePoint((p.x - v.offsetX) / v.zoom, (p.y - v.offsetY) / v.zoom);
}

export function toScreen(p: ImagePoint, v: Viewport): ScreenPoint {
  return screenPoint(p.x * v.zoom + v.offsetX, p.y * v.zoom + v.offsetY);
}

/** Zoom by `factor` keeping the image point under `anchor` fixed on screen. */
export function zoomAround(v: Viewport, anchor: ScreenPoint, factor: number): Viewport {
  const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.zoom * factor));
  const under = toImage(anchor, v);
  return { zoom, offsetX: anchor.x - under.x * zoom, offsetY: anchor.y - under.y * zoom };
}

export function pan(v: Viewport, dx: number, dy: number): Viewport {
  return { ...v, offsetX: v.offsetX + dx, offsetY: v.offsetY + dy };
}

/** Largest zoom showing the whole image centred in a view of the given size (with a small margin). */
export function fitToWindow(imageW: number, imageH: number, viewW: number, viewH: number, margin = 8): Viewport {
  const zoom = Math.max(MIN_ZOOM, Math.min((viewW - 2 * margin) / imageW, (viewH - 2 * margin) / imageH));
  return { zoom, offsetX: (viewW - imageW * zoom) / 2, offsetY: (viewH - imageH * zoom) / 2 };
}

/** Half-open pixel rectangle [x0, x1) x [y0, y1) in image coordinates. */
export interface Rect {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export const isEmpty = (r: Rect): boolean => r.x1 <= r.x0 || r.y1 <= r.y0;

export function union(a: Rect | null, b: Rect | null): Rect | null {
  if (!a || isEmpty(a)) return b && !isEmpty(b) ? b : null;
  if (!b || isEmpty(b)) return a;
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

export function clip(r: Rect, width: number, height: number): Rect {
  return {
    x0: Math.max(0, Math.min(width, r.x0)),
    y0: Math.max(0, Math.min(height, r.y0)),
    x1: Math.max(0, Math.min(width, r.x1)),
    y1: Math.max(0, Math.min(height, r.y1)),
  };
}

export function expand(r: Rect, by: number): Rect {
  return { x0: r.x0 - by, y0: r.y0 - by, x1: r.x1 + by, y1: r.y1 + by };
}

/** Snap an image point to the centre of the pixel that contains it. */
export function pixelCentre(p: ImagePoint): ImagePoint {
  return imagePoint(Math.floor(p.x) + 0.5, Math.floor(p.y) + 0.5);
}

/** Brush radius in image pixels for a brush of `size` (its diameter, 1..100). */
export const brushRadius = (size: number): number => size / 2;

/**
 * Pixels covered by a round brush of diameter `size` moved in a straight line from `a` to `b`
 * (both snapped to pixel centres): every pixel whose centre lies within the radius of the segment.
 * A single point (a == b) gives a disc, so strokes interpolated this way have no gaps however fast
 * the pointer moves. Calls `visit(x, y)` once per covered pixel inside the image.
 */
export function forEachCapsulePixel(
  a: ImagePoint, b: ImagePoint, size: number, width: number, height: number,
  visit: (x: number, y: number) => void,
): Rect | null {
  const r = brushRadius(size);
  const r2 = r * r + 1e-9;
  const box = clip(
    {
      x0: Math.floor(Math.min(a.x, b.x) - r), y0: Math.floor(Math.min(a.y, b.y) - r),
      x1: Math.ceil(Math.max(a.x, b.x) + r) + 1, y1: Math.ceil(Math.max(a.y, b.y) + r) + 1,
    },
    width, height,
  );
  if (isEmpty(box)) return null;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy;
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (let y = box.y0; y < box.y1; y++) {
    const cy = y + 0.5;
    for (let x = box.x0; x < box.x1; x++) {
      const cx = x + 0.5;
      // Distance from the pixel centre to the closest point of the segment.
      let t = len2 > 0 ? ((cx - a.x) * dx + (cy - a.y) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = cx - (a.x + t * dx);
      const ey = cy - (a.y + t * dy);
      if (ex * ex + ey * ey <= r2) {
        visit(x, y);
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  return minX === Infinity ? null : { x0: minX, y0: minY, x1: maxX + 1, y1: maxY + 1 };
}

/**
 * Even-odd scanline fill of a polygon (image coordinates): calls `visit(x, y)` for every pixel
 * whose centre is inside. Self-intersecting lassos follow the even-odd rule.
 */
export function forEachPolygonPixel(
  poly: readonly ImagePoint[], width: number, height: number, visit: (x: number, y: number) => void,
): Rect | null {
  if (poly.length < 3) return null;
  let minY = Infinity, maxY = -Infinity;
  for (const p of poly) {
    minY = Math.min(minY, p.y);
    maxY = Math.max(maxY, p.y);
  }
  const y0 = Math.max(0, Math.floor(minY));
  const y1 = Math.min(height, Math.ceil(maxY) + 1);
  let dirty: Rect | null = null;
  const xs: number[] = [];
  for (let y = y0; y < y1; y++) {
    const cy = y + 0.5;
    xs.length = 0;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const p = poly[i], q = poly[j];
      // Half-open rule on y so a vertex on the scanline is counted once.
      if ((p.y <= cy && q.y > cy) || (q.y <= cy && p.y > cy)) {
        xs.push(p.x + ((cy - p.y) / (q.y - p.y)) * (q.x - p.x));
      }
    }
    xs.sort((m, n) => m - n);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixels whose centre x + 0.5 lies in [xs[k], xs[k+1]).
      const from = Math.max(0, Math.ceil(xs[k] - 0.5));
      const to = Math.min(width, Math.ceil(xs[k + 1] - 0.5));
      for (let x = from; x < to; x++) visit(x, y);
      if (to > from) dirty = union(dirty, { x0: from, y0: y, x1: to, y1: y + 1 });
    }
  }
  return dirty;
}
