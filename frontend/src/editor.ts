/**
 * The editor controller: owns the document (mask + history), the view state and the save state,
 * and turns user actions into model changes + dirty-rectangle renders. Input wiring lives in
 * input.ts, DOM construction in ui.ts.
 */
import type { LabelClassInfo, ProjectDetail, SliceDetail } from "./api";
import { Api } from "./api";
import { Autosave, type ConflictInfo } from "./autosave";
import type { ImagePoint, Rect, Viewport } from "./geometry";
import { fitToWindow } from "./geometry";
import { History } from "./history";
import type { ChangeRecorder, Diff, PaintRule } from "./mask";
import { MeasureOverlay } from "./measure";
import { Mask } from "./mask";
import { decodeGrey16, decodeMask, encodeMask } from "./png";
import { colourLut, drawInteractive, MaskLayer, placeLayers } from "./renderer";
import type { ToolName } from "./tools";
import { floodFill, oneShot, paintPolygon, paintSegment, paintValue } from "./tools";
import type { Ui } from "./ui";
import { renderClasses, showSaveState } from "./ui";
import type { RawImage, WindowLevel } from "./window";
import { presets, renderGrey } from "./window";

export interface EditorConfig {
  sliceId: number;
  apiBase: string;
  csrfToken: string;
  autosaveMs?: number;
}

export type Mode = ToolName | "wl";

export class Editor {
  readonly api: Api;
  slice!: SliceDetail;
  project!: ProjectDetail;
  mask!: Mask;
  readonly history = new History();
  autosave!: Autosave;
  maskLayer!: MaskLayer;
  prelabelLayer!: MaskLayer;
  prelabel: { labels: Uint8Array; revision: number } | null = null;
  measure: MeasureOverlay | null = null;

  mode: Mode = "brush";
  activeClass = 1;
  brushSize = 10;
  onlyBackground = false;
  locked = new Set<number>();
  visible: boolean[] = [];
  viewport: Viewport = { zoom: 1, offsetX: 0, offsetY: 0 };
  channel = "";
  wl: WindowLevel = { window: 1, level: 0 };
  raw: RawImage | null = null;
  private rawCache = new Map<string, RawImage>();
  cursor: ImagePoint | null = null;
  lasso: ImagePoint[] = [];
  stroke: { rec: ChangeRecorder; last: ImagePoint; value: number } | null = null;
  private cursorCtx: CanvasRenderingContext2D;

  constructor(readonly ui: Ui, readonly config: EditorConfig) {
    this.api = new Api(config.apiBase, config.csrfToken);
    this.cursorCtx = ui.cursorCanvas.getContext("2d")!;
  }

  get rule(): PaintRule {
    return { onlyBackground: this.onlyBackground, locked: this.locked };
  }

  get classes(): LabelClassInfo[] {
    return this.project.classes;
  }

  async load(): Promise<void> {
    const id = this.config.sliceId;
    this.slice = await this.api.slice(id);
    this.project = await this.api.project(this.slice.project);
    const { width, height } = this.slice;
    this.mask = new Mask(width, height);
    this.maskLayer = new MaskLayer(this.ui.maskCanvas, width, height);
    this.prelabelLayer = new MaskLayer(this.ui.prelabelCanvas, width, height);
    this.visible = this.classes.map(() => true);
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
  }

  private decodeSized(png: ArrayBuffer): Uint8Array {
    const m = decodeMask(png);
    if (m.width !== this.slice.width || m.height !== this.slice.height) {
      throw new Error(`mask is ${m.width}x${m.height}, slice is ${this.slice.width}x${this.slice.height}`);
    }
    return m.labels;
  }

  // --- view -------------------------------------------------------------------------------------
  async setChannel(channel: string): Promise<void> {
    let raw = this.rawCache.get(channel);
    if (!raw) {
      const got = await this.api.image16(this.slice.id, channel);
      raw = decodeGrey16(got.png, got.offset, got.scale);
      this.rawCache.set(channel, raw);
    }
    this.channel = channel;
    this.raw = raw;
    this.ui.imageCanvas.width = raw.width;
    this.ui.imageCanvas.height = raw.height;
    this.setWindow(presets(this.slice.stats[channel])[0].wl);
  }

