import { describe, expect, it } from "vitest";
import type { SliceSummary } from "../src/editor/api";
import { detailFromRows, orderChannels } from "../src/editor/strip";

const stats = { T2w: { min: 0, max: 9, p1: 1, p99: 8 }, T1w: { min: 0, max: 5, p1: 1, p99: 4 } };
const row = (id: number, index: number): SliceSummary => ({
  id, index, series: 3, project: 1, subject: 2, height: 512, width: 512, channels: ["T2w", "T1w"], stats,
  state: "unlabelled", rank: null, head_revision: index === 1 ? 40 : null, prelabel_revision: null,
});

describe("a slice's detail from the strip's rows", () => {
  it("orders channels by the project's channels, unknown ones last", () => {
    expect(orderChannels(["T2w", "T1w", "STIR"], ["T1w", "T2w"])).toEqual(["T1w", "T2w", "STIR"]);
    expect(orderChannels(["T2w", "T1w"], [])).toEqual(["T2w", "T1w"]);
  });

  it("carries what the editor shows, with the strip's neighbours as previous and next", () => {
    const rows = [row(10, 0), row(11, 1), row(12, 2)];
    const d = detailFromRows(rows, 11, { id: 1, channels: ["T1w"] })!;
    expect(d).toMatchObject({ id: 11, series: 3, subject: 2, index: 1, width: 512, head_revision: 40, previous_slice: 10, next_slice: 12 });
    expect(d.channels).toEqual(["T1w", "T2w"]);
    expect(detailFromRows(rows, 10, { id: 1 })!.previous_slice).toBeNull();
    expect(detailFromRows(rows, 12, { id: 1 })!.next_slice).toBeNull();
  });

  it("is undefined for a slice not in the strip or a row without channels and stats", () => {
    const bare = { ...row(10, 0), channels: undefined, stats: undefined };
    expect(detailFromRows([bare], 10, { id: 1 })).toBeUndefined();
    expect(detailFromRows([row(10, 0)], 99, { id: 1 })).toBeUndefined();
    expect(detailFromRows([row(10, 0)], null, { id: 1 })).toBeUndefined();
  });
});
