/**
 * The editor controller: owns the document (mask + history), the view state and the save state,
 * and turns user actions into model changes + dirty-rectangle renders. Input wiring lives in
 * input.ts, DOM construction in ui.ts.
 */
import type { LabelClassInfo, ProjectDetail, SliceDetail } from "./api";
import { Api } from "./api";
import { Autosave, type ConflictInfo } from "./autosave";
import type { ImagePoint, Rect, ScreenPoint, Viewport } from "../shared/geometry";
import { fitToWindow } from "../shared/geometry";
import { History } from "./history";
import type { Diff, PaintRule } from "./mask";
import { MeasureOverlay } from "./measure";
import { Mask } from "./mask";
import { decodeGrey16, decodeMask, encodeMask } from "./png";
import { colourLut, drawInteractive, MaskLayer, placeLayers } from "./renderer";
import { ReviewPanel } from "./review_panel";
import type { StateKey } from "./state";
import { EditorState } from "./state";
import type { Gesture, Tool, ToolContext } from "./tools";
import { toolNamed } from "./tools";
import type { Ui } from "./ui";
import { renderClasses, showSaveState } from "./ui";
import type { ChannelStats, RawImage, WindowLevel } from "./window";
import { presets, renderGrey } from "./window";

export interface EditorConfig {
  sliceId: number;
  apiBase: string;
  csrfToken: string;
  autosaveMs?: number;
}

export class Editor implements ToolContext {
  readonly api: Api;
  readonly state = new EditorState();
  slice!: SliceDetail;
  project!: ProjectDetail;
  mask!: Mask;
  readonly history = new History();
  autosave!: Autosave;
  maskLayer!: MaskLayer;
  prelabelLayer!: MaskLayer;
  prelabel: { labels: Uint8Array; revision: number } | null = null;
  measure: MeasureOverlay | null = null;
  review: ReviewPanel | null = null;
  private rawCache = new Map<string, RawImage>();
  private raw: RawImage | null = null;
  /** The drag of the active tool (or of a pan / right-button window) in progress. */
  gesture: Gesture | null = null;
  private gestureTool: Tool | null = null;
  private cursorCtx: CanvasRenderingContext2D;

  constructor(readonly ui: Ui, readonly config: EditorConfig) {
    this.api = new Api(config.apiBase, config.csrfToken);
    this.cursorCtx = ui.cursorCanvas.getContext("2d")!;
    this.state.subscribe((changed) => this.onState(changed));
  }

  get rule(): PaintRule {
    return { onlyBackground: this.state.onlyBackground, locked: this.state.locked };
  }

  get classes(): LabelClassInfo[] {
    return this.project.classes;
  }

  get tool(): Tool {
    return toolNamed(this.state.tool);
  }

  /** Whether a drag (stroke, lasso, pan, window) is in progress. */
  get busy(): boolean {
    return this.gesture !== null;
  }

  /** State changes -> what they show: each field has one renderer. */
  private onState(changed: ReadonlySet<StateKey>): void {
    const has = (k: StateKey) => changed.has(k);
    if (has("viewport")) {
      placeLayers([this.ui.imageCanvas, this.ui.prelabelCanvas, this.ui.maskCanvas], this.state.viewport);
      this.measure?.place(this.state.viewport);
      this.review?.place(this.state.viewport);
    }
    if (has("wl")) this.renderImage();
    if (has("visible")) {
      this.refreshLut();
      this.rerenderMask();
    }
    if (has("visible") || has("locked") || has("activeClass")) this.renderClassList();
    if (has("tool")) this.renderToolbar();
    if (has("brushSize")) {
      this.ui.el<HTMLInputElement>("brush-size").value = String(this.state.brushSize);
      this.ui.el("brush-size-out").textContent = String(this.state.brushSize);
    }
    if (has("onlyBackground")) this.ui.el<HTMLInputElement>("only-bg").checked = this.state.onlyBackground;
    if (["viewport", "tool", "brushSize", "cursor", "lasso"].some((k) => changed.has(k as StateKey))) this.drawCursor();
  }

  renderToolbar(): void {
    this.ui.root.querySelectorAll<HTMLElement>("[data-tool]").forEach((b) => b.classList.toggle("active", b.dataset.tool === this.state.tool));
  }

