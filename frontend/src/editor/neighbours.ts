/**
 * Reusing the labelled neighbours in the editor: copy the previous / next labelled slice's mask
 * (or its active class), and interpolate between the labelled slices on either side as proposals
 * the annotator accepts slice by slice. Each application is one undoable change, saved with
 * meta.source "copy" / "interpolate"; a missing neighbour or mask is said in the editor.
 */
import type { Editor } from "./editor";
import { copyLabels, interpolateLabels, nearestLabelled } from "./reuse";
import type { SliceSummary } from "./api";

export type MaskSource = "copy" | "interpolate";

export class NeighbourActions {
  /** Interpolated proposals waiting for their slice to be accepted: slice id -> labels. */
  readonly proposals = new Map<number, { labels: Uint8Array; from: [number, number] }>();

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
   * Interpolate every slice between the nearest labelled slices on both sides; the open slice's
   * proposal is applied now, the others wait to be accepted on their slice.
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
    this.acceptProposal();
    const filled = between.length === 1 ? `slice ${between[0].index}` : `slices ${before.index + 1}–${after.index - 1}`;
    ed.notify(
      `Interpolated ${filled} from slices ${before.index} and ${after.index}: ` +
        `this slice's proposal is applied (Ctrl+Z undoes); accept the others slice by slice.`,
      "info",
    );
    return true;
  }

  /** Apply the open slice's waiting proposal (if any). */
  acceptProposal(): boolean {
    const p = this.proposals.get(this.ed.slice.id);
    if (!p) return false;
    this.proposals.delete(this.ed.slice.id);
    this.ed.applyLabels(p.labels, "interpolate");
    this.showProposal();
    return true;
  }

  /** The accept button shows when the open slice has a proposal waiting. */
  showProposal(): void {
    const p = this.proposals.get(this.ed.slice.id);
    const button = this.ed.ui.el("accept-proposal");
    button.hidden = !p;
    if (p) button.title = `Shape-based interpolation between slices ${p.from[0]} and ${p.from[1]}`;
  }
}
