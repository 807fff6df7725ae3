/**
 * The editor controller: owns the document (mask + history), the view state and the save state,
 * and turns user actions into model changes + dirty-rectangle renders. Input wiring lives in
 * input.ts, DOM construction in ui.ts.
 */
import type { LabelClassInfo, ProjectDetail, SliceDetail } from "./api";
import { Api } from "./api";
import type { Autosave, ConflictInfo } from "./autosave";
import { browserStorage, DraftStore } from "./drafts";
import type { ImagePoint, Rect, ScreenPoint, Viewport } from "../shared/geometry";
import { fitToWindow } from "../shared/geometry";
import { PinTicks } from "../shared/review";
import { History } from "./history";
import type { Diff, PaintRule } from "./mask";
import { MeasureOverlay } from "./measure";
import { SliceNavigation } from "./navigation";
import { NeighbourActions, type MaskSource } from "./neighbours";
import { Mask } from "./mask";
import { decodeMask } from "./png";
import { colourLut, drawInteractive, MaskLayer, placeLayers } from "./renderer";
import { ReviewPanel } from "./review_panel";
import { SideBySide } from "./sidebyside";
import { SliceStore } from "./store";
import { SliceStrip } from "./strip";
import type { StateKey } from "./state";
import { EditorState } from "./state";
import type { Gesture, Tool, ToolContext } from "./tools";
import { toolNamed } from "./tools";
import type { Ui } from "./ui";
import { renderClasses } from "./ui";
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
  readonly store: SliceStore;
  readonly strip: SliceStrip;
  readonly drafts = new DraftStore(browserStorage());
  /** The review pins' "resolved" ticks (stored on the server, kept here while it cannot be reached). */
  readonly ticks: PinTicks;
  private raw: RawImage | null = null;
  readonly nav = new SliceNavigation(this);
  readonly neighbours = new NeighbourActions(this);
  readonly side = new SideBySide(this);
  /** How the unsaved mask was made when not only painted (sent with the next save). */
  maskSource: MaskSource | null = null;
  /** Set once input.ts has wired the controls (the channel and preset boxes are refilled per slice). */
  controlsBound = false;
  /** The drag of the active tool (or of a pan / right-button window) in progress. */
  gesture: Gesture | null = null;
  private gestureTool: Tool | null = null;
  private cursorCtx: CanvasRenderingContext2D;

  constructor(readonly ui: Ui, readonly config: EditorConfig) {
    this.api = new Api(config.apiBase, config.csrfToken);
    this.ticks = new PinTicks(config.apiBase, config.csrfToken, document.getElementById("editor")?.dataset.user ?? "");
    this.store = new SliceStore(this.api);
    this.strip = new SliceStrip(ui.el("slice-strip"), (id) => void this.nav.open(id, "push"));
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
      // The right pane's layers sit in a box one pane to the right: the same transform lines them up.
      const u = this.ui;
      placeLayers([u.imageCanvas, u.prelabelCanvas, u.maskCanvas, u.proposalCanvas, u.imageCanvas2, u.maskCanvas2, u.proposalCanvas2], this.state.viewport);
      this.measure?.place(this.state.viewport);
      this.review?.place(this.side.viewports());
    }
    if (has("wl")) this.renderImage();
    if (has("visible") && this.maskLayer) {
      this.refreshLut();
      this.rerenderMask();
    }
    if ((has("visible") || has("locked") || has("activeClass")) && this.slice) this.renderClassList();
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

  /** First load: the project, the series' strip, then the slice of the page's URL. */
  async load(): Promise<void> {
    const first = await this.store.doc(this.config.sliceId);
    this.project = await this.api.project(first.detail.project);
    this.state.update({ visible: this.classes.map(() => true) });
    await this.nav.show(first, "load");
    this.renderClassList();
    this.renderToolbar();
    void this.api.seriesSlices(first.detail.series).then((list) => {
      this.strip.set(list);
      this.strip.show(this.slice.id);
    }).catch(() => undefined); // the strip is a convenience: the editor works without it
  }

  /** Open another slice in place, the one left saved first (navigation.ts). */
  open(id: number | null, how: "push" | "pop" = "push"): Promise<boolean> {
    return this.nav.open(id, how);
  }

  goTo(id: number | null): Promise<boolean> {
    return this.nav.open(id, "push");
  }

  nextAssigned(): Promise<boolean> {
    return this.nav.nextAssigned();
  }

  submit(): Promise<void> {
    return this.nav.submit();
  }

  /** A sentence in the editor's message line ("" hides it). */
  notify(text: string, kind: "info" | "error" = "info"): void {
    const box = this.ui.el("notice");
    box.textContent = text;
    box.hidden = !text;
    box.dataset.kind = kind;
  }

  /** Show a channel of the open slice: its window is the one last chosen for it, else its first preset. */
  async setChannel(channel: string): Promise<void> {
    this.showImage(await this.store.image(this.slice.id, channel), channel);
  }

  /** Put a channel's image of the open slice on the image layer, with the channel's window. */
  showImage(raw: RawImage, channel: string): void {
    this.raw = raw;
    this.ui.imageCanvas.width = raw.width;
    this.ui.imageCanvas.height = raw.height;
    const wl = this.state.wlByChannel[channel] ?? presets(this.slice.stats[channel])[0].wl;
    this.state.update({ channel });
    this.state.setWindow(wl);
    this.renderImage();
    void this.side.refresh();
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
    const w = this.side.on ? r.width / 2 : r.width;
    this.setViewport(fitToWindow(this.slice.width, this.slice.height, w, r.height));
    this.drawCursor(); // the cursor canvas was cleared by its resize
  }

  drawCursor(): void {
    const s = this.state;
    // Side by side: the same cursor and lasso in both panes, at the same image point.
    this.side.viewports().forEach((v, i) =>
      drawInteractive(this.cursorCtx, v, s.cursor, this.tool.cursor === "brush" ? s.brushSize : null, s.lasso, i === 0));
  }

  refreshLut(): void {
    const colours = this.classes.map((c) => c.colour);
    this.maskLayer.lut = colourLut(colours, this.state.visible);
    this.prelabelLayer.lut = this.maskLayer.lut;
  }

  rerenderMask(): void {
    this.maskLayer.render(this.mask.labels);
    if (this.prelabel) this.prelabelLayer.render(this.prelabel.labels);
    this.neighbours?.renderProposal(); // class colours and visibility apply to the proposal too
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

  /**
   * Replace the mask by `labels` as one undoable change (the protection rules apply), recorded as
   * made by `source`; false when nothing changed.
   */
  applyLabels(labels: Uint8Array, source: MaskSource): boolean {
    const rec = this.mask.begin();
    const { width } = this.mask;
    const rule = this.rule;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] !== this.mask.labels[i]) rec.paint(i % width, Math.floor(i / width), labels[i], rule);
    }
    const diff = rec.finish();
    this.autosave.activity();
    if (!diff) return false;
    this.history.push(diff);
    this.maskLayer.render(this.mask.labels, diff.box);
    this.maskSource = source;
    this.autosave.changed();
    return true;
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
  showConflict(c: ConflictInfo): void {
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
    const labels = theirs ? decodeMask(theirs.png) : null;
    if (labels && (labels.width !== this.slice.width || labels.height !== this.slice.height)) throw new Error("their mask has another size");
    this.mask.replace(labels ? labels.labels : new Uint8Array(this.mask.labels.length));
    this.history.clear();
    this.rerenderMask();
    this.autosave.reset(current);
  }


}
