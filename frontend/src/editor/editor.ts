/**
 * The editor controller: owns the document (mask + history), the view state and the save state,
 * and turns user actions into model changes + dirty-rectangle renders. Input wiring lives in
 * input.ts, DOM construction in ui.ts.
 */
import type { LabelClassInfo, ProjectDetail, SliceDetail } from "./api";
import { Api } from "./api";
import { Autosave, type ConflictInfo, type SaveState } from "./autosave";
import { browserStorage, DraftStore } from "./drafts";
import { fillPresets } from "./input";
import type { ImagePoint, Rect, ScreenPoint, Viewport } from "../shared/geometry";
import { fitToWindow } from "../shared/geometry";
import { History } from "./history";
import type { Diff, PaintRule } from "./mask";
import { MeasureOverlay } from "./measure";
import { NeighbourActions, type MaskSource } from "./neighbours";
import { Mask } from "./mask";
import { decodeMask, encodeMask } from "./png";
import { colourLut, drawInteractive, MaskLayer, placeLayers } from "./renderer";
import { ReviewPanel } from "./review_panel";
import { SliceStore, type LabelMap, type SliceData } from "./store";
import { SliceStrip } from "./strip";
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
  readonly store: SliceStore;
  readonly strip: SliceStrip;
  readonly drafts = new DraftStore(browserStorage());
  private raw: RawImage | null = null;
  private navigating = false;
  private pendingTarget: { id: number; how: "push" | "pop" } | null = null;
  readonly neighbours = new NeighbourActions(this);
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
    this.store = new SliceStore(this.api);
    this.strip = new SliceStrip(ui.el("slice-strip"), (id) => void this.open(id, "push"));
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
    await this.show(first, "load");
    this.renderClassList();
    this.renderToolbar();
    void this.api.seriesSlices(first.detail.series).then((list) => {
      this.strip.set(list);
      this.strip.show(this.slice.id);
    }).catch(() => undefined); // the strip is a convenience: the editor works without it
  }

  /**
   * Open another slice in place: the mask being left is saved first; when that save fails the
   * editor stays, says why and keeps the mask (on screen and as a local draft). `how`: "push" adds
   * a browser history entry, "pop" follows the back/forward buttons (the URL is already there).
   */
  async open(id: number | null, how: "push" | "pop" = "push"): Promise<boolean> {
    if (id === null || id === this.slice?.id) return false;
    if (this.navigating) {
      this.pendingTarget = { id, how };
      return false;
    }
    this.navigating = true;
    try {
      if (!(await this.leave())) return false;
      let data: SliceData;
      try {
        // The image of the channel on screen is fetched alongside the masks (one round trip less).
        this.store.image(id, this.state.channel).catch(() => undefined);
        data = await this.store.doc(id, this.strip.slices.find((s) => s.id === id));
      } catch (e) {
        this.notify(`Could not open slice ${id}: ${e instanceof Error ? e.message : e}`, "error");
        return false;
      }
      await this.show(data, how);
      return true;
    } finally {
      this.navigating = false;
      const next = this.pendingTarget;
      this.pendingTarget = null;
      if (next) void this.open(next.id, next.how);
    }
  }

  /** Save the open slice before leaving it; false (and the mask kept) when it cannot be stored. */
  private async leave(): Promise<boolean> {
    if (!this.slice) return true;
    if (this.gesture) this.endGesture();
    await this.autosave.flush();
    if (this.autosave.dirty) {
      const kept = this.keepDraft();
      const why = this.autosave.state === "conflict" ? "conflict: choose a version first" : this.autosave.error || "save failed";
      this.notify(
        `Slice ${this.slice.index} is not saved (${why}). It stays open${kept ? " and is kept as a local draft" : ""}; press Save to retry.`,
        "error",
      );
      return false;
    }
    this.store.forget(this.slice.id);
    return true;
  }

  /** Put a slice's data on screen, keeping the view (zoom, pan, channel, windows). */
  private async show(data: SliceData, how: "load" | "push" | "pop"): Promise<void> {
    const d = data.detail;
    const id = d.id;
    const sameSize = this.slice && this.slice.width === d.width && this.slice.height === d.height;
    const channel = d.channels.includes(this.state.channel) ? this.state.channel : d.channels[0];
    // The image first: once it is here everything else is synchronous (one paint, no flicker).
    const raw = await this.store.image(id, channel);
    this.slice = { ...d };
    this.prelabel = data.prelabel;
    this.history.clear();
    this.maskSource = null;
    if (!sameSize) {
      this.mask = new Mask(d.width, d.height);
      this.maskLayer = new MaskLayer(this.ui.maskCanvas, d.width, d.height);
      this.prelabelLayer = new MaskLayer(this.ui.prelabelCanvas, d.width, d.height);
      this.maskLayer.outline = this.prelabelLayer.outline = this.ui.el<HTMLInputElement>("outline").checked;
      this.refreshLut();
    }
    this.mask.replace(data.head ? data.head.labels : new Uint8Array(d.width * d.height));
    this.autosave = new Autosave(
      { encode: () => encodeMask(this.mask.labels, d.width, d.height), put: (png, base, secs, keep) => this.api.saveMask(id, png, base, secs, keep, this.maskSource) },
      data.head ? data.head.revision : null,
      this.config.autosaveMs ?? 2000,
      (s, detail) => this.onSaveState(id, s, detail),
      (c) => this.showConflict(c),
      (saved) => this.onSaved(id, saved),
    );
    this.ui.el<HTMLAnchorElement>("measure-report").href = `/series/${d.series}/measurements/?slice=${id}`;
    const wasMeasuring = this.measure?.visible ?? false;
    // The saved mask's measurements; before the first save, the model pre-label's (marked as such).
    this.measure = new MeasureOverlay(this.ui.measureSvg, this.ui.el("measure-status"), d.width, d.height, async () =>
      (await this.api.measurements(id, "head")) ?? (this.prelabel ? this.api.measurements(id, "prelabel") : null),
    );
    showSaveState(this.ui, "saved", data.head ? `revision ${data.head.revision}` : "empty mask");
    this.rerenderMask();
    this.raw = raw;
    this.ui.imageCanvas.width = raw.width;
    this.ui.imageCanvas.height = raw.height;
    this.state.update({ channel });
    this.state.setWindow(this.state.wlByChannel[channel] ?? presets(d.stats[channel])[0].wl);
    this.renderImage();
    if (!sameSize) this.fit();
    else this.measure.place(this.state.viewport);
    this.renderTitle();
    this.comparePrelabel(this.ui.el<HTMLInputElement>("compare-prelabel").checked);
    if (this.controlsBound) fillPresets(this);
    if (wasMeasuring) void this.measure.toggle(true);
    this.review = new ReviewPanel(this.api, id, this.ui.pinLayer, this.ui.el("review-thread"));
    this.review.place(this.state.viewport);
    void this.review.load().then(() => this.review?.place(this.state.viewport));
    this.notify("");
    this.neighbours.showProposal();
    this.restoreDraft(data.head);
    if (how === "push") window.history.pushState({ slice: id }, "", `/slices/${id}/edit/${window.location.search}`);
    else if (how === "load") window.history.replaceState({ slice: id }, "", window.location.href);
    this.strip.show(id);
    document.body.dataset.editorSlice = String(id);
    // The neighbours next, once this slice is on screen (their decoding stays out of its frame):
    // moving there then paints from memory.
    requestAnimationFrame(() => setTimeout(() => {
      const hint = (n: number | null) => this.strip.slices.find((s) => s.id === n);
      this.store.prefetch(d.previous_slice, channel, hint(d.previous_slice));
      this.store.prefetch(d.next_slice, channel, hint(d.next_slice));
    }, 0));
  }

  private renderTitle(): void {
    const s = this.slice;
    this.ui.el("title").textContent = `Subject ${s.subject} · slice ${s.index} · ${s.state.replace("_", " ")}`;
    this.ui.el("title").dataset.state = s.state;
  }

  private onSaveState(id: number, s: SaveState, detail: string): void {
    if (id !== this.slice.id) return; // a late answer about a slice already left
    showSaveState(this.ui, s, detail);
    if (s === "saved") {
      this.drafts.clear(id);
      // Measurements are of the stored mask: redraw them once a save has landed.
      void this.measure?.refresh();
    } else if (s === "error") {
      this.keepDraft();
    }
  }

  /** A save landed: the workflow state may have moved (prelabelled -> in progress). */
  private onSaved(id: number, saved: { revision: number; state: string }): void {
    this.strip.update(id, { state: saved.state, head_revision: saved.revision });
    if (id !== this.slice.id) return;
    this.maskSource = null;
    this.slice.state = saved.state;
    this.slice.head_revision = saved.revision;
    this.renderTitle();
  }

  /** Keep the unsaved mask in local storage; true when it is kept. */
  private keepDraft(): boolean {
    const png = encodeMask(this.mask.labels, this.slice.width, this.slice.height);
    return this.drafts.put({ sliceId: this.slice.id, base: this.autosave.base, png, savedAt: new Date().toISOString() });
  }

  /** A draft left by an earlier failed save comes back as unsaved changes on top of its base. */
  private restoreDraft(head: LabelMap | null): void {
    const draft = this.drafts.get(this.slice.id);
    if (!draft) return;
    try {
      const m = decodeMask(draft.png.slice().buffer);
      if (m.width !== this.slice.width || m.height !== this.slice.height) throw new Error("size differs");
      // A draft the server did store after all (the page's last keepalive save) is no draft.
      if (head && sameLabels(head.labels, m.labels)) throw new Error("already stored");
      this.mask.replace(m.labels);
    } catch {
      this.drafts.clear(this.slice.id);
      return;
    }
    this.autosave.base = draft.base;
    this.rerenderMask();
    this.autosave.changed();
    const when = draft.savedAt.slice(0, 16).replace("T", " ");
    this.notify(`Restored your unsaved mask of slice ${this.slice.index} from a local draft (${when}); it is being saved.`, "info");
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
    const raw = await this.store.image(this.slice.id, channel);
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
    const labels = theirs ? decodeMask(theirs.png) : null;
    if (labels && (labels.width !== this.slice.width || labels.height !== this.slice.height)) throw new Error("their mask has another size");
    this.mask.replace(labels ? labels.labels : new Uint8Array(this.mask.labels.length));
    this.history.clear();
    this.rerenderMask();
    this.autosave.reset(current);
  }

  /** Save first, then open another slice in place. */
  async goTo(sliceId: number | null): Promise<void> {
    await this.open(sliceId, "push");
  }

  /** The next slice of my queue (claimed through the API), or a message when the queue is empty. */
  async nextAssigned(): Promise<boolean> {
    if (!(await this.leave())) return false;
    const { slice } = await this.api.next();
    if (slice === null || slice === undefined) {
      this.notify("No more slices to annotate.", "info");
      return false;
    }
    if (slice === this.slice.id) return false;
    return this.open(slice, "push");
  }

  /** Submit for review: the mask is saved first; then a confirmation and the next slice of the queue. */
  async submit(): Promise<void> {
    await this.autosave.flush();
    if (this.autosave.dirty) throw new Error("save the mask before submitting");
    const left = this.slice;
    const { state } = await this.api.submit(left.id);
    left.state = state;
    this.renderTitle();
    this.strip.update(left.id, { state });
    const moved = await this.nextAssigned().catch(() => false);
    this.notify(`Slice ${left.index} submitted for review.` + (moved ? ` Now on slice ${this.slice.index}.` : " No more slices in your queue."), "info");
  }
}

function sameLabels(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
