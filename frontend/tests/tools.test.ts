import { describe, expect, it } from "vitest";
import { imagePoint as P, screenPoint as S } from "../src/shared/geometry";
import { History } from "../src/editor/history";
import { FREE_RULE, Mask, type Diff } from "../src/editor/mask";
import { EditorState, type StateKey } from "../src/editor/state";
import { toolForKey, toolNamed, TOOLS, type ToolContext } from "../src/editor/tools";
import type { WindowLevel } from "../src/editor/window";

/** A ToolContext over a real mask and history that records what the tool asked for. */
function context(w = 20, h = 10) {
  const state = new EditorState({ brushSize: 3, activeClass: 2 });
  const mask = new Mask(w, h);
  const history = new History();
  const windows: WindowLevel[] = [];
  let commits = 0;
  const ctx: ToolContext = {
    state, mask, rule: FREE_RULE,
    renderMask: () => undefined,
    commit(diff: Diff | null) {
      commits++;
      if (diff) history.push(diff);
    },
    stats: () => ({ min: 0, max: 1000, p1: 10, p99: 900 }),
    dragWindow: (wl) => {
      windows.push(wl);
      state.setWindow(wl);
    },
  };
  return { ctx, state, mask, history, windows, commits: () => commits };
}

describe("tool registry", () => {
  it("gives every tool a distinct name and key, found case-insensitively", () => {
    expect(new Set(TOOLS.map((t) => t.name)).size).toBe(TOOLS.length);
    expect(new Set(TOOLS.map((t) => t.key)).size).toBe(TOOLS.length);
    expect(toolForKey("B")?.name).toBe("brush");
    expect(toolForKey("x")).toBeUndefined();
    expect(() => toolNamed("scissors")).toThrow("no tool named scissors");
  });

  it("lets only mask-changing tools enter undo history", () => {
    expect(TOOLS.filter((t) => !t.entersUndo).map((t) => t.name)).toEqual(["wl"]);
  });
});

describe("tools on a mask", () => {
  it("a brush drag paints the active class and enters history once, on release", () => {
    const { ctx, mask, history, commits } = context();
    const g = toolNamed("brush").down(ctx, P(2.5, 2.5), S(0, 0))!;
    g.move(P(10.5, 2.5), S(0, 0));
    expect(commits()).toBe(0);
    g.up();
    expect(commits()).toBe(1);
    expect(history.depth).toBe(1);
    expect(mask.labels[2 * 20 + 6]).toBe(2);
  });

  it("the eraser writes background", () => {
    const { ctx, mask } = context();
    mask.labels.fill(5);
    const g = toolNamed("eraser").down(ctx, P(4.5, 4.5), S(0, 0))!;
    g.up();
    expect(mask.labels[4 * 20 + 4]).toBe(0);
  });

  it("fill is one shot: no drag, committed at once", () => {
    const { ctx, mask, commits } = context();
    expect(toolNamed("fill").down(ctx, P(1, 1), S(0, 0))).toBeNull();
    expect(commits()).toBe(1);
    expect(mask.labels.every((v) => v === 2)).toBe(true);
  });

  it("a lasso shows its path while drawn and fills it on release", () => {
    const { ctx, state, mask } = context();
    const g = toolNamed("lasso").down(ctx, P(1, 1), S(0, 0))!;
    g.move(P(9, 1), S(0, 0));
    g.move(P(9, 9), S(0, 0));
    expect(state.lasso).toHaveLength(3);
    g.up();
    expect(state.lasso).toHaveLength(0);
    expect(mask.labels[2 * 20 + 7]).toBe(2);
  });

  it("a window drag changes the window of the channel, never the mask", () => {
    const { ctx, state, history, windows } = context();
    state.update({ channel: "T2w", wl: { window: 400, level: 200 } });
    const g = toolNamed("wl").down(ctx, P(0, 0), S(100, 100))!;
    g.move(P(0, 0), S(140, 80));
    g.up();
    expect(windows).toHaveLength(1);
    expect(state.wl).not.toEqual({ window: 400, level: 200 });
    expect(state.wlByChannel.T2w).toEqual(state.wl);
    expect(history.depth).toBe(0);
  });
});

describe("editor state", () => {
  it("tells listeners which fields changed, and nothing when nothing did", () => {
    const state = new EditorState();
    const heard: StateKey[][] = [];
    state.subscribe((changed) => heard.push([...changed]));
    state.update({ brushSize: 20, activeClass: 1 });
    state.update({ brushSize: 20 });
    state.toggleLock(3);
    expect(heard).toEqual([["brushSize"], ["locked"]]);
    expect(state.locked.has(3)).toBe(true);
  });

  it("remembers the window per channel", () => {
    const state = new EditorState({ channel: "T2w" });
    state.setWindow({ window: 100, level: 50 });
    state.update({ channel: "T1w" });
    state.setWindow({ window: 300, level: 90 });
    expect(state.wlByChannel).toEqual({ T2w: { window: 100, level: 50 }, T1w: { window: 300, level: 90 } });
  });
});
