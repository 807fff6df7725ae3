/**
 * The document model: a label map (one class index per pixel, row-major, (H, W) uint8) plus the
 * rules that decide which pixels a tool may overwrite. Every write goes through `paint`, which
 * records the old value of each pixel once per change so undo can store a small diff.
 */
import type { Rect } from "../shared/geometry";

export interface PaintRule {
  /** Paint (non-zero classes) only where the mask is still background. */
  readonly onlyBackground: boolean;
  /** Classes that no tool may overwrite (erasing included). */
  readonly locked: ReadonlySet<number>;
}

export const FREE_RULE: PaintRule = { onlyBackground: false, locked: new Set() };

/** May a pixel currently holding `old` become `value` under `rule`? */
export function canOverwrite(rule: PaintRule, old: number, value: number): boolean {
  if (old === value) return false;
  if (rule.locked.has(old)) return false;
  if (rule.onlyBackground && value !== 0 && old !== 0) return false;
  return true;
}

/** One undoable change: the pixels it touched with their values before and after. */
export interface Diff {
  readonly indices: Uint32Array;
  readonly before: Uint8Array;
  readonly after: Uint8Array;
  readonly box: Rect;
}

export const diffBytes = (d: Diff): number => d.indices.byteLength + d.before.byteLength + d.after.byteLength;

export class Mask {
  readonly labels: Uint8Array; // (H, W)
  private readonly marks: Uint32Array; // generation stamp per pixel: "already recorded in this change"
  private generation = 0;
  private open: ChangeRecorder | null = null;

  constructor(readonly width: number, readonly height: number, labels?: Uint8Array) {
    if (labels && labels.length !== width * height) {
      throw new Error(`mask has ${labels.length} pixels, expected ${width}x${height}`);
    }
    this.labels = labels ? labels.slice() : new Uint8Array(width * height);
    this.marks = new Uint32Array(width * height);
  }

  /** Start recording a change (a stroke, a fill...). Only one change is open at a time. */
  begin(): ChangeRecorder {
    this.generation = (this.generation + 1) >>> 0 || 1;
    if (this.generation === 1) this.marks.fill(0);
    this.open = new ChangeRecorder(this, this.generation);
    return this.open;
  }

  /** @internal first-touch test for the open change. */
  mark(index: number, generation: number): boolean {
    if (this.marks[index] === generation) return false;
    this.marks[index] = generation;
    return true;
  }

  /** Replace the whole content (loading a revision). Not undoable by itself. */
  replace(labels: Uint8Array): void {
    if (labels.length !== this.labels.length) throw new Error("mask size mismatch");
    this.labels.set(labels);
  }

  /** Apply the before (undo) or after (redo) side of a diff. */
  applyDiff(d: Diff, side: "before" | "after"): Rect {
    const values = d[side];
    for (let i = 0; i < d.indices.length; i++) this.labels[d.indices[i]] = values[i];
    return d.box;
  }

  countOf(value: number): number {
    let n = 0;
    for (let i = 0; i < this.labels.length; i++) if (this.labels[i] === value) n++;
    return n;
  }
}

/** Collects the pixels of one change; `paint` enforces the rule and records old values. */
export class ChangeRecorder {
  private indices = new Uint32Array(1024);
  private before = new Uint8Array(1024);
  private n = 0;
  private x0 = Infinity;
  private y0 = Infinity;
  private x1 = -Infinity;
  private y1 = -Infinity;

  constructor(private readonly mask: Mask, private readonly generation: number) {}

  /** Set pixel (x, y) to `value` if the rule allows it. Returns whether it changed. */
  paint(x: number, y: number, value: number, rule: PaintRule): boolean {
    const i = y * this.mask.width + x;
    const old = this.mask.labels[i];
    if (!canOverwrite(rule, old, value)) return false;
    if (this.mask.mark(i, this.generation)) {
      if (this.n === this.indices.length) this.grow();
      this.indices[this.n] = i;
      this.before[this.n] = old;
      this.n++;
      if (x < this.x0) this.x0 = x;
      if (x >= this.x1) this.x1 = x + 1;
      if (y < this.y0) this.y0 = y;
      if (y >= this.y1) this.y1 = y + 1;
    }
    this.mask.labels[i] = value;
    return true;
  }

  get size(): number {
    return this.n;
  }

  /** Close the change; null when nothing actually changed (so it does not enter history). */
  finish(): Diff | null {
    const indices = this.indices.slice(0, this.n);
    const before = this.before.slice(0, this.n);
    const after = new Uint8Array(this.n);
    let kept = 0;
    for (let k = 0; k < this.n; k++) {
      const v = this.mask.labels[indices[k]];
      // A pixel painted and then restored within the change is not a change.
      if (v === before[k]) continue;
      indices[kept] = indices[k];
      before[kept] = before[k];
      after[kept] = v;
      kept++;
    }
    if (kept === 0) return null;
    return {
      indices: indices.slice(0, kept), before: before.slice(0, kept), after: after.slice(0, kept),
      box: { x0: this.x0, y0: this.y0, x1: this.x1, y1: this.y1 },
    };
  }

  private grow(): void {
    const indices = new Uint32Array(this.indices.length * 2);
    indices.set(this.indices);
    const before = new Uint8Array(this.before.length * 2);
    before.set(this.before);
    this.indices = indices;
    this.before = before;
  }
}
