/**
 * Moving between the slices of a series in place: the slice left is saved first (or kept, said and
 * drafted when it cannot be), the next one is shown from the prefetch cache keeping the view, the
 * URL and history follow, the title follows the workflow state, and submitting moves on.
 */
import { Autosave, type SaveState } from "./autosave";
import type { Editor } from "./editor";
import { fillPresets } from "./input";
import { Mask } from "./mask";
import { MeasureOverlay } from "./measure";
import { decodeMask, encodeMask } from "./png";
import { MaskLayer } from "./renderer";
import { ReviewPanel } from "./review_panel";
import type { SliceDetail, SliceSummary } from "./api";
import type { LabelMap, SliceData } from "./store";

/** States a slice has before any review decision: their thread is empty, so it is not asked for. */
const NEVER_REVIEWED = new Set(["unlabelled", "prelabelled"]);

/** How long a slice shown from the strip's row stays open before its detail is checked (ms). */
export const CHECK_AFTER_MS = 400;
import { showSaveState } from "./ui";

export class SliceNavigation {
  private navigating = false;
  private pendingTarget: { id: number; how: "push" | "pop" } | null = null;

  constructor(private readonly ed: Editor) {}

  /**
   * Open another slice in place: the mask being left is saved first; when that save fails the
   * editor stays, says why and keeps the mask (on screen and as a local draft). `how`: "push" adds
   * a browser history entry, "pop" follows the back/forward buttons (the URL is already there).
   */
  async open(id: number | null, how: "push" | "pop" = "push"): Promise<boolean> {
    if (id === null || id === this.ed.slice?.id) return false;
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
        this.ed.store.image(id, this.ed.state.channel, "high").catch(() => undefined);
        data = await this.ed.store.doc(id, this.hint(id), "high");
      } catch (e) {
        this.ed.notify(`Could not open slice ${id}: ${e instanceof Error ? e.message : e}`, "error");
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
    if (!this.ed.slice) return true;
    if (this.ed.gesture) this.ed.endGesture();
    await this.ed.autosave.flush();
    if (this.ed.autosave.dirty) {
      const kept = this.keepDraft();
      const why = this.ed.autosave.state === "conflict" ? "conflict: choose a version first" : this.ed.autosave.error || "save failed";
      this.ed.notify(
        `Slice ${this.ed.slice.index} is not saved (${why}). It stays open${kept ? " and is kept as a local draft" : ""}; press Save to retry.`,
        "error",
      );
      return false;
    }
    this.ed.store.forget(this.ed.slice.id);
    return true;
  }

