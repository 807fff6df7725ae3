/**
 * Review pins and decisions as both the review page and the editor show them. Pins are stored in
 * image pixels (x = column, y = row); on screen they go through a Viewport (shared/geometry).
 */
import { imagePoint, toImage, toScreen, type ScreenPoint, type Viewport } from "./geometry";

export interface Pin {
  x: number;
  y: number;
  radius?: number;
  text: string;
}

export interface ReviewDecision {
  id?: number;
  decision: "accept" | "reject";
  reviewer: string;
  revision: number;
  comment: string;
  created_at: string;
  pins: Pin[];
}

export interface DiffBody {
  changed_pixels: number;
  total_pixels: number;
  prelabel_revision: number | null;
  classes: { name: string; added: number; removed: number }[];
}

/** A new pin where the reviewer clicked (screen point -> image pixels, to a tenth of a pixel). */
export function pinAt(s: ScreenPoint, v: Viewport): Pin {
  const p = toImage(s, v);
  return { x: Math.round(p.x * 10) / 10, y: Math.round(p.y * 10) / 10, radius: 4, text: "" };
}

/** Where a pin's centre is on screen. */
export const pinOnScreen = (pin: Pin, v: Viewport): ScreenPoint => toScreen(imagePoint(pin.x, pin.y), v);

export const pinLabel = (pin: Pin): string => `(${Math.round(pin.x)}, ${Math.round(pin.y)})`;

export function diffSummary(body: DiffBody): string {
  const share = ((100 * body.changed_pixels) / body.total_pixels).toFixed(1);
  return body.prelabel_revision
    ? `${body.changed_pixels} pixels (${share}%) changed from pre-label revision ${body.prelabel_revision}`
    : `No pre-label: all ${body.changed_pixels} labelled pixels are new`;
}

export function historyLine(d: ReviewDecision): string {
  const pins = d.pins.map((p, i) => ` [${i + 1}] ${pinLabel(p)} ${p.text}`).join(";");
  return `${d.created_at.slice(0, 16).replace("T", " ")} ${d.reviewer}: ${d.decision} of revision ${d.revision}` +
    (d.comment ? ` — ${d.comment}` : "") + pins;
}

/** The heading of a rejection shown to the annotator in the editor. */
export function rejectionHead(review: ReviewDecision, state: string): string {
  return `Rejected by ${review.reviewer} (revision ${review.revision})` +
    (state === "rejected" ? " — fix and resubmit" : "") + (review.comment ? `: ${review.comment}` : "");
}
