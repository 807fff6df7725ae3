/**
 * Local drafts: a mask the server has not stored yet (save refused, network down) is kept in the
 * browser's localStorage until a save succeeds, so neither a slice switch nor a closed tab loses it.
 */

export interface Draft {
  sliceId: number;
  /** The revision the edit started from (the save's X-Base-Revision). */
  base: number | null;
  /** The mask as PNG bytes. */
  png: Uint8Array;
  savedAt: string;
}

const key = (sliceId: number): string => `spinelab:draft:${sliceId}`;

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export class DraftStore {
  constructor(private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null) {}

  /** Keep a draft; false when the browser refuses (storage full or disabled). */
  put(d: Draft): boolean {
    try {
      this.storage?.setItem(key(d.sliceId), JSON.stringify({ base: d.base, png: toBase64(d.png), savedAt: d.savedAt }));
      return this.storage !== null;
    } catch {
      return false;
    }
  }

  get(sliceId: number): Draft | null {
    try {
      const raw = this.storage?.getItem(key(sliceId));
      if (!raw) return null;
      const v = JSON.parse(raw);
      return { sliceId, base: v.base ?? null, png: fromBase64(v.png), savedAt: v.savedAt };
    } catch {
      return null; // a damaged draft is no draft
    }
  }

  clear(sliceId: number): void {
    try {
      this.storage?.removeItem(key(sliceId));
    } catch {
      // nothing to do: storage disabled
    }
  }
}

/** The page's localStorage, or null where the browser denies it. */
export function browserStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
