import { describe, expect, it } from "vitest";
import { copyLabels, interpolateLabels, nearestLabelled } from "../src/editor/reuse";

const W = 64, H = 48;
function disc(cx: number, cy: number, r: number, cls: number, into: Uint8Array = new Uint8Array(W * H)): Uint8Array {
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) into[y * W + x] = cls;
  return into;
}
const count = (m: Uint8Array, cls: number) => m.filter((v) => v === cls).length;
const centreX = (m: Uint8Array, cls: number) => {
  let sum = 0, n = 0;
  m.forEach((v, i) => {
    if (v === cls) {
      sum += (i % W) + 0.5;
      n++;
    }
  });
  return sum / n;
};

describe("copy from a neighbour", () => {
  it("copies the whole mask", () => {
    const src = disc(20, 20, 6, 3);
    expect(copyLabels(src, disc(40, 20, 5, 1), null)).toEqual(src);
  });

  it("copies one class, keeping the others and dropping that class where the source lacks it", () => {
    const src = disc(20, 20, 6, 3);
    const dst = disc(40, 20, 5, 3, disc(10, 40, 4, 1));
    const out = copyLabels(src, dst, 3);
    expect(count(out, 3)).toBe(count(src, 3));
    expect(count(out, 1)).toBe(count(dst, 1));
    expect(out[20 * W + 40]).toBe(0);
  });

  it("refuses masks of another size", () => {
    expect(() => copyLabels(new Uint8Array(4), new Uint8Array(6), null)).toThrow("differ in size");
  });
});

describe("shape-based interpolation", () => {
  const a = disc(16, 24, 8, 2, disc(50, 10, 3, 5));
  const b = disc(40, 24, 8, 2);

  it("gives back the two ends at t = 0 and t = 1", () => {
    const [at0, at1] = interpolateLabels(a, b, W, H, [0, 1]);
    expect(at0).toEqual(a);
    expect(at1).toEqual(b);
  });

  it("moves a shape half way at t = 0.5, keeping its size", () => {
    const [mid] = interpolateLabels(a, b, W, H, [0.5]);
    expect(centreX(mid, 2)).toBeCloseTo(28, 0);
    expect(Math.abs(count(mid, 2) - count(a, 2))).toBeLessThan(0.1 * count(a, 2));
  });

  it("shrinks a class only one end has, and it is gone at the other end", () => {
    const steps = interpolateLabels(a, b, W, H, [0.25, 0.5, 0.75, 1]).map((m) => count(m, 5));
    expect(steps[0]).toBeLessThan(count(a, 5));
    expect(steps.at(-1)).toBe(0);
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBeLessThanOrEqual(steps[i - 1]);
  });

  it("interpolates a 12-class 512x512 pair at 10 fractions quickly", () => {
    const S = 512;
    const make = (shift: number) => {
      const m = new Uint8Array(S * S);
      for (let c = 1; c < 12; c++) {
        const cx = 40 + 40 * c + shift, cy = 256 + 120 * Math.sin(c), r = 20 + c;
        for (let y = Math.floor(cy - r); y <= cy + r; y++) for (let x = Math.floor(cx - r); x <= cx + r; x++) if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) m[y * S + x] = c;
      }
      return m;
    };
    const t0 = performance.now();
    const out = interpolateLabels(make(0), make(12), S, S, Array.from({ length: 10 }, (_, i) => (i + 1) / 11));
    const ms = performance.now() - t0;
    expect(out).toHaveLength(10);
    expect(count(out[4], 7)).toBeGreaterThan(1000);
    expect(ms).toBeLessThan(3000); // the benchmark holds the real budget (bench/RESULTS.md)
  });
});

describe("nearest labelled slice", () => {
  const slices = [{ index: 0, head: 1 }, { index: 1, head: null }, { index: 2, head: null }, { index: 3, head: 9 }];
  const labelled = (s: { head: number | null }) => s.head !== null;
  it("looks before and after the open slice", () => {
    expect(nearestLabelled(slices, 2, -1, labelled)?.index).toBe(0);
    expect(nearestLabelled(slices, 1, 1, labelled)?.index).toBe(3);
    expect(nearestLabelled(slices, 3, 1, labelled)).toBeNull();
  });
});
