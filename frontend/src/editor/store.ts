/**
 * What the editor loads per slice (detail, head mask, pre-label, channel images), cached and
 * prefetched so moving to a neighbour paints without waiting for the network. Images never change
 * and stay cached; a slice's masks are dropped when the editor leaves it (its head has moved on).
 */
import { decodeGrey16Fast, decodeMaskFast } from "./png";
import type { Api, SliceDetail } from "./api";
import type { RawImage } from "./window";

export interface LabelMap {
  labels: Uint8Array;
  revision: number;
}

/** Which masks a slice has (a row of the series listing says). */
export interface MaskHint {
  head_revision: number | null;
  prelabel_revision: number | null;
}

export interface SliceData {
  /** As the server answered, or built from the strip's row (`fromRow`: checked after the first paint). */
  detail: SliceDetail;
  fromRow?: boolean;
  head: LabelMap | null;
  prelabel: LabelMap | null;
}

/** How many slices' data (masks + images) are kept; the series' neighbourhood fits easily. */
export const CACHE_SLICES = 12;

export class SliceStore {
  private docs = new Map<number, Promise<SliceData>>();
  private images = new Map<string, Promise<RawImage>>();
  private order: number[] = [];

  constructor(private readonly api: Api) {}

  /**
   * A slice's detail and masks (from the cache when prefetched). `hint` says which masks exist, so
   * they are fetched at once; a whole detail (strip.ts `detailOf`, from the series listing) is used
   * as it is, so only the masks are fetched: no detail round trip.
   */
  doc(id: number, hint?: MaskHint | SliceDetail, priority: RequestPriority = "auto"): Promise<SliceData> {
    let got = this.docs.get(id);
    if (!got) {
      got = this.fetchDoc(id, hint, priority);
      this.docs.set(id, got);
      // A failed fetch is not cached: the next attempt asks again.
      got.catch(() => this.docs.delete(id));
    }
    this.touch(id);
    return got;
  }

  image(id: number, channel: string, priority: RequestPriority = "auto"): Promise<RawImage> {
    const key = `${id}/${channel}`;
    let got = this.images.get(key);
    if (!got) {
      got = this.api.image16(id, channel, priority).then((r) => decodeGrey16Fast(r.png, r.offset, r.scale));
      this.images.set(key, got);
      got.catch(() => this.images.delete(key));
    }
    this.touch(id);
    return got;
  }

  /** Whether a slice's masks and this channel are already here (or on their way). */
  has(id: number, channel: string): boolean {
    return this.docs.has(id) && this.images.has(`${id}/${channel}`);
  }

  /** Start loading a slice in the background; errors wait for the real visit. */
  prefetch(id: number | null, channel: string, hint?: MaskHint | SliceDetail): void {
    if (id === null) return;
    // Low priority: a switch made meanwhile is fetched first. With a whole detail the image starts at once.
    if (hint && "channels" in hint && hint.channels.includes(channel)) this.image(id, channel, "low").catch(() => undefined);
    this.doc(id, hint, "low").then((d) => (d.detail.channels.includes(channel) ? this.image(id, channel, "low") : null)).catch(() => undefined);
  }

  /** The editor left this slice: its masks are stale now (images are kept). */
  forget(id: number): void {
    this.docs.delete(id);
  }

  /** Drop everything (the benchmark's "not prefetched" case). */
  clear(): void {
    this.docs.clear();
    this.images.clear();
    this.order = [];
  }

  private async fetchDoc(id: number, hint: MaskHint | SliceDetail | undefined, priority: RequestPriority): Promise<SliceData> {
    // A whole detail (the strip's row) names its revisions: asked for by id, which the browser may
    // keep (revisions never change); a row that is stale by now is caught after the first paint.
    const ref = (rev: number | null | undefined, name: string): string | number => (hint && "channels" in hint && rev != null ? rev : name);
    const early = {
      head: hint?.head_revision != null ? this.api.mask(id, ref(hint.head_revision, "head"), priority) : null,
      prelabel: hint?.prelabel_revision != null ? this.api.mask(id, ref(hint.prelabel_revision, "prelabel"), priority) : null,
    };
    const detail = hint && "channels" in hint ? hint : await this.api.slice(id, priority);
    const sized = async (png: ArrayBuffer): Promise<Uint8Array> => {
      const m = await decodeMaskFast(png);
      if (m.width !== detail.width || m.height !== detail.height) {
        throw new Error(`mask is ${m.width}x${m.height}, slice is ${detail.width}x${detail.height}`);
      }
      return m.labels;
    };
    // The detail is the truth: a mask it has that the hint did not know is fetched now.
    const [head, pre] = await Promise.all([
      detail.head_revision !== null ? early.head ?? this.api.mask(id, "head", priority) : null,
      detail.prelabel_revision !== null ? early.prelabel ?? this.api.mask(id, "prelabel", priority) : null,
    ]);
    return {
      detail,
      fromRow: detail === hint,
      head: head ? { labels: await sized(head.png), revision: head.revision } : null,
      prelabel: pre ? { labels: await sized(pre.png), revision: pre.revision } : null,
    };
  }

  private touch(id: number): void {
    this.order = [...this.order.filter((x) => x !== id), id];
    while (this.order.length > CACHE_SLICES) {
      const old = this.order.shift()!;
      this.docs.delete(old);
      for (const key of [...this.images.keys()]) if (key.startsWith(`${old}/`)) this.images.delete(key);
    }
  }
}
