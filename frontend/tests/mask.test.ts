import { describe, expect, it } from "vitest";
import { imagePoint as P } from "../src/shared/geometry";
import { History } from "../src/editor/history";
import { diffBytes, FREE_RULE, Mask } from "../src/editor/mask";
import { floodFill, oneShot, paintPolygon, paintSegment } from "../src/editor/paint";

const stroke = (mask: Mask, pts: [number, number][], size: number, value: number, rule = FREE_RULE) =>
  oneShot(mask, (rec) => {
    let dirty = null;
    for (let i = 0; i < pts.length; i++) {
      const a = P(...pts[Math.max(0, i - 1)]);
      dirty = paintSegment(mask, rec, a, P(...pts[i]), size, value, rule) ?? dirty;
    }
    return dirty;
  });

// Element-wise toEqual on 262,144 bytes is very slow in vitest; compare directly.
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe("brush", () => {
  it("a size-1 dab paints exactly the pixel under the pointer", () => {
    const m = new Mask(10, 10);
    stroke(m, [[3.7, 4.2]], 1, 2);
    expect(m.countOf(2)).toBe(1);
    expect(m.labels[4 * 10 + 3]).toBe(2);
  });

  it("a dab of diameter d covers the pixels whose centres lie within d/2 (about pi r^2)", () => {
    for (const size of [3, 5, 10, 21, 50, 100]) {
      const m = new Mask(128, 128);
      stroke(m, [[64.5, 64.5]], size, 1);
      const r = size / 2;
      let expected = 0;
      for (let dy = -60; dy <= 60; dy++) for (let dx = -60; dx <= 60; dx++) if (dx * dx + dy * dy <= r * r) expected++;
      expect(m.countOf(1)).toBe(expected);
      if (size >= 10) expect(Math.abs(expected - Math.PI * r * r) / (Math.PI * r * r)).toBeLessThan(0.05);
    }
  });

  it("a fast stroke between two far-apart events has no gaps", () => {
    const m = new Mask(200, 50);
    stroke(m, [[5, 25], [195, 25]], 3, 1);
    for (let x = 5; x <= 195; x++) expect(m.labels[25 * 200 + x]).toBe(1);
    // A diagonal jump stays 4-connected along its length too.
    const d = new Mask(100, 100);
    stroke(d, [[2, 2], [97, 90]], 1, 1);
    expect(d.countOf(1)).toBeGreaterThanOrEqual(96);
    expect(d.labels[2 * 100 + 2]).toBe(1);
    expect(d.labels[90 * 100 + 97]).toBe(1);
  });

  it("the eraser paints background and strokes stay inside the image", () => {
    const m = new Mask(20, 20);
    stroke(m, [[0, 0], [19, 19]], 9, 3);
    stroke(m, [[0, 0], [19, 19]], 9, 0);
    expect(m.countOf(0)).toBe(400);
  });
});

describe("fill", () => {
  it("flood fill is 4-connected: a diagonal gap does not leak", () => {
    const m = new Mask(5, 5);
    // A wall of class 1 on the anti-diagonal: 4-connected fill from (0,0) stays in the upper-left triangle.
    for (let i = 0; i < 5; i++) m.labels[i * 5 + (4 - i)] = 1;
    oneShot(m, (rec) => floodFill(m, rec, P(0, 0), 2, FREE_RULE));
    expect(m.countOf(2)).toBe(10);
    expect(m.labels[4 * 5 + 4]).toBe(0);
  });

  it("flood fill covers a whole region with holes and concave parts", () => {
    const m = new Mask(30, 30);
    for (let y = 5; y < 25; y++) m.labels[y * 30 + 15] = 1; // a vertical wall with openings at both ends
    const { diff } = oneShot(m, (rec) => floodFill(m, rec, P(2, 2), 3, FREE_RULE));
    expect(m.countOf(3)).toBe(900 - 20);
    expect(diff!.indices.length).toBe(880);
  });

  it("lasso fills a polygon by the even-odd rule", () => {
    const m = new Mask(20, 20);
    oneShot(m, (rec) => paintPolygon(m, rec, [P(2, 2), P(12, 2), P(12, 8), P(2, 8)], 4, FREE_RULE));
    expect(m.countOf(4)).toBe(60);
    // A pentagram: the centre pentagon is outside under even-odd.
    const s = new Mask(100, 100);
    const star = [0, 2, 4, 1, 3].map((k) => {
      const a = -Math.PI / 2 + (k * 2 * Math.PI) / 5;
      return P(50 + 45 * Math.cos(a), 50 + 45 * Math.sin(a));
    });
    oneShot(s, (rec) => paintPolygon(s, rec, star, 1, FREE_RULE));
    expect(s.labels[50 * 100 + 50]).toBe(0);
    expect(s.labels[12 * 100 + 50]).toBe(1);
  });
});

