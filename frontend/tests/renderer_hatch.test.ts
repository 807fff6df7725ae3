import { describe, expect, it } from "vitest";
import { colourLut, paintRect } from "../src/editor/renderer";

describe("a proposal is drawn hatched, told apart from the mask", () => {
  it("colours the outline and every fourth diagonal inside, nothing else", () => {
    const w = 8, h = 8;
    const labels = new Uint8Array(w * h).fill(1); // one class everywhere
    const lut = colourLut(["#000000", "#ff0000"], [true, true]);
    const full = new Uint32Array(w * h), hatched = new Uint32Array(w * h);
    paintRect(labels, w, h, { x0: 0, y0: 0, x1: w, y1: h }, lut, false, full);
    paintRect(labels, w, h, { x0: 0, y0: 0, x1: w, y1: h }, lut, true, hatched, true);
    expect(full.every((v) => v === lut[1])).toBe(true);
    // A uniform map has no class edge inside the image: only the diagonals are coloured.
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(hatched[y * w + x] !== 0).toBe((x + y) % 4 === 0);
  });

  it("keeps the outline of a region", () => {
    const w = 6, h = 6;
    const labels = new Uint8Array(w * h);
    for (let y = 1; y < 5; y++) for (let x = 1; x < 5; x++) labels[y * w + x] = 1;
    const lut = colourLut(["#000000", "#00ff00"], [true, true]);
    const out = new Uint32Array(w * h);
    paintRect(labels, w, h, { x0: 0, y0: 0, x1: w, y1: h }, lut, true, out, true);
    expect(out[1 * w + 1]).toBe(lut[1]); // corner of the region: edge
    expect(out[1 * w + 3]).toBe(lut[1]); // top edge
    expect(out[0]).toBe(0); // background
  });
});
