/**
 * The slice strip: every slice of the series the user may see, in index order, showing its
 * workflow state, whether a model pre-label exists and its active-learning rank; click to open.
 */
import type { SliceSummary } from "./api";

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
