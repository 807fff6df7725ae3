/**
 * The latest rejection of the slice, inside the editor: its comment and numbered pins in the
 * comments box, each with a "resolved" tick stored on the server (shared/review PinTicks; a tick
 * the server did not take is kept in this browser, said, and sent again), and pin markers over the
 * image placed through the editor's image -> screen transform, in each pane shown (side by side:
 * both), so they stay on their pixel when the view is zoomed or panned.
 */
import type { Viewport } from "../shared/geometry";
import { pinItem, pinLabel, pinOnScreen, rejectionHead, tickFailure, type Pin, type PinTicks, type ReviewDecision } from "../shared/review";
import type { Api } from "./api";

export class ReviewPanel {
  review: ReviewDecision | null = null;
  state = "";
  private views: Viewport[] = [];
  private status: HTMLElement | null = null;
  private message: { text: string; kind: "info" | "error" } = { text: "", kind: "info" };

  constructor(
    private readonly api: Api,
    private readonly ticks: PinTicks,
    private readonly sliceId: number,
    /** A stage-sized layer above the image that holds the markers. */
    private readonly layer: HTMLElement,
    private readonly box: HTMLElement | null,
  ) {
    // The slice left's thread goes at once; this slice's comes with `load`.
    if (box) {
      box.replaceChildren();
      box.hidden = true;
    }
  }

  get pins(): Pin[] {
    return this.review?.pins ?? [];
  }

  /** Fetch the slice's decisions; a reviewer-less slice (or a refused request) shows nothing. */
  async load(): Promise<void> {
    const body = await this.api.reviews(this.sliceId).catch(() => null);
    if (!body) return;
    const latest = body.results[0];
    this.review = latest && latest.decision === "reject" ? { ...latest, pins: this.ticks.overlay(latest.pins) } : null;
    this.state = body.state;
    this.render();
    if (!this.review) return;
    // Ticks an earlier visit could not store go to the server now.
    const { pins, failed } = await this.ticks.flush(latest.pins);
    if (this.review?.id !== latest.id) return;
    this.review.pins = pins;
    this.render();
    if (failed) this.say(`Some ticks are not stored yet (${failed}); they are kept in this browser and sent again.`, "error");
  }

  private render(): void {
    if (this.box) {
      const review = this.review;
      this.box.replaceChildren();
      this.box.hidden = !review;
      if (review) {
        const head = document.createElement("p");
        head.className = "review-comments-head";
        head.textContent = rejectionHead(review, this.state);
        const list = document.createElement("ol");
        list.append(...review.pins.map((pin, i) => pinItem(pin, `${pinLabel(pin)} ${pin.text}`, (on) => void this.setTick(i, on))));
        this.status = document.createElement("p");
        this.status.className = "pin-tick-status";
        this.status.setAttribute("role", "status");
        this.box.append(head, list, this.status);
        this.say(this.message.text, this.message.kind);
      }
    }
    this.place(this.views);
  }

  /** Tick or clear pin `i`: shown at once, stored on the server, said when the server did not take it. */
  private async setTick(i: number, resolved: boolean): Promise<void> {
    const review = this.review;
    const pin = review?.pins[i];
    if (!review || !pin) return;
    review.pins[i] = { ...pin, resolved, resolved_by: resolved ? pin.resolved_by : null, resolved_at: resolved ? pin.resolved_at : null };
    this.render();
    try {
      review.pins[i] = await this.ticks.set(pin, resolved);
      this.say("", "info");
    } catch (e) {
      const failure = tickFailure(e, i, "when this slice is next opened");
      if (!failure.kept) review.pins[i] = pin; // refused: back to what the server has
      this.say(failure.text, "error");
    }
    if (this.review === review) this.render();
  }

  private say(text: string, kind: "info" | "error"): void {
    this.message = { text, kind };
    if (!this.status) return;
    this.status.textContent = text;
    this.status.hidden = !text;
    this.status.dataset.kind = kind;
  }

  /** (Re)place the markers for the panes shown (one viewport each; side by side: two). */
  place(views: Viewport[]): void {
    this.views = views;
    const pins = this.pins;
    const want = pins.length * views.length;
    while (this.layer.children.length > want) this.layer.lastElementChild!.remove();
    views.forEach((v, pane) => pins.forEach((pin, i) => {
      const k = pane * pins.length + i;
      let marker = this.layer.children[k] as HTMLElement | undefined;
      if (!marker) {
        marker = document.createElement("div");
        marker.className = "review-pin-marker";
        this.layer.append(marker);
      }
      marker.classList.toggle("resolved", !!pin.resolved);
      marker.classList.toggle("right-pane", pane === 1);
      marker.title = pin.text;
      marker.textContent = String(i + 1);
      const c = pinOnScreen(pin, v);
      marker.style.left = `${c.x - 9}px`;
      marker.style.top = `${c.y - 9}px`;
    }));
  }
}
