/**
 * The editor's tools as registered objects: a name, a key, a cursor, pointer handlers and whether
 * its changes enter undo history. The toolbar, the key bindings and the pointer dispatch are all
 * driven by TOOLS, so a new tool is one object here (plus its painting in paint.ts if it paints).
 */
import type { ImagePoint, Rect, ScreenPoint } from "../shared/geometry";
import type { ChangeRecorder, Diff, Mask, PaintRule } from "./mask";
import { floodFill, oneShot, paintPolygon, paintSegment } from "./paint";
import type { EditorState } from "./state";
import type { ChannelStats, WindowLevel } from "./window";
import { dragWindow } from "./window";

/** What a tool may do to the editor: read state, change the mask, commit, set the window. */
export interface ToolContext {
  readonly state: EditorState;
  readonly mask: Mask;
  readonly rule: PaintRule;
  /** Re-render the mask inside `dirty` (null: nothing changed). */
  renderMask(dirty: Rect | null): void;
  /** A finished change: enters history (when the tool says so) and schedules a save. */
  commit(diff: Diff | null): void;
  /** The shown channel's statistics (window/level drags scale with them). */
  stats(): ChannelStats;
  /** A dragged window: applied, and any preset selection cleared. */
  dragWindow(wl: WindowLevel): void;
}

/** One drag of a tool: further pointer moves and the release. */
export interface Gesture {
  move(p: ImagePoint, s: ScreenPoint): void;
  up(): void;
}

export interface Tool {
  readonly name: string;
  readonly label: string;
  readonly key: string;
  readonly title: string;
  /** "brush": the brush outline at its true size follows the pointer; "crosshair": none. */
  readonly cursor: "brush" | "crosshair";
  /** Whether its changes enter undo history (W/L does not: it changes the view, not the mask). */
  readonly entersUndo: boolean;
  /** Whether picking a class keeps this tool (false: picking a class switches to the brush). */
  readonly usesClass: boolean;
  /** Pointer pressed at `p`; returns the drag to follow, or null for a one-shot action. */
  down(ctx: ToolContext, p: ImagePoint, s: ScreenPoint): Gesture | null;
}

function strokeTool(name: string, label: string, key: string, title: string, erase: boolean): Tool {
  return {
    name, label, key, title, cursor: "brush", entersUndo: true, usesClass: !erase,
    down(ctx, p) {
      const value = erase ? 0 : ctx.state.activeClass;
      const size = ctx.state.brushSize;
      const rec: ChangeRecorder = ctx.mask.begin();
      let last = p;
      ctx.renderMask(paintSegment(ctx.mask, rec, p, p, size, value, ctx.rule));
      return {
        move(q) {
          ctx.renderMask(paintSegment(ctx.mask, rec, last, q, size, value, ctx.rule));
          last = q;
        },
        up: () => ctx.commit(rec.finish()),
      };
    },
  };
}

export const brush = strokeTool("brush", "Brush", "b", "Brush (B)", false);
export const eraser = strokeTool("eraser", "Eraser", "e", "Eraser (E)", true);

export const fill: Tool = {
  name: "fill", label: "Fill", key: "f", title: "Flood fill (F)", cursor: "crosshair", entersUndo: true, usesClass: true,
  down(ctx, p) {
    const { dirty, diff } = oneShot(ctx.mask, (rec) => floodFill(ctx.mask, rec, p, ctx.state.activeClass, ctx.rule));
    ctx.renderMask(dirty);
    ctx.commit(diff);
    return null;
  },
};

export const lasso: Tool = {
  name: "lasso", label: "Lasso", key: "l", title: "Lasso fill (L)", cursor: "crosshair", entersUndo: true, usesClass: true,
  down(ctx, p) {
    ctx.state.update({ lasso: [p] });
    return {
      move: (q) => ctx.state.update({ lasso: [...ctx.state.lasso, q] }),
      up() {
        const poly = ctx.state.lasso;
        ctx.state.update({ lasso: [] });
        const { dirty, diff } = oneShot(ctx.mask, (rec) => paintPolygon(ctx.mask, rec, poly, ctx.state.activeClass, ctx.rule));
        ctx.renderMask(dirty);
        ctx.commit(diff);
      },
    };
  },
};

export const windowLevel: Tool = {
  name: "wl", label: "W/L", key: "w", title: "Window/level drag (W); right-drag works with any tool",
  cursor: "crosshair", entersUndo: false, usesClass: false,
  down(ctx, _p, start) {
    const from = ctx.state.wl;
    return {
      move: (_q, s) => ctx.dragWindow(dragWindow(from, s.x - start.x, s.y - start.y, ctx.stats())),
      up: () => undefined,
    };
  },
};

/** The registry, in toolbar order. */
export const TOOLS: readonly Tool[] = [brush, eraser, fill, lasso, windowLevel];

export function toolNamed(name: string): Tool {
  const t = TOOLS.find((x) => x.name === name);
  if (!t) throw new Error(`no tool named ${name}`);
  return t;
}

/** The tool a key selects (case-insensitive), or undefined. */
export const toolForKey = (key: string): Tool | undefined => TOOLS.find((t) => t.key === key.toLowerCase());