  async load(): Promise<void> {
    const id = this.config.sliceId;
    this.slice = await this.api.slice(id);
    this.project = await this.api.project(this.slice.project);
    const { width, height } = this.slice;
    this.mask = new Mask(width, height);
    this.maskLayer = new MaskLayer(this.ui.maskCanvas, width, height);
    this.prelabelLayer = new MaskLayer(this.ui.prelabelCanvas, width, height);
    this.state.update({ visible: this.classes.map(() => true) });
    this.refreshLut();
    this.ui.el("title").textContent = `Subject ${this.slice.subject} · slice ${this.slice.index} · ${this.slice.state}`;
    const head = this.slice.head_revision !== null ? await this.api.mask(id, "head") : null;
    if (head) this.mask.replace(this.decodeSized(head.png));
    if (this.slice.prelabel_revision !== null) {
      const pre = await this.api.mask(id, "prelabel");
      if (pre) this.prelabel = { labels: this.decodeSized(pre.png), revision: pre.revision };
    }
    this.autosave = new Autosave(
      { encode: () => encodeMask(this.mask.labels, width, height), put: (png, base, secs, keep) => this.api.saveMask(id, png, base, secs, keep) },
      head ? head.revision : null,
      this.config.autosaveMs ?? 2000,
      (s, detail) => {
        showSaveState(this.ui, s, detail);
        // Measurements are of the stored mask: redraw them once a save has landed.
        if (s === "saved") void this.measure?.refresh();
      },
      (c) => this.showConflict(c),
    );
    this.ui.el<HTMLAnchorElement>("measure-report").href = `/series/${this.slice.series}/measurements/?slice=${id}`;
    // The saved mask's measurements; before the first save, the model pre-label's (marked as such).
    this.measure = new MeasureOverlay(this.ui.measureSvg, this.ui.el("measure-status"), width, height, async () =>
      (await this.api.measurements(id, "head")) ?? (this.prelabel ? this.api.measurements(id, "prelabel") : null),
    );
    showSaveState(this.ui, "saved", head ? `revision ${head.revision}` : "empty mask");
    this.maskLayer.render(this.mask.labels);
    if (this.prelabel) this.prelabelLayer.render(this.prelabel.labels);
    await this.setChannel(this.slice.channels[0]);
    this.fit();
    this.renderClassList();
    this.renderToolbar();
    this.review = new ReviewPanel(this.api, id, this.ui.pinLayer, document.getElementById("review-comments"));
    void this.review.load().then(() => this.review?.place(this.state.viewport));
  }

  private decodeSized(png: ArrayBuffer): Uint8Array {
    const m = decodeMask(png);
    if (m.width !== this.slice.width || m.height !== this.slice.height) {
      throw new Error(`mask is ${m.width}x${m.height}, slice is ${this.slice.width}x${this.slice.height}`);
    }
    return m.labels;
  }

  // --- view -------------------------------------------------------------------------------------
  /** Show a channel: its window is the one last chosen for it, else its first preset. */
  async setChannel(channel: string): Promise<void> {
    let raw = this.rawCache.get(channel);
    if (!raw) {
      const got = await this.api.image16(this.slice.id, channel);
      raw = decodeGrey16(got.png, got.offset, got.scale);
      this.rawCache.set(channel, raw);
    }
    this.raw = raw;
    this.ui.imageCanvas.width = raw.width;
    this.ui.imageCanvas.height = raw.height;
    const wl = this.state.wlByChannel[channel] ?? presets(this.slice.stats[channel])[0].wl;
    this.state.update({ channel });
    this.state.setWindow(wl);
    this.renderImage();
  }

  setWindow(wl: WindowLevel): void {
    if (this.raw) this.state.setWindow(wl);
  }

  /** A window dragged with the W/L tool or the right button: no preset is selected any more. */
  dragWindow(wl: WindowLevel): void {
    // Clearing the box lets picking any preset (Auto too) apply it.
    this.ui.el<HTMLSelectElement>("wl-preset").selectedIndex = -1;
    this.setWindow(wl);
  }

  stats(): ChannelStats {
    return this.slice.stats[this.state.channel];
  }

  private renderImage(): void {
    if (!this.raw) return;
    const wl = this.state.wl;
    const ctx = this.ui.imageCanvas.getContext("2d")!;
    const img = ctx.createImageData(this.raw.width, this.raw.height);
    renderGrey(this.raw, wl, new Uint32Array(img.data.buffer));
    ctx.putImageData(img, 0, 0);
    this.ui.el("wl-readout").textContent = `W ${wl.window.toFixed(0)} / L ${wl.level.toFixed(0)}`;
  }

  setViewport(v: Viewport): void {
    this.state.update({ viewport: v });
  }

  fit(): void {
    const r = this.ui.stage.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.ui.cursorCanvas.width = Math.round(r.width * dpr);
    this.ui.cursorCanvas.height = Math.round(r.height * dpr);
    this.setViewport(fitToWindow(this.slice.width, this.slice.height, r.width, r.height));
    this.drawCursor(); // the cursor canvas was cleared by its resize
  }

  drawCursor(): void {
    const s = this.state;
    drawInteractive(this.cursorCtx, s.viewport, s.cursor, this.tool.cursor === "brush" ? s.brushSize : null, s.lasso);
  }

  refreshLut(): void {
    const colours = this.classes.map((c) => c.colour);
    this.maskLayer.lut = colourLut(colours, this.state.visible);
    this.prelabelLayer.lut = this.maskLayer.lut;
  }

  rerenderMask(): void {
    this.maskLayer.render(this.mask.labels);
    if (this.prelabel) this.prelabelLayer.render(this.prelabel.labels);
  }

  /** Show the pre-label instead of the current mask (compare). */
  comparePrelabel(on: boolean): void {
    if (!this.prelabel) return;
    this.ui.prelabelCanvas.hidden = !on;
    this.ui.maskCanvas.hidden = on;
  }

