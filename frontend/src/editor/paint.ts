/**
 * Painting actions on the mask model: brush/eraser segments, flood fill and lasso fill.
 * Each returns the dirty rectangle to re-render; the caller closes the change to get the diff that
 * enters undo history (null when nothing changed, which then stays out of history).
 */
import type { ImagePoint, Rect } from "../shared/geometry";
import { forEachCapsulePixel, forEachPolygonPixel, pixelCentre } from "../shared/geometry";
import type { ChangeRecorder, Diff, Mask, PaintRule } from "./mask";

export type ToolName = "brush" | "eraser" | "fill" | "lasso";

export const MIN_BRUSH = 1;
export const MAX_BRUSH = 100;
export const clampBrush = (size: number): number => Math.max(MIN_BRUSH, Math.min(MAX_BRUSH, Math.round(size)));

/** Brush size steps for `[` and `]`: fine near 1, coarser for big brushes. */
export function stepBrush(size: number, direction: 1 | -1): number {
  const step = size < 10 ? 1 : size < 30 ? 2 : 5;
  return clampBrush(size + direction * step);
}

/** The value a tool writes: the active class for brush/fill/lasso, background (0) for the eraser. */
export const paintValue = (tool: ToolName, activeClass: number): number => (tool === "eraser" ? 0 : activeClass);

/**
 * Paint one brush segment from `from` to `to` (image coordinates, snapped to pixel centres), so a
 * stroke is the union of its segments and fast pointer moves leave no gaps.
 */
export function paintSegment(
  mask: Mask, rec: ChangeRecorder, from: ImagePoint, to: ImagePoint, size: number, value: number, rule: PaintRule,
): Rect | null {
  const a = pixelCentre(from);
  const b = pixelCentre(to);
  return forEachCapsulePixel(a, b, size, mask.width, mask.height, (x, y) => {
    rec.paint(x, y, value, rule);
  });
}

/** Fill the polygon (even-odd rule) with `value`. */
export function paintPolygon(
  mask: Mask, rec: ChangeRecorder, poly: readonly ImagePoint[], value: number, rule: PaintRule,
): Rect | null {
  return forEachPolygonPixel(poly, mask.width, mask.height, (x, y) => {
    rec.paint(x, y, value, rule);
  });
}

/**
 * 4-connected scanline flood fill: the region of pixels connected to `seed` that share its class
 * becomes `value`. Locked classes and the background-only option are respected (a region that may
 * not be overwritten is left alone).
 */
export function floodFill(mask: Mask, rec: ChangeRecorder, seed: ImagePoint, value: number, rule: PaintRule): Rect | null {
  const { width, height, labels } = mask;
  const sx = Math.floor(seed.x);
  const sy = Math.floor(seed.y);
  if (sx < 0 || sy < 0 || sx >= width || sy >= height) return null;
  const target = labels[sy * width + sx];
  if (target === value || !rec.paint(sx, sy, value, rule)) return null;
  let x0 = sx, x1 = sx + 1, y0 = sy, y1 = sy + 1;
  const stack: number[] = [sx, sy];
  while (stack.length) {
    const y = stack.pop()!;
    const x = stack.pop()!;
    // Grow the span left and right from (x, y); (x, y) itself is already painted.
    let left = x;
    while (left > 0 && labels[y * width + left - 1] === target) rec.paint(--left, y, value, rule);
    let right = x;
    while (right < width - 1 && labels[y * width + right + 1] === target) rec.paint(++right, y, value, rule);
    if (left < x0) x0 = left;
    if (right + 1 > x1) x1 = right + 1;
    if (y < y0) y0 = y;
    if (y + 1 > y1) y1 = y + 1;
    // Seed one pixel per run of matching pixels in the rows above and below.
    for (const ny of [y - 1, y + 1]) {
      if (ny < 0 || ny >= height) continue;
      let inRun = false;
      for (let nx = left; nx <= right; nx++) {
        const match = labels[ny * width + nx] === target;
        if (match && !inRun) {
          rec.paint(nx, ny, value, rule);
          stack.push(nx, ny);
        }
        inRun = match;
      }
    }
  }
  return { x0, y0, x1, y1 };
}

/** Convenience for one-shot actions (fill, lasso): run `act` in its own change and close it. */
export function oneShot(mask: Mask, act: (rec: ChangeRecorder) => Rect | null): { dirty: Rect | null; diff: Diff | null } {
  const rec = mask.begin();
  const dirty = act(rec);
  return { dirty, diff: rec.finish() };
}
