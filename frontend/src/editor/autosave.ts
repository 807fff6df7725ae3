/**
 * Autosave: saves ~2 s after the last change, on demand (navigation, submit) and with a keepalive
 * request when the page is closed. Keeps the base revision for conflict detection and exposes a
 * visible state: saved / saving / unsaved / error / conflict.
 */
import { ApiError } from "./api";

export type SaveState = "saved" | "saving" | "unsaved" | "error" | "conflict";

export interface SaveTarget {
  /** Encode the current mask as PNG bytes. */
  encode(): Uint8Array;
  put(png: Uint8Array, base: number | null, editSeconds: number, keepalive: boolean): Promise<{ revision: number; state: string }>;
}

export interface ConflictInfo {
  current: number | null;
  yours: number | null;
}

export class Autosave {
  state: SaveState = "saved";
  error = "";
  private version = 0;
  private savedVersion = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inFlight: Promise<void> | null = null;
  private editSeconds = 0;
  private lastActivity = 0;

  constructor(
    private readonly target: SaveTarget,
    public base: number | null,
    private readonly delayMs: number,
    private readonly onChange: (s: SaveState, detail: string) => void,
    private readonly onConflict: (c: ConflictInfo) => void,
    /** Each stored revision and the slice's workflow state the server answered with. */
    private readonly onSaved: (saved: { revision: number; state: string }) => void = () => undefined,
  ) {}

  get dirty(): boolean {
    return this.version !== this.savedVersion;
  }

  /** Count active editing time: gaps between actions up to 30 s. */
  activity(now = performance.now()): void {
    if (this.lastActivity) this.editSeconds += Math.min(30_000, now - this.lastActivity) / 1000;
    this.lastActivity = now;
  }

  /** The mask changed: mark unsaved and (re)start the delay. */
  changed(): void {
    this.version++;
    if (this.state !== "conflict") this.set("unsaved");
    this.schedule();
  }

  /** Mask replaced by stored content (load, take theirs): nothing to save. */
  reset(base: number | null): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.base = base;
    this.savedVersion = this.version;
    this.set("saved");
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.state === "conflict") return; // wait for the user's choice
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, this.delayMs);
  }

  /** Save now if anything is unsaved; resolves once the mask is stored (or the save failed). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.inFlight) await this.inFlight;
    if (!this.dirty || this.state === "conflict") return;
    this.inFlight = this.saveOnce().finally(() => {
      this.inFlight = null;
    });
    await this.inFlight;
  }

  private async saveOnce(): Promise<void> {
    const version = this.version;
    this.set("saving");
    try {
      const seconds = this.editSeconds;
      const saved = await this.target.put(this.target.encode(), this.base, seconds, false);
      this.editSeconds = Math.max(0, this.editSeconds - seconds);
      this.base = saved.revision;
      this.savedVersion = version;
      this.onSaved(saved);
      this.set(this.dirty ? "unsaved" : "saved", `revision ${saved.revision}`);
      if (this.dirty) this.schedule();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.body.code === "conflict") {
        this.set("conflict");
        this.onConflict({ current: (e.body.current_revision as number) ?? null, yours: (e.body.your_revision as number) ?? null });
      } else {
        // fetch() rejects with a TypeError when no answer came at all (network down, server away).
        this.error = e instanceof TypeError ? "the server cannot be reached" : e instanceof Error ? e.message : String(e);
        this.set("error", this.error);
      }
    }
  }

  /** Resolve a conflict by saving my mask on top of the newer revision. */
  async keepMine(current: number | null): Promise<void> {
    this.base = current;
    this.set("unsaved");
    this.version++;
    await this.flush();
  }

  /** Page is going away: fire a keepalive PUT that outlives it (no answer is awaited). */
  flushOnUnload(): void {
    if (!this.dirty || this.state === "conflict" || this.inFlight) return;
    void this.target.put(this.target.encode(), this.base, this.editSeconds, true).catch(() => undefined);
  }

  private set(s: SaveState, detail = ""): void {
    this.state = s;
    this.onChange(s, detail);
  }
}