  setWindow(wl: WindowLevel): void {
    if (!this.raw) return;
    this.wl = wl;
    const ctx = this.ui.imageCanvas.getContext("2d")!;
    const img = ctx.createImageData(this.raw.width, this.raw.height);
    renderGrey(this.raw, wl, new Uint32Array(img.data.buffer));
    ctx.putImageData(img, 0, 0);
    this.ui.el("wl-readout").textContent = `W ${wl.window.toFixed(0)} / L ${wl.level.toFixed(0)}`;
  }

  setViewport(v: Viewport): void {
    this.viewport = v;
    placeLayers([this.ui.imageCanvas, this.ui.prelabelCanvas, this.ui.maskCanvas], v);
    this.measure?.place(v);
    this.drawCursor();
  }

  fit(): void {
    const r = this.ui.stage.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    this.ui.cursorCanvas.width = Math.round(r.width * dpr);
    this.ui.cursorCanvas.height = Math.round(r.height * dpr);
    this.setViewport(fitToWindow(this.slice.width, this.slice.height, r.width, r.height));
  }

  drawCursor(): void {
    const showBrush = this.mode === "brush" || this.mode === "eraser";
    drawInteractive(this.cursorCtx, this.viewport, this.cursor, showBrush ? this.brushSize : null, this.lasso);
  }

  refreshLut(): void {
    const colours = this.classes.map((c) => c.colour);
    this.maskLayer.lut = colourLut(colours, this.visible);
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
    renderClasses(this.ui, this.classes, this.activeClass, this.visible, this.locked, {
      select: (i) => this.selectClass(i),
      toggleVisible: (i) => {
        this.visible[i] = !this.visible[i];
        this.refreshLut();
        this.rerenderMask();
        this.renderClassList();
      },
      toggleLock: (i) => {
        if (this.locked.has(i)) this.locked.delete(i);
        else this.locked.add(i);
        this.renderClassList();
      },
    });
  }

  selectClass(i: number): void {
    if (i < 0 || i >= this.classes.length) return;
    this.activeClass = i;
    if (this.mode === "eraser" || this.mode === "wl") this.setMode("brush");
    this.renderClassList();
  }

  setMode(m: Mode): void {
    this.mode = m;
    this.ui.root.querySelectorAll<HTMLElement>("[data-tool]").forEach((b) => b.classList.toggle("active", b.dataset.tool === m));
    this.drawCursor();
  }

  /** Show or hide the measurement overlay (button and M key). */
  async toggleMeasurements(): Promise<void> {
    if (!this.measure) return;
    await this.measure.toggle();
    this.ui.el("toggle-measure").setAttribute("aria-pressed", String(this.measure.visible));
    this.ui.el("toggle-measure").classList.toggle("active", this.measure.visible);
  }

  // --- mask actions -----------------------------------------------------------------------------
  beginStroke(p: ImagePoint): void {
    const value = paintValue(this.mode as ToolName, this.activeClass);
    this.stroke = { rec: this.mask.begin(), last: p, value };
    this.maskLayer.render(this.mask.labels, paintSegment(this.mask, this.stroke.rec, p, p, this.brushSize, value, this.rule));
  }

  extendStroke(p: ImagePoint): void {
    const s = this.stroke;
    if (!s) return;
    const dirty = paintSegment(this.mask, s.rec, s.last, p, this.brushSize, s.value, this.rule);
    s.last = p;
    if (dirty) this.maskLayer.render(this.mask.labels, dirty);
  }

  endStroke(): void {
    const s = this.stroke;
    this.stroke = null;
    if (s) this.commit(s.rec.finish());
  }

  fillAt(p: ImagePoint): void {
    const { dirty, diff } = oneShot(this.mask, (rec) => floodFill(this.mask, rec, p, this.activeClass, this.rule));
    this.apply(dirty, diff);
  }

  fillLasso(): void {
    const poly = this.lasso;
    this.lasso = [];
    const { dirty, diff } = oneShot(this.mask, (rec) => paintPolygon(this.mask, rec, poly, this.activeClass, this.rule));
    this.apply(dirty, diff);
    this.drawCursor();
  }

  private apply(dirty: Rect | null, diff: Diff | null): void {
    if (dirty) this.maskLayer.render(this.mask.labels, dirty);
    this.commit(diff);
  }

  /** A finished change enters history and schedules a save; an empty one does neither. */
  private commit(diff: Diff | null): void {
    this.autosave.activity();
    if (!diff) return;
    this.history.push(diff);
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
