/**
 * The slice strip: every slice of the series the user may see, in index order, showing its
 * workflow state, whether a model pre-label exists and its active-learning rank; click to open.
 */
import type { SliceDetail, SliceSummary } from "./api";

/** A slice's channels with the project's channels first, in their order (as the slice detail lists them). */
export function orderChannels(channels: readonly string[], order: readonly string[]): string[] {
  const rank = (c: string) => (order.includes(c) ? order.indexOf(c) : order.length);
  return [...channels].sort((a, b) => rank(a) - rank(b));
}

/**
 * The detail the editor shows of a slice, from its row and its neighbours in the index-ordered rows
 * (no request); undefined when the slice is not there or its row lacks channels, stats and size.
 */
export function detailFromRows(list: readonly SliceSummary[], id: number | null, project: { id: number; channels?: string[] }): SliceDetail | undefined {
  const i = list.findIndex((s) => s.id === id);
  const s = list[i];
  if (!s || !s.channels || !s.stats || s.height === undefined || s.width === undefined) return undefined;
  return {
    id: s.id,
    project: s.project ?? project.id,
    series: s.series,
    subject: s.subject ?? "",
    index: s.index,
    height: s.height,
    width: s.width,
    channels: orderChannels(s.channels, project.channels ?? []),
    stats: s.stats,
    state: s.state,
    head_revision: s.head_revision,
    prelabel_revision: s.prelabel_revision,
    previous_slice: list[i - 1]?.id ?? null,
    next_slice: list[i + 1]?.id ?? null,
  };
}

/** The tooltip and short label of one slice's cell. */
export function cellText(s: SliceSummary): { label: string; title: string } {
  const parts = [`slice ${s.index}`, s.state.replace("_", " ")];
  if (s.prelabel_revision !== null) parts.push("pre-label");
  if (s.rank !== null) parts.push(`rank ${s.rank}`);
  return { label: String(s.index), title: parts.join(" · ") };
}

export class SliceStrip {
  private list: SliceSummary[] = [];
  private current: number | null = null;

  constructor(private readonly root: HTMLElement, private readonly onPick: (id: number) => void) {}

  get slices(): readonly SliceSummary[] {
    return this.list;
  }

  set(slices: SliceSummary[]): void {
    this.list = [...slices].sort((a, b) => a.index - b.index);
    this.render();
  }

  /** The detail of a slice from the strip's rows (`detailFromRows`); undefined when they lack it. */
  detailOf(id: number | null, project: { id: number; channels?: string[] }): SliceDetail | undefined {
    return detailFromRows(this.list, id, project);
  }

  /** Mark the open slice (and scroll it into view). */
  show(id: number): void {
    this.current = id;
    for (const b of this.root.querySelectorAll<HTMLElement>("[data-slice]")) b.classList.toggle("current", Number(b.dataset.slice) === id);
    this.root.querySelector<HTMLElement>(".current")?.scrollIntoView?.({ block: "nearest", inline: "nearest" });
  }

  /** A slice's state or revisions changed (saved, submitted). */
  update(id: number, patch: Partial<SliceSummary>): void {
    const s = this.list.find((x) => x.id === id);
    if (!s) return;
    Object.assign(s, patch);
    this.render();
  }

  private render(): void {
    this.root.replaceChildren(...this.list.map((s) => {
      const b = document.createElement("button");
      const { label, title } = cellText(s);
      b.type = "button";
      b.className = "ed-cell" + (s.id === this.current ? " current" : "");
      b.dataset.slice = String(s.id);
      b.dataset.state = s.state;
      if (s.prelabel_revision !== null) b.dataset.prelabel = "1";
      if (s.rank !== null) b.dataset.rank = String(s.rank);
      b.textContent = label;
      b.title = title;
      b.addEventListener("click", () => this.onPick(s.id));
      return b;
    }));
  }
}