  /** Put a slice's data on screen, keeping the view (zoom, pan, channel, windows). */
  async show(data: SliceData, how: "load" | "push" | "pop"): Promise<void> {
    const d = data.detail;
    const id = d.id;
    const sameSize = this.ed.slice && this.ed.slice.width === d.width && this.ed.slice.height === d.height;
    const channel = d.channels.includes(this.ed.state.channel) ? this.ed.state.channel : d.channels[0];
    // The image first: once it is here everything else is synchronous (one paint, no flicker).
    const raw = await this.ed.store.image(id, channel);
    this.ed.slice = { ...d };
    this.ed.prelabel = data.prelabel;
    this.ed.history.clear();
    this.ed.maskSource = null;
    if (!sameSize) {
      this.ed.mask = new Mask(d.width, d.height);
      this.ed.maskLayer = new MaskLayer(this.ed.ui.maskCanvas, d.width, d.height, this.ed.ui.maskCanvas2);
      this.ed.prelabelLayer = new MaskLayer(this.ed.ui.prelabelCanvas, d.width, d.height);
      this.ed.maskLayer.outline = this.ed.prelabelLayer.outline = this.ed.ui.el<HTMLInputElement>("outline").checked;
      this.ed.refreshLut();
    }
    this.ed.mask.replace(data.head ? data.head.labels : new Uint8Array(d.width * d.height));
    this.ed.autosave = new Autosave(
      { encode: () => encodeMask(this.ed.mask.labels, d.width, d.height), put: (png, base, secs, keep) => this.ed.api.saveMask(id, png, base, secs, keep, this.ed.maskSource) },
      data.head ? data.head.revision : null,
      this.ed.config.autosaveMs ?? 2000,
      (s, detail) => this.onSaveState(id, s, detail),
      (c) => this.ed.showConflict(c),
      (saved) => this.onSaved(id, saved),
    );
    this.ed.ui.el<HTMLAnchorElement>("measure-report").href = `/series/${d.series}/measurements/?slice=${id}`;
    const wasMeasuring = this.ed.measure?.visible ?? false;
    // The saved mask's measurements; before the first save, the model pre-label's (marked as such).
    this.ed.measure = new MeasureOverlay(this.ed.ui.measureSvg, this.ed.ui.el("measure-status"), d.width, d.height, async () =>
      (await this.ed.api.measurements(id, "head")) ?? (this.ed.prelabel ? this.ed.api.measurements(id, "prelabel") : null),
    );
    showSaveState(this.ed.ui, "saved", data.head ? `revision ${data.head.revision}` : "empty mask");
    this.ed.rerenderMask();
    this.ed.showImage(raw, channel);
    if (!sameSize) this.ed.fit();
    else this.ed.measure.place(this.ed.state.viewport);
    this.renderTitle();
    this.ed.comparePrelabel(this.ed.ui.el<HTMLInputElement>("compare-prelabel").checked);
    if (this.ed.controlsBound) fillPresets(this.ed);
    this.ed.side.available();
    if (wasMeasuring) void this.ed.measure.toggle(true);
    this.ed.review = new ReviewPanel(this.ed.api, this.ed.ticks, id, this.ed.ui.pinLayer, this.ed.ui.el("review-thread"));
    this.ed.review.place(this.ed.side.viewports());
    this.ed.notify("");
    this.ed.neighbours.showProposal();
    this.restoreDraft(data.head);
    if (how === "push") window.history.pushState({ slice: id }, "", `/slices/${id}/edit/${window.location.search}`);
    else if (how === "load") window.history.replaceState({ slice: id }, "", window.location.href);
    this.ed.strip.show(id);
    document.body.dataset.editorSlice = String(id);
    // The neighbours next, once this slice is on screen (their decoding stays out of its frame):
    // moving there then paints from memory.
    const review = this.ed.review;
    requestAnimationFrame(() => setTimeout(() => {
      // The comments come after the first paint too; a slice never submitted has none to show.
      if (!NEVER_REVIEWED.has(d.state)) void review.load();
      this.ed.store.prefetch(d.previous_slice, channel, this.hint(d.previous_slice));
      this.ed.store.prefetch(d.next_slice, channel, this.hint(d.next_slice));
    }, 0));
    if (data.fromRow) this.checkLater(id, data);
  }

  /** What the strip knows of a slice: its whole detail when its row carries it, else which masks it has. */
  private hint(id: number | null): SliceDetail | SliceSummary | undefined {
    return this.ed.strip.detailOf(id, this.ed.project) ?? this.ed.strip.slices.find((s) => s.id === id);
  }

  /**
   * A slice shown from the strip's row is checked against the server once the user stays on it
   * (its detail after the first paint, out of the way of a quick run through the slices): the
   * title and strip follow a changed state, and masks someone stored since the strip was listed
   * are loaded when nothing was changed here yet (else the next save meets the conflict dialog).
   */
  private checkLater(id: number, shown: SliceData): void {
    setTimeout(() => {
      if (this.ed.slice?.id !== id || this.navigating) return;
      void this.ed.api.slice(id, "low").then(async (d) => {
        if (this.ed.slice?.id !== id) return;
        this.ed.strip.update(id, { state: d.state, head_revision: d.head_revision, prelabel_revision: d.prelabel_revision });
        // A thread not asked for (the strip said never reviewed) is asked for when that has changed.
        if (NEVER_REVIEWED.has(shown.detail.state) && !NEVER_REVIEWED.has(d.state)) void this.ed.review?.load();
        Object.assign(this.ed.slice, { state: d.state, assignment: d.assignment, previous_slice: d.previous_slice, next_slice: d.next_slice });
        this.renderTitle();
        // The mask on screen is built on autosave.base (the head loaded, or the last revision saved here).
        const stale = d.head_revision !== this.ed.autosave.base || d.prelabel_revision !== (shown.prelabel?.revision ?? null);
        if (!stale || this.ed.autosave.dirty || this.ed.history.canUndo || this.navigating) return;
        this.ed.store.forget(id);
        await this.show(await this.ed.store.doc(id), "pop");
      }).catch(() => undefined); // a failed check changes nothing on screen
    }, CHECK_AFTER_MS);
  }

