import { describe, expect, it } from "vitest";
import { bodyText, overlayShapes, type MeasureBody, type SliceMeasurements } from "../src/editor/measure";

const line = (x: number, y0: number, y1: number, mm: number) => ({ start: { x, y: y0 }, end: { x, y: y1 }, mm });

const body = (label: string, grade: number, extra: Partial<MeasureBody> = {}): MeasureBody => ({
  label,
  measurable: true,
  reason: null,
  fragment: false,
  centroid: { x: 20, y: 30 },
  trapezoid: { corners: [{ x: 10, y: 20 }, { x: 30, y: 20 }, { x: 30, y: 40 }, { x: 10, y: 40 }], rotation_deg: 0 },
  anterior: line(12, 20, 40, 26.04),
  middle: line(20, 21, 39, 24),
  posterior: line(28, 20, 40, 25.96),
  grade: { grade, label: ["normal", "mild", "moderate", "severe"][grade], shape: grade ? "wedge" : null, loss: 0.3 },
  ...extra,
});

const measurements = (bodies: MeasureBody[]): SliceMeasurements => ({
  revision: { id: 7, source: "human", prelabel: false },
  spacing_mm: [1, 1],
  spacing_assumed: null,
  naming: "levels named upwards from the sacrum",
  measurable: true,
  reason: null,
  bodies,
  discs: [{ upper: "L4", lower: "L5", anterior: line(12, 40, 48, 8), posterior: line(28, 40, 47, 7) }],
});

describe("measurement overlay", () => {
  it("moves API points (pixel centres on integers) onto the editor's pixel grid (centres on .5)", () => {
    const shapes = overlayShapes(measurements([body("L4", 0)]));
    const poly = shapes.find((s) => s.kind === "polygon");
    expect(poly && poly.kind === "polygon" && poly.points[0]).toEqual([10.5, 20.5]);
    const anterior = shapes.find((s) => s.kind === "line" && s.role === "anterior");
    expect(anterior && anterior.kind === "line" && [anterior.a, anterior.b]).toEqual([[12.5, 20.5], [12.5, 40.5]]);
  });

  it("draws three height lines per measured body, two disc lines per disc and one label per body", () => {
    const shapes = overlayShapes(measurements([body("L4", 0), body("L5", 2)]));
    const roles = shapes.flatMap((s) => (s.kind === "line" ? [s.role] : []));
    expect(roles.filter((r) => r !== "disc")).toHaveLength(6);
    expect(roles.filter((r) => r === "disc")).toHaveLength(2);
    expect(shapes.filter((s) => s.kind === "text")).toHaveLength(2);
  });

  it("labels a body with its heights and grade, or with why it is not measurable", () => {
    expect(bodyText(body("L3", 2))).toEqual(["L3 · 26.0 / 24.0 / 26.0 mm", "grade 2 moderate · wedge"]);
    const cut = body("L1", 0, { measurable: false, reason: "cut by the image border (top edge)", anterior: null, grade: null });
    expect(bodyText(cut)).toEqual(["L1", "not measurable: cut by the image border (top edge)"]);
  });
});
