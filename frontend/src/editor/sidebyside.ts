/**
 * Side by side (issue 13): the slice's first two channels in two panes with one viewport and one
 * mask. The right pane has its own image canvas and a mirror of the mask canvas (MaskLayer writes
 * both), so every tool, undo and autosave act on the one mask whichever pane is painted on.
 */
import type { ScreenPoint, Viewport } from "../shared/geometry";
import type { Editor } from "./editor";
import type { PaneLayout } from "./panes";
import { paneAt, paneViewport, sideChannels, toLeftPane } from "./panes";
import type { Gesture } from "./tools";
import type { RawImage, WindowLevel } from "./window";
import { dragWindow, presets, renderGrey } from "./window";

export class SideBySide {
  on = false;
  /** The channel on the right pane, once drawn. */
  rightChannel: string | null = null;
  private rightRaw: RawImage | null = null;

  constructor(private readonly ed: Editor) {}

  layout(): PaneLayout {
    return { width: this.ed.ui.stage.getBoundingClientRect().width, split: this.on };
  }

  /** The stage-coordinate viewport of the pane under `s`. */
  viewportAt(s: ScreenPoint): Viewport {
    const l = this.layout();
    return paneViewport(this.ed.state.viewport, paneAt(s, l), l);
  }

  /** Viewports of the panes shown (one or two). */
  viewports(): Viewport[] {
    const l = this.layout();
    return this.on ? [paneViewport(this.ed.state.viewport, 0, l), paneViewport(this.ed.state.viewport, 1, l)] : [this.ed.state.viewport];
  }

  toLeft(s: ScreenPoint): ScreenPoint {
    return toLeftPane(s, this.layout());
  }

  /** Enable the button for slices with two channels; leave side by side when the slice has one. */
  available(): boolean {
    const btn = this.ed.ui.el<HTMLButtonElement>("side-by-side");
    const ok = sideChannels(this.ed.slice.channels, this.ed.state.channel) !== null;
    btn.disabled = !ok;
    btn.title = ok ? "Two channels side by side, one mask (D)" : `Side by side needs two channels; this slice has only ${this.ed.slice.channels.join(", ")}`;
    if (!ok && this.on) this.set(false);
    return ok;
  }

  toggle(): void {
    if (!this.on && !this.available()) return;
    this.set(!this.on);
  }

  private set(on: boolean): void {
    this.on = on;
    const btn = this.ed.ui.el("side-by-side");
    btn.classList.toggle("active", on);
    btn.setAttribute("aria-pressed", String(on));
    this.ed.ui.el("pane-right").hidden = !on;
    this.ed.ui.stage.classList.toggle("split", on);
    if (on) {
      const pair = sideChannels(this.ed.slice.channels, this.ed.state.channel)!;
      // The left pane shows the first of the two; the channel box keeps choosing the left one.
      if (pair[0] !== this.ed.state.channel) void this.ed.setChannel(pair[0]);
      else void this.refresh();
    } else {
      this.rightChannel = null;
    }
    this.ed.fit();
  }

  /** Draw the right pane's channel of the open slice with that channel's window. */
  async refresh(): Promise<void> {
    if (!this.on) return;
    const pair = sideChannels(this.ed.slice.channels, this.ed.state.channel);
    if (!pair) return this.set(false);
    const id = this.ed.slice.id;
    const raw = await this.ed.store.image(id, pair[1]);
    if (!this.on || this.ed.slice.id !== id) return; // moved on while it loaded
    const canvas = this.ed.ui.imageCanvas2;
    canvas.width = raw.width;
    canvas.height = raw.height;
    this.rightRaw = raw;
    this.rightChannel = pair[1];
    this.renderRight();
    this.ed.ui.stage.dataset.rightChannel = pair[1];
  }

  private rightWindow(): WindowLevel {
    const ch = this.rightChannel!;
    return this.ed.state.wlByChannel[ch] ?? presets(this.ed.slice.stats[ch])[0].wl;
  }

  private renderRight(): void {
    if (!this.rightRaw) return;
    const ctx = this.ed.ui.imageCanvas2.getContext("2d")!;
    const img = ctx.createImageData(this.rightRaw.width, this.rightRaw.height);
    renderGrey(this.rightRaw, this.rightWindow(), new Uint32Array(img.data.buffer));
    ctx.putImageData(img, 0, 0);
  }

  /**
   * A window drag that started on the right pane: it sets the right channel's window (kept per
   * channel like the left one's), or null when the drag belongs to the left pane.
   */
  windowGesture(start: ScreenPoint): Gesture | null {
    const l = this.layout();
    if (paneAt(start, l) !== 1 || !this.rightChannel || !this.rightRaw) return null;
    const ch = this.rightChannel;
    const from = this.rightWindow();
    const stats = this.ed.slice.stats[ch];
    return {
      move: (_p, s) => {
        const wl = dragWindow(from, s.x - start.x, s.y - start.y, stats);
        this.ed.state.update({ wlByChannel: { ...this.ed.state.wlByChannel, [ch]: wl } });
        this.renderRight();
      },
      up: () => undefined,
    };
  }
}
