/** Undo/redo stacks of mask diffs (never whole masks). */
import type { Diff } from "./mask";
import { diffBytes } from "./mask";

export const HISTORY_LIMIT = 200;

export class History {
  private done: Diff[] = [];
  private undone: Diff[] = [];

  constructor(private readonly limit = HISTORY_LIMIT) {}

  push(d: Diff): void {
    this.done.push(d);
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
  }

  /** The diff to revert (apply its `before` side), or null when there is nothing to undo. */
  undo(): Diff | null {
    const d = this.done.pop() ?? null;
    if (d) this.undone.push(d);
    return d;
  }

  /** The diff to re-apply (its `after` side), or null. */
  redo(): Diff | null {
    const d = this.undone.pop() ?? null;
    if (d) this.done.push(d);
    return d;
  }

  clear(): void {
    this.done = [];
    this.undone = [];
  }

  get canUndo(): boolean {
    return this.done.length > 0;
  }

  get canRedo(): boolean {
    return this.undone.length > 0;
  }

  get depth(): number {
    return this.done.length;
  }

  /** Bytes held by all diffs, to show that history is cheap compared with full masks. */
  get bytes(): number {
    return [...this.done, ...this.undone].reduce((sum, d) => sum + diffBytes(d), 0);
  }
}
