/**
 * Reusing the labelled neighbours in the editor: copy the previous / next labelled slice's mask
 * (or its active class), and interpolate between the labelled slices on either side as proposals,
 * previewed hatched over the image, that the annotator accepts or discards slice by slice. Each
 * application is one undoable change, saved with meta.source "copy" / "interpolate"; a missing
 * neighbour or mask is said in the editor.
 */
import type { Editor } from "./editor";
import { MaskLayer } from "./renderer";
import { copyLabels, interpolateLabels, nearestLabelled } from "./reuse";
import type { SliceSummary } from "./api";

export type MaskSource = "copy" | "interpolate";

export class NeighbourActions {
  /** Interpolated proposals waiting for their slice to be accepted: slice id -> labels. */
  readonly proposals = new Map<number, { labels: Uint8Array; from: [number, number] }>();
  private layer: MaskLayer | null = null;

  constructor(private readonly ed: Editor) {}

  private neighbour(direction: -1 | 1): SliceSummary | null {
    return nearestLabelled(this.ed.strip.slices, this.ed.slice.index, direction, (s) => s.head_revision !== null);
  }

  private side = (direction: -1 | 1): string => (direction < 0 ? "before" : "after");

  /** Copy the nearest labelled slice's mask on one side (only the active class when asked). */
  async copy(direction: -1 | 1, classOnly: boolean): Promise<boolean> {
    const ed = this.ed;
    const from = this.neighbour(direction);
    if (!from) {
      ed.notify(`No labelled slice ${this.side(direction)} slice ${ed.slice.index} to copy from.`, "error");
      return false;
    }
    const doc = await ed.store.doc(from.id);
    if (!doc.head) {
      ed.notify(`Slice ${from.index} has no mask to copy.`, "error");
      return false;
    }
    const cls = classOnly ? ed.state.activeClass : null;
    const changed = ed.applyLabels(copyLabels(doc.head.labels, ed.mask.labels, cls), "copy");
    const what = cls === null ? "mask" : `${ed.classes[cls]?.name ?? `class ${cls}`}`;
    ed.notify(changed ? `Copied slice ${from.index}'s ${what} (Ctrl+Z undoes).` : `Slice ${from.index}'s ${what} is already here: nothing changed.`, "info");
    return changed;
  }

  /**
   * Interpolate every slice between the nearest labelled slices on both sides: each slice between
   * gets a proposal, shown hatched over its image (not yet the mask) until the annotator accepts it
   * (one undoable change, saved as "interpolate") or discards it, slice by slice.
   */
  async interpolate(): Promise<boolean> {
    const ed = this.ed;
    const before = this.neighbour(-1), after = this.neighbour(1);
    if (!before || !after) {
      const missing = [!before && "before", !after && "after"].filter(Boolean).join(" or ");
      ed.notify(`Interpolation needs a labelled slice on both sides: none ${missing} slice ${ed.slice.index}.`, "error");
      return false;
    }
    const [a, b] = await Promise.all([ed.store.doc(before.id), ed.store.doc(after.id)]);
    if (!a.head || !b.head) {
      ed.notify(`Slice ${(a.head ? after : before).index} has no mask to interpolate from.`, "error");
      return false;
    }
    const between = ed.strip.slices.filter((s) => s.index > before.index && s.index < after.index);
    const ts = between.map((s) => (s.index - before.index) / (after.index - before.index));
    const maps = interpolateLabels(a.head.labels, b.head.labels, ed.slice.width, ed.slice.height, ts);
    between.forEach((s, k) => this.proposals.set(s.id, { labels: maps[k], from: [before.index, after.index] }));
    this.showProposal();
    const filled = between.length === 1 ? `slice ${between[0].index}` : `slices ${before.index + 1}–${after.index - 1}`;
    ed.notify(
      `Interpolated ${filled} from slices ${before.index} and ${after.index}: ` +
        `the proposal is shown hatched; Accept applies it to this slice (Ctrl+Z undoes), Discard drops it. Each slice between has its own.`,
      "info",
    );
    return true;
  }

  /** Apply the open slice's waiting proposal (if any) as one undoable change. */
  acceptProposal(): boolean {
    const p = this.proposals.get(this.ed.slice.id);
    if (!p) return false;
    this.proposals.delete(this.ed.slice.id);
    const changed = this.ed.applyLabels(p.labels, "interpolate");
    this.showProposal();
    this.ed.notify(
      (changed ? `Applied the interpolated proposal to slice ${this.ed.slice.index} (Ctrl+Z undoes).` : "The proposal is the mask already: nothing changed.") +
        this.waiting(),
      "info",
    );
    return true;
  }

  /** Drop the open slice's proposal; the mask stays as it is. */
  discardProposal(): boolean {
    if (!this.proposals.delete(this.ed.slice.id)) return false;
    this.showProposal();
    this.ed.notify(`Discarded the interpolated proposal of slice ${this.ed.slice.index}.` + this.waiting(), "info");
    return true;
  }

  private waiting(): string {
    const indices = this.ed.strip.slices.filter((s) => this.proposals.has(s.id)).map((s) => s.index);
    return indices.length ? ` Proposals wait on slice${indices.length > 1 ? "s" : ""} ${indices.join(", ")}.` : "";
  }

  /** The accept / discard buttons and the hatched overlay show when the open slice has a proposal. */
  showProposal(): void {
    const p = this.proposals.get(this.ed.slice.id);
    const actions = this.ed.ui.el("proposal-actions");
    actions.hidden = !p;
    if (p) actions.title = `Shape-based interpolation between slices ${p.from[0]} and ${p.from[1]}`;
    this.renderProposal();
  }

  /** Draw the open slice's proposal hatched in class colours, on both panes (hidden when none). */
  renderProposal(): void {
    const ui = this.ed.ui;
    const p = this.ed.slice ? this.proposals.get(this.ed.slice.id) : undefined;
    ui.proposalCanvas.hidden = ui.proposalCanvas2.hidden = !p;
    document.body.dataset.proposal = p ? "shown" : "";
    if (!p || !this.ed.maskLayer) return;
    const { width, height } = this.ed.slice;
    // One layer per slice size: resizing a canvas reallocates it.
    if (this.layer?.width !== width || this.layer.height !== height) this.layer = new MaskLayer(ui.proposalCanvas, width, height, ui.proposalCanvas2);
    const layer = this.layer;
    layer.lut = this.ed.maskLayer.lut;
    layer.hatch = true;
    layer.render(p.labels);
  }
}
