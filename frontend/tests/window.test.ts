import { expect, it } from "vitest";
import { decodeGrey16, decodeMask, encodeMask } from "../src/editor/png";
import { encode } from "fast-png";
import { greyLut, presets } from "../src/editor/window";
import { fitToWindow, imagePoint, screenPoint, toImage, toScreen, zoomAround } from "../src/shared/geometry";

it("window/level maps the full 16-bit range with offset and scale", () => {
  const lut = greyLut({ window: 1000, level: 500 }, -100, 0.5); // real = p / 2 - 100
  expect(lut[200]).toBe(0); // real 0 -> bottom of the window
  expect(lut[2200]).toBe(255); // real 1000 -> top
  expect(lut[1200]).toBe(128); // real 500 -> middle
  expect(presets({ min: 0, max: 4000, p1: 10, p99: 3000 })[0].wl).toEqual({ window: 2990, level: 1505 });
});

it("masks round-trip through 8-bit grey PNG and 16-bit greys keep every bit", () => {
  const labels = Uint8Array.from({ length: 12 }, (_, i) => i % 12);
  expect(decodeMask(encodeMask(labels, 4, 3)).labels).toEqual(labels);
  const data = Uint16Array.from([0, 1, 40000, 65535]);
  const img = decodeGrey16(encode({ width: 2, height: 2, data, depth: 16, channels: 1 }), 0, 1);
  expect(Array.from(img.data)).toEqual([0, 1, 40000, 65535]);
});

it("zooming around the cursor keeps the image point under it fixed", () => {
  const v = fitToWindow(512, 256, 1000, 600);
  const anchor = screenPoint(300, 200);
  const before = toImage(anchor, v);
  const after = toScreen(before, zoomAround(v, anchor, 3));
  expect(after.x).toBeCloseTo(300);
  expect(after.y).toBeCloseTo(200);
  expect(toImage(toScreen(imagePoint(7, 9), v), v).x).toBeCloseTo(7);
});
