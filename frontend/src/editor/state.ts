/**
 * The editor's view and tool state in one object. Input handlers and panels never write fields:
 * they call `update(patch)`, and subscribers (the editor's renderers) react to the keys that
 * changed. The document (mask + history) and the save state live elsewhere (editor.ts).
 */
import type { ImagePoint, Viewport } from "../shared/geometry";
import type { WindowLevel } from "./window";

export interface EditorFields {
  /** The active tool's registered name (tools.ts). */
  tool: string;
  activeClass: number;
  brushSize: number;
  onlyBackground: boolean;
  locked: ReadonlySet<number>;
  /** Shown classes, by class index. */
  visible: readonly boolean[];
  viewport: Viewport;
  channel: string;
  wl: WindowLevel;
  /** Window/level chosen per channel, so switching T2w <-> T1w keeps each one's. */
  wlByChannel: Readonly<Record<string, WindowLevel>>;
  /** The pointer over the image (image coordinates), or null when it is outside the stage. */
  cursor: ImagePoint | null;
  /** The lasso being drawn (image coordinates). */
  lasso: readonly ImagePoint[];
}

export type StateKey = keyof EditorFields;
export type StateListener = (changed: ReadonlySet<StateKey>, state: EditorState) => void;

export const INITIAL_STATE: EditorFields = {
  tool: "brush", activeClass: 1, brushSize: 10, onlyBackground: false, locked: new Set(), visible: [],
  viewport: { zoom: 1, offsetX: 0, offsetY: 0 }, channel: "", wl: { window: 1, level: 0 }, wlByChannel: {},
  cursor: null, lasso: [],
};

export class EditorState implements Readonly<EditorFields> {
  readonly tool!: string;
  readonly activeClass!: number;
  readonly brushSize!: number;
  readonly onlyBackground!: boolean;
  readonly locked!: ReadonlySet<number>;
  readonly visible!: readonly boolean[];
  readonly viewport!: Viewport;
  readonly channel!: string;
  readonly wl!: WindowLevel;
  readonly wlByChannel!: Readonly<Record<string, WindowLevel>>;
  readonly cursor!: ImagePoint | null;
  readonly lasso!: readonly ImagePoint[];
  private readonly listeners: StateListener[] = [];

  constructor(init: Partial<EditorFields> = {}) {
    Object.assign(this, INITIAL_STATE, init);
  }

  /** Change some fields; listeners hear about the ones whose value actually changed. */
  update(patch: Partial<EditorFields>): void {
    const changed = new Set<StateKey>();
    for (const key of Object.keys(patch) as StateKey[]) {
      if (patch[key] !== undefined && this[key] !== patch[key]) changed.add(key);
    }
    if (!changed.size) return;
    Object.assign(this, patch);
    for (const listen of this.listeners) listen(changed, this);
  }

  subscribe(listen: StateListener): () => void {
    this.listeners.push(listen);
    return () => this.listeners.splice(this.listeners.indexOf(listen), 1);
  }

  /** A class's lock flipped (a new set, so the change is seen). */
  toggleLock(index: number): void {
    const locked = new Set(this.locked);
    if (locked.has(index)) locked.delete(index);
    else locked.add(index);
    this.update({ locked });
  }

  toggleVisible(index: number): void {
    const visible = [...this.visible];
    visible[index] = !visible[index];
    this.update({ visible });
  }

  /** Set the window of the shown channel and remember it for that channel. */
  setWindow(wl: WindowLevel): void {
    this.update({ wl, wlByChannel: { ...this.wlByChannel, [this.channel]: wl } });
  }
}