  private renderTitle(): void {
    const s = this.ed.slice;
    this.ed.ui.el("title").textContent = `Subject ${s.subject} · slice ${s.index} · ${s.state.replace("_", " ")}`;
    this.ed.ui.el("title").dataset.state = s.state;
  }

  private onSaveState(id: number, s: SaveState, detail: string): void {
    if (id !== this.ed.slice.id) return; // a late answer about a slice already left
    showSaveState(this.ed.ui, s, detail);
    if (s === "saved") {
      this.ed.drafts.clear(id);
      // Measurements are of the stored mask: redraw them once a save has landed.
      void this.ed.measure?.refresh();
    } else if (s === "error") {
      this.keepDraft();
    }
  }

  /** A save landed: the workflow state may have moved (prelabelled -> in progress). */
  private onSaved(id: number, saved: { revision: number; state: string }): void {
    this.ed.strip.update(id, { state: saved.state, head_revision: saved.revision });
    if (id !== this.ed.slice.id) return;
    this.ed.maskSource = null;
    this.ed.slice.state = saved.state;
    this.ed.slice.head_revision = saved.revision;
    this.renderTitle();
  }

  /** Keep the unsaved mask in local storage; true when it is kept. */
  private keepDraft(): boolean {
    const png = encodeMask(this.ed.mask.labels, this.ed.slice.width, this.ed.slice.height);
    return this.ed.drafts.put({ sliceId: this.ed.slice.id, base: this.ed.autosave.base, png, savedAt: new Date().toISOString() });
  }

  /** A draft left by an earlier failed save comes back as unsaved changes on top of its base. */
  private restoreDraft(head: LabelMap | null): void {
    const draft = this.ed.drafts.get(this.ed.slice.id);
    if (!draft) return;
    try {
      const m = decodeMask(draft.png.slice().buffer);
      if (m.width !== this.ed.slice.width || m.height !== this.ed.slice.height) throw new Error("size differs");
      // A draft the server did store after all (the page's last keepalive save) is no draft.
      if (head && sameLabels(head.labels, m.labels)) throw new Error("already stored");
      this.ed.mask.replace(m.labels);
    } catch {
      this.ed.drafts.clear(this.ed.slice.id);
      return;
    }
    this.ed.autosave.base = draft.base;
    this.ed.rerenderMask();
    this.ed.autosave.changed();
    const when = draft.savedAt.slice(0, 16).replace("T", " ");
    this.ed.notify(`Restored your unsaved mask of slice ${this.ed.slice.index} from a local draft (${when}); it is being saved.`, "info");
  }

  /** The next slice of my queue (claimed through the API), or a message when the queue is empty. */
  async nextAssigned(): Promise<boolean> {
    if (!(await this.leave())) return false;
    const { slice } = await this.ed.api.next();
    if (slice === null || slice === undefined) {
      this.ed.notify("No more slices to annotate.", "info");
      return false;
    }
    if (slice === this.ed.slice.id) return false;
    return this.open(slice, "push");
  }

  /** Submit for review: the mask is saved first; then a confirmation and the next slice of the queue. */
  async submit(): Promise<void> {
    await this.ed.autosave.flush();
    if (this.ed.autosave.dirty) throw new Error("save the mask before submitting");
    const left = this.ed.slice;
    const { state } = await this.ed.api.submit(left.id);
    left.state = state;
    this.renderTitle();
    this.ed.strip.update(left.id, { state });
    const moved = await this.nextAssigned().catch(() => false);
    this.ed.notify(`Slice ${left.index} submitted for review.` + (moved ? ` Now on slice ${this.ed.slice.index}.` : " No more slices in your queue."), "info");
  }
}

function sameLabels(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
