/**
 * Side-by-side layout (issue 13): the stage split into two equal panes that share one viewport. The
 * viewport is the left pane's; the right pane shows the same image point shifted by the left pane's
 * width, so zoom, pan and the cursor stay in step by construction. Pure geometry, no DOM.
 */
import type { ScreenPoint, Viewport } from "../shared/geometry";
import { screenPoint } from "../shared/geometry";

export interface PaneLayout {
  /** Stage width in CSS pixels. */
  readonly width: number;
  /** Whether the stage is split into two panes. */
  readonly split: boolean;
}

/** Width of one pane (the whole stage when not split). */
export const paneWidth = (l: PaneLayout): number => (l.split ? l.width / 2 : l.width);

/** Which pane a stage point falls in: 0 (left or only) or 1 (right). */
export const paneAt = (s: ScreenPoint, l: PaneLayout): 0 | 1 => (l.split && s.x >= l.width / 2 ? 1 : 0);

/** The stage-coordinate viewport of a pane (pane 1 is pane 0's shifted right by one pane width). */
export function paneViewport(v: Viewport, pane: 0 | 1, l: PaneLayout): Viewport {
  return pane === 0 ? v : { ...v, offsetX: v.offsetX + paneWidth(l) };
}

/** A stage point moved into the left pane's coordinates (for zooming around it, for instance). */
export function toLeftPane(s: ScreenPoint, l: PaneLayout): ScreenPoint {
  return paneAt(s, l) === 1 ? screenPoint(s.x - paneWidth(l), s.y) : s;
}

/**
 * The two channels shown side by side: the shown one on the left and the other of the slice's first
 * two on the right; null when the slice has fewer than two channels.
 */
export function sideChannels(channels: readonly string[], shown: string): [string, string] | null {
  if (channels.length < 2) return null;
  const left = channels.includes(shown) ? shown : channels[0];
  return [left, left === channels[0] ? channels[1] : channels[0]];
}