describe("protection", () => {
  it("paint-only-background never overwrites another class but fills around it", () => {
    const m = new Mask(20, 20);
    stroke(m, [[10, 10]], 5, 1);
    const before = m.countOf(1);
    stroke(m, [[2, 10], [18, 10]], 9, 2, { onlyBackground: true, locked: new Set() });
    expect(m.countOf(1)).toBe(before);
    expect(m.countOf(2)).toBeGreaterThan(0);
  });

  it("locked classes survive brush, eraser, fill and lasso", () => {
    const m = new Mask(20, 20);
    stroke(m, [[10, 10]], 7, 5);
    const locked = m.countOf(5);
    const rule = { onlyBackground: false, locked: new Set([5]) };
    stroke(m, [[0, 10], [19, 10]], 11, 3, rule);
    stroke(m, [[0, 10], [19, 10]], 11, 0, rule);
    oneShot(m, (rec) => floodFill(m, rec, P(10, 10), 2, rule));
    oneShot(m, (rec) => paintPolygon(m, rec, [P(0, 0), P(20, 0), P(20, 20), P(0, 20)], 7, rule));
    expect(m.countOf(5)).toBe(locked);
    expect(m.countOf(7)).toBe(400 - locked);
  });
});

describe("undo and redo", () => {
  it("undoes and redoes 150 strokes exactly, storing diffs far smaller than the mask", () => {
    const m = new Mask(512, 512);
    const h = new History();
    const snapshots: Uint8Array[] = [m.labels.slice()];
    for (let i = 0; i < 150; i++) {
      const { diff } = stroke(m, [[(i * 37) % 500, (i * 53) % 500], [(i * 71) % 500, (i * 29) % 500]], 1 + (i % 20), 1 + (i % 11));
      if (diff) {
        h.push(diff);
        expect(diffBytes(diff)).toBeLessThan(m.labels.length / 4);
        snapshots.push(m.labels.slice());
      }
    }
    expect(h.depth).toBeGreaterThanOrEqual(100);
    expect(h.bytes).toBeLessThan(snapshots.length * m.labels.length * 0.1);
    for (let k = snapshots.length - 1; k > 0; k--) {
      m.applyDiff(h.undo()!, "before");
      expect(sameBytes(m.labels, snapshots[k - 1])).toBe(true);
    }
    expect(h.canUndo).toBe(false);
    for (let k = 1; k < snapshots.length; k++) m.applyDiff(h.redo()!, "after");
    expect(sameBytes(m.labels, snapshots[snapshots.length - 1])).toBe(true);
  });

  it("a stroke that changes nothing stays out of history, and a new change clears redo", () => {
    const m = new Mask(10, 10);
    const h = new History();
    const first = stroke(m, [[5, 5]], 3, 1).diff!;
    h.push(first);
    expect(stroke(m, [[5, 5]], 3, 1).diff).toBeNull();
    m.applyDiff(h.undo()!, "before");
    h.push(stroke(m, [[1, 1]], 1, 2).diff!);
    expect(h.canRedo).toBe(false);
  });
});
