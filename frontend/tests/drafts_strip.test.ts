import { describe, expect, it } from "vitest";
import { DraftStore } from "../src/editor/drafts";
import { cellText } from "../src/editor/strip";

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), m };
}

describe("local drafts", () => {
  it("keeps a mask's bytes and base until cleared", () => {
    const storage = memoryStorage();
    const drafts = new DraftStore(storage);
    const png = Uint8Array.from({ length: 70000 }, (_, i) => (i * 7) % 256);
    expect(drafts.put({ sliceId: 4, base: 12, png, savedAt: "2026-11-30T12:00:00Z" })).toBe(true);
    const back = drafts.get(4)!;
    expect(back.base).toBe(12);
    expect(back.png).toEqual(png);
    drafts.clear(4);
    expect(drafts.get(4)).toBeNull();
  });

  it("says when the browser refuses to keep it, and reads a damaged draft as none", () => {
    const full = { getItem: () => "{not json", setItem: () => { throw new Error("QuotaExceededError"); }, removeItem: () => undefined };
    const drafts = new DraftStore(full);
    expect(drafts.put({ sliceId: 1, base: null, png: new Uint8Array(3), savedAt: "" })).toBe(false);
    expect(drafts.get(1)).toBeNull();
    expect(new DraftStore(null).put({ sliceId: 1, base: null, png: new Uint8Array(3), savedAt: "" })).toBe(false);
  });
});

describe("slice strip", () => {
  it("says each slice's state, pre-label and rank", () => {
    const base = { id: 1, series: 1, index: 7, head_revision: null };
    expect(cellText({ ...base, state: "in_progress", rank: 3, prelabel_revision: 9 })).toEqual({ label: "7", title: "slice 7 · in progress · pre-label · rank 3" });
    expect(cellText({ ...base, state: "unlabelled", rank: null, prelabel_revision: null }).title).toBe("slice 7 · unlabelled");
  });
});
