/**
 * The latest rejection of the slice, inside the editor: its comment and numbered pins in the
 * comments box, and pin markers over the image placed through the editor's image -> screen
 * transform (so they stay on their pixel when the view is zoomed or panned).
 */
import type { Viewport } from "../shared/geometry";
import { pinLabel, pinOnScreen, rejectionHead, type ReviewDecision } from "../shared/review";
import type { Api } from "./api";

export class ReviewPanel {
  review: ReviewDecision | null = null;
  state = "";
  resolved = new Set<number>();

  constructor(
    private readonly api: Api,
    private readonly sliceId: number,
    /** A stage-sized layer above the image that holds the markers. */
    private readonly layer: HTMLElement,
    private readonly box: HTMLElement | null,
  ) {}

  /** Fetch the slice's decisions; a reviewer-less slice (or a refused request) shows nothing. */
  async load(): Promise<void> {
    const body = await this.api.reviews(this.sliceId).catch(() => null);
    if (!body) return;
    const latest = body.results[0];
    this.review = latest && latest.decision === "reject" ? latest : null;
    this.state = body.state;
    this.loadResolved();
    this.render();
  }

  private render(): void {
    if (!this.box) return;
    const review = this.review;
    this.box.replaceChildren();
    this.box.hidden = !review;
    if (!review) return;
    const head = document.createElement("p");
    head.className = "review-comments-head";
    head.textContent = rejectionHead(review, this.state);
    const list = document.createElement("ol");
    list.append(...review.pins.map((pin, i) => {
      const li = document.createElement("li");
      const tick = document.createElement("input");
      tick.type = "checkbox";
      tick.className = "pin-resolved";
      tick.title = "Resolved";
      tick.checked = this.resolved.has(i);
      li.classList.toggle("resolved", tick.checked);
      tick.addEventListener("change", () => {
        if (tick.checked) this.resolved.add(i);
        else this.resolved.delete(i);
        li.classList.toggle("resolved", tick.checked);
        this.layer.children[i]?.classList.toggle("resolved", tick.checked);
        this.saveResolved();
      });
      li.append(tick, ` ${pinLabel(pin)} ${pin.text}`);
      return li;
    }));
    this.box.append(head, list);
  }

  /** Which pins of this decision the annotator ticked as resolved (kept in this browser). */
  private get resolvedKey(): string {
    return `spinelab:resolved:${this.sliceId}:${this.review?.id ?? this.review?.created_at ?? ""}`;
  }

  private loadResolved(): void {
    try {
      this.resolved = new Set(JSON.parse(localStorage.getItem(this.resolvedKey) ?? "[]") as number[]);
    } catch {
      this.resolved = new Set();
    }
  }

  private saveResolved(): void {
    try {
      localStorage.setItem(this.resolvedKey, JSON.stringify([...this.resolved]));
    } catch {
      // storage disabled: the ticks last as long as the page
    }
  }

  /** (Re)place the markers for the current view. */
  place(v: Viewport): void {
    const pins = this.review?.pins ?? [];
    while (this.layer.children.length > pins.length) this.layer.lastElementChild!.remove();
    pins.forEach((pin, i) => {
      let marker = this.layer.children[i] as HTMLElement | undefined;
      if (!marker) {
        marker = document.createElement("div");
        marker.className = "review-pin-marker";
        this.layer.append(marker);
      }
      marker.classList.toggle("resolved", this.resolved.has(i));
      marker.title = pin.text;
      marker.textContent = String(i + 1);
      const c = pinOnScreen(pin, v);
      marker.style.left = `${c.x - 9}px`;
      marker.style.top = `${c.y - 9}px`;
    });
  }
}
