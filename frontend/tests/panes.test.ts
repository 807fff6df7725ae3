import { describe, expect, it } from "vitest";
import { screenPoint, toImage, toScreen, zoomAround, imagePoint } from "../src/shared/geometry";
import { paneAt, paneViewport, paneWidth, sideChannels, toLeftPane } from "../src/editor/panes";

const v = { zoom: 2, offsetX: 10, offsetY: 5 };
const split = { width: 800, split: true };
const single = { width: 800, split: false };

describe("side-by-side panes", () => {
  it("splits the stage in two equal panes only when asked", () => {
    expect(paneWidth(split)).toBe(400);
    expect(paneWidth(single)).toBe(800);
    expect(paneAt(screenPoint(399, 0), split)).toBe(0);
    expect(paneAt(screenPoint(400, 0), split)).toBe(1);
    expect(paneAt(screenPoint(700, 0), single)).toBe(0);
  });

  it("maps the same image point to both panes, one pane width apart", () => {
    const p = imagePoint(30, 40);
    const left = toScreen(p, paneViewport(v, 0, split));
    const right = toScreen(p, paneViewport(v, 1, split));
    expect(right.x - left.x).toBe(400);
    expect(right.y).toBe(left.y);
    expect(toImage(right, paneViewport(v, paneAt(right, split), split))).toEqual(p);
    expect(paneViewport(v, 0, split)).toBe(v);
  });

  it("zooming around a point of the right pane keeps that image point under it in both panes", () => {
    const s = screenPoint(600, 200);
    const before = toImage(s, paneViewport(v, 1, split));
    const z = zoomAround(v, toLeftPane(s, split), 1.7);
    const after = toImage(s, paneViewport(z, 1, split));
    expect(after.x).toBeCloseTo(before.x, 9);
    expect(after.y).toBeCloseTo(before.y, 9);
    const mirrored = toImage(screenPoint(200, 200), z);
    expect(mirrored.x).toBeCloseTo(before.x, 9);
    expect(toLeftPane(screenPoint(100, 3), split)).toEqual(screenPoint(100, 3));
  });

  it("pairs the shown channel with the other of the first two, none for one channel", () => {
    expect(sideChannels(["T2w", "T1w"], "T2w")).toEqual(["T2w", "T1w"]);
    expect(sideChannels(["T2w", "T1w"], "T1w")).toEqual(["T1w", "T2w"]);
    expect(sideChannels(["STIR", "T1w", "T2w"], "T2w")).toEqual(["T2w", "STIR"]);
    expect(sideChannels(["STIR", "T1w"], "")).toEqual(["STIR", "T1w"]);
    expect(sideChannels(["T2w"], "T2w")).toBeNull();
  });
});
