/**
 * Review pins and decisions as both the review page and the editor show them. Pins are stored in
 * image pixels (x = column, y = row); on screen they go through a Viewport (shared/geometry).
 */
import { imagePoint, toImage, toScreen, type ScreenPoint, type Viewport } from "./geometry";

export interface Pin {
  /** Set once stored (a pin being drawn on the review page has none yet). */
  id?: number;
  x: number;
  y: number;
  radius?: number;
  text: string;
  /** The "resolved" tick, stored on the server (POST /api/review/pins/<id>/resolve/). */
  resolved?: boolean;
  resolved_at?: string | null;
  resolved_by?: string | null;
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

/** "resolved by alice 2026-11-30 12:00", or "" for an open pin. */
export function resolvedNote(pin: Pin): string {
  if (!pin.resolved) return "";
  const when = pin.resolved_at ? ` ${pin.resolved_at.slice(0, 16).replace("T", " ")}` : "";
  return pin.resolved_by ? `resolved by ${pin.resolved_by}${when}` : "resolved";
}

/** Something that stores strings (localStorage in the browser, a Map in tests). */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

function browserStore(): KeyValue | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null; // storage disabled
  }
}

/** A tick the server did not store; `kept`: it waits in this browser to be sent again. */
export class TickError extends Error {
  constructor(message: string, readonly kept: boolean) {
    super(message);
  }
}

/**
 * The "resolved" ticks of pins, stored on the server. A tick the server did not take (offline, a
 * refused request) is kept in this browser and sent again on the next `flush` (when a slice's
 * pins are next shown); until then it is shown as the user set it.
 */
export class PinTicks {
  static readonly KEY = "spinelab:pin-ticks";
  /** Kept per signed-in user: another user of this browser never sends them under their own name. */
  private readonly key: string;

  constructor(
    private readonly apiBase: string,
    private readonly csrfToken: string,
    user: string | number = "",
    private readonly store: KeyValue | null = browserStore(),
    private readonly send: typeof fetch = (...args) => fetch(...args),
  ) {
    this.key = `${PinTicks.KEY}:${user}`;
  }

  /** Pin id -> the tick waiting to be stored. */
  pending(): Record<string, boolean> {
    try {
      const raw = JSON.parse(this.store?.getItem(this.key) ?? "{}") as unknown;
      return raw && typeof raw === "object" ? (raw as Record<string, boolean>) : {};
    } catch {
      return {};
    }
  }

  private keep(pinId: number, resolved: boolean | null): void {
    const all = this.pending();
    if (resolved === null) delete all[pinId];
    else all[pinId] = resolved;
    try {
      this.store?.setItem(this.key, JSON.stringify(all));
    } catch {
      // storage full or disabled: the tick lasts as long as the page
    }
  }

  /** The pins as to show them: a tick waiting to be stored wins over the server's. */
  overlay(pins: Pin[]): Pin[] {
    const waiting = this.pending();
    return pins.map((p) => (p.id !== undefined && p.id in waiting ? { ...p, resolved: waiting[p.id] } : p));
  }

  /** Store one tick; the stored pin back, or a TickError saying why (and whether it is kept here). */
  async set(pin: Pin, resolved: boolean): Promise<Pin> {
    if (pin.id === undefined) throw new Error("this pin is not stored yet");
    let res: Response;
    try {
      res = await this.send(`${this.apiBase}/review/pins/${pin.id}/resolve/`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrfToken },
        body: JSON.stringify({ resolved }),
      });
    } catch (e) {
      this.keep(pin.id, resolved);
      throw new TickError(`the server cannot be reached (${e instanceof Error ? e.message : e})`, true);
    }
    const body = (await res.json().catch(() => ({}))) as Pin & { detail?: string };
    if (!res.ok) {
      // A refusal (403/404) will not change by retrying: only a server or network fault is kept.
      const kept = res.status >= 500;
      this.keep(pin.id, kept ? resolved : null);
      throw new TickError(body.detail ?? `HTTP ${res.status}`, kept);
    }
    this.keep(pin.id, null);
    return { ...pin, ...body };
  }

  /** Send the kept ticks of these pins again; the pins as stored (or as still kept). */
  async flush(pins: Pin[]): Promise<{ pins: Pin[]; failed: string | null }> {
    const waiting = this.pending();
    let failed: string | null = null;
    const out = await Promise.all(pins.map(async (p) => {
      if (p.id === undefined || !(p.id in waiting)) return p;
      try {
        return await this.set(p, waiting[p.id]);
      } catch (e) {
        failed = e instanceof Error ? e.message : String(e);
        return e instanceof TickError && !e.kept ? p : { ...p, resolved: waiting[p.id] };
      }
    }));
    return { pins: out, failed };
  }
}

/**
 * A pin's list item: its "resolved" tick, `label` and who resolved it (class "resolved" when
 * ticked); `onTick` gets the value the user set. A pin not stored yet cannot be ticked.
 */
export function pinItem(pin: Pin, label: string, onTick: (resolved: boolean) => void): HTMLLIElement {
  const li = document.createElement("li");
  const tick = document.createElement("input");
  tick.type = "checkbox";
  tick.className = "pin-resolved";
  tick.title = "Resolved";
  tick.checked = !!pin.resolved;
  tick.disabled = pin.id === undefined;
  li.classList.toggle("resolved", tick.checked);
  tick.addEventListener("change", () => onTick(tick.checked));
  const note = document.createElement("small");
  note.className = "pin-resolved-by";
  note.textContent = resolvedNote(pin) ? ` — ${resolvedNote(pin)}` : "";
  li.append(tick, ` ${label}`, note);
  return li;
}

/** What to tell the user when pin `i`'s tick was not stored (`later`: when it is sent again). */
export function tickFailure(e: unknown, i: number, later: string): { text: string; kept: boolean } {
  const why = e instanceof Error ? e.message : String(e);
  const kept = e instanceof TickError && e.kept;
  return {
    kept,
    text: kept
      ? `The tick of pin ${i + 1} is not stored on the server (${why}): it is kept in this browser and sent again ${later}.`
      : `The tick of pin ${i + 1} was refused: ${why}`,
  };
}