  renderClassList(): void {
    const s = this.state;
    renderClasses(this.ui, this.classes, s.activeClass, s.visible, s.locked, {
      select: (i) => this.selectClass(i),
      toggleVisible: (i) => s.toggleVisible(i),
      toggleLock: (i) => s.toggleLock(i),
    });
  }

  selectClass(i: number): void {
    if (i < 0 || i >= this.classes.length) return;
    this.state.update({ activeClass: i });
    if (!this.tool.usesClass) this.setTool("brush");
  }

  setTool(name: string): void {
    toolNamed(name); // an unknown name fails here, not at the next click
    this.state.update({ tool: name });
  }

  /** Show or hide the measurement overlay (button and M key). */
  async toggleMeasurements(): Promise<void> {
    if (!this.measure) return;
    await this.measure.toggle();
    this.ui.el("toggle-measure").setAttribute("aria-pressed", String(this.measure.visible));
    this.ui.el("toggle-measure").classList.toggle("active", this.measure.visible);
  }

  // --- gestures (input.ts routes pointer events here) ----------------------------------------------
  /** Start a drag with `tool` (the active one, or W/L for the right button). */
  startGesture(tool: Tool, p: ImagePoint, s: ScreenPoint): void {
    this.gestureTool = tool;
    this.gesture = tool.down(this, p, s);
    if (!this.gesture) this.gestureTool = null; // a one-shot action (fill) is already committed
  }

  /** Start a drag that is no tool (panning). */
  startPlainGesture(g: Gesture): void {
    this.gestureTool = null;
    this.gesture = g;
  }

  moveGesture(p: ImagePoint, s: ScreenPoint): void {
    this.gesture?.move(p, s);
  }

  endGesture(): void {
    const g = this.gesture;
    this.gesture = null;
    g?.up();
    this.gestureTool = null;
  }

  // --- mask actions -----------------------------------------------------------------------------
  renderMask(dirty: Rect | null): void {
    if (dirty) this.maskLayer.render(this.mask.labels, dirty);
  }

  /** A finished change enters history (unless its tool keeps out of it) and schedules a save. */
  commit(diff: Diff | null): void {
    this.autosave.activity();
    if (!diff) return;
    if (this.gestureTool?.entersUndo !== false) this.history.push(diff);
    this.autosave.changed();
  }

  undo(): void {
    const d = this.history.undo();
    if (d) this.afterHistory(this.mask.applyDiff(d, "before"));
  }

  redo(): void {
    const d = this.history.redo();
    if (d) this.afterHistory(this.mask.applyDiff(d, "after"));
  }

  private afterHistory(box: Rect): void {
    this.maskLayer.render(this.mask.labels, box);
    this.autosave.changed();
  }

  /** Start from the model's pre-label: it becomes the mask and the base revision. */
  acceptPrelabel(): void {
    if (!this.prelabel) return;
    this.mask.replace(this.prelabel.labels);
    this.history.clear();
    this.autosave.base = this.prelabel.revision;
    this.rerenderMask();
    this.autosave.changed();
    this.ui.el("accept-prelabel").hidden = true;
  }

  // --- conflicts and navigation -------------------------------------------------------------------
  private showConflict(c: ConflictInfo): void {
    const dialog = this.ui.el<HTMLDialogElement>("conflict-dialog");
    this.ui.el("conflict-text").textContent =
      `Someone else saved revision ${c.current} of this slice while you were editing. ` +
      `Your mask was kept as revision ${c.yours}.`;
    dialog.dataset.current = String(c.current ?? "");
    dialog.showModal();
  }

  async resolveConflict(choice: "mine" | "theirs"): Promise<void> {
    const dialog = this.ui.el<HTMLDialogElement>("conflict-dialog");
    const current = dialog.dataset.current ? Number(dialog.dataset.current) : null;
    dialog.close();
    if (choice === "mine") {
      await this.autosave.keepMine(current);
      return;
    }
    const theirs = current !== null ? await this.api.mask(this.slice.id, current) : null;
    this.mask.replace(theirs ? this.decodeSized(theirs.png) : new Uint8Array(this.mask.labels.length));
    this.history.clear();
    this.rerenderMask();
    this.autosave.reset(current);
  }

  /** Save first, then open another slice's editor. */
  async goTo(sliceId: number | null): Promise<void> {
    if (sliceId === null) return;
    await this.autosave.flush();
    if (this.autosave.dirty && !window.confirm("The mask could not be saved. Leave anyway?")) return;
    window.location.assign(`/slices/${sliceId}/edit/${window.location.search}`);
  }

  async nextAssigned(): Promise<void> {
    await this.autosave.flush();
    const { slice } = await this.api.next();
    if (slice === null || slice === undefined) {
      window.alert("No more slices to annotate.");
      return;
    }
    await this.goTo(slice);
  }

  async submit(): Promise<void> {
    await this.autosave.flush();
    if (this.autosave.dirty) throw new Error("save the mask before submitting");
    const { state } = await this.api.submit(this.slice.id);
    this.slice.state = state;
    this.ui.el("title").textContent = `Subject ${this.slice.subject} · slice ${this.slice.index} · ${state}`;
  }
}
