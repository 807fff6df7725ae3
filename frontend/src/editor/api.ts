/** Typed client for the SpineLab HTTP API (docs/ARCHITECTURE.md, "HTTP API"). */
import type { ReviewDecision } from "../shared/review";
import type { SliceMeasurements } from "./measure";
import type { ChannelStats } from "./window";

export interface SliceDetail {
  id: number;
  project: number;
  series: number;
  subject: number | string;
  index: number;
  height: number;
  width: number;
  channels: string[];
  stats: Record<string, ChannelStats>;
  state: string;
  head_revision: number | null;
  prelabel_revision: number | null;
  previous_slice: number | null;
  next_slice: number | null;
  /** My assignment of the slice; absent when the detail was built from the strip's row. */
  assignment?: { id: number; annotator: number; purpose: string } | null;
}

/**
 * A row of the slice list (GET /api/slices/?series=): with `channels` and `stats` it carries all
 * the editor shows of a slice (strip.ts `detailOf`), so a slice switch needs no detail request.
 */
export interface SliceSummary {
  id: number;
  series: number;
  index: number;
  state: string;
  rank: number | null;
  head_revision: number | null;
  prelabel_revision: number | null;
  project?: number;
  subject?: number;
  height?: number;
  width?: number;
  channels?: string[];
  stats?: Record<string, ChannelStats>;
}

export interface LabelClassInfo {
  index: number;
  name: string;
  colour: string;
  key: string;
}

export interface ProjectDetail {
  id: number;
  slug: string;
  name: string;
  /** The training channels in order (empty: T2w); the editor lists a slice's channels in this order. */
  channels?: string[];
  classes: LabelClassInfo[];
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: Record<string, unknown>) {
    super(typeof body.detail === "string" ? body.detail : `HTTP ${status}`);
  }
}

export interface SavedMask {
  revision: number;
  state: string;
}

export class Api {
  constructor(private readonly base: string, private readonly csrfToken: string) {}

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (init.method && init.method !== "GET") headers.set("X-CSRFToken", this.csrfToken);
    const res = await fetch(this.base + path, { credentials: "same-origin", ...init, headers });
    if (!res.ok) {
      let body: Record<string, unknown> = {};
      try {
        body = await res.json();
      } catch {
        body = { detail: `HTTP ${res.status} ${res.statusText}` };
      }
      throw new ApiError(res.status, body);
    }
    return res;
  }

  async slice(id: number, priority: RequestPriority = "auto"): Promise<SliceDetail> {
    return (await this.request(`/slices/${id}/`, { priority })).json();
  }

  async project(id: number): Promise<ProjectDetail> {
    return (await this.request(`/projects/${id}/`)).json();
  }

  /**
   * 16-bit grey PNG of a channel plus the value mapping from its headers. `priority` "low" for
   * prefetching, so the browser sends the open slice's requests first.
   */
  async image16(id: number, channel: string, priority: RequestPriority = "auto"): Promise<{ png: ArrayBuffer; offset: number; scale: number }> {
    const res = await this.request(`/slices/${id}/image/?channel=${encodeURIComponent(channel)}&depth=16`, { priority });
    const offset = Number(res.headers.get("X-Value-Offset") ?? "0");
    const scale = Number(res.headers.get("X-Value-Scale") ?? "1");
    return { png: await res.arrayBuffer(), offset, scale };
  }

  /** A mask revision ("head", "prelabel" or an id); null when the slice has none. */
  async mask(id: number, revision: string | number, priority: RequestPriority = "auto"): Promise<{ png: ArrayBuffer; revision: number; source: string } | null> {
    try {
      const res = await this.request(`/slices/${id}/mask/?revision=${revision}`, { priority });
      return {
        png: await res.arrayBuffer(),
        revision: Number(res.headers.get("X-Revision-Id")),
        source: res.headers.get("X-Revision-Source") ?? "",
      };
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }

  /** PUT a mask; `keepalive` lets the request outlive the page (leaving the slice). */
  /** `source`: how the editor made the mask when not painted ("copy", "interpolate"; meta.source). */
  async saveMask(id: number, png: Uint8Array, base: number | null, editSeconds: number, keepalive = false, source: string | null = null): Promise<SavedMask> {
    const headers: Record<string, string> = {
      "Content-Type": "image/png",
      "X-Base-Revision": base === null ? "" : String(base),
      "X-Edit-Seconds": editSeconds.toFixed(1),
    };
    if (source) headers["X-Mask-Source"] = source;
    const res = await this.request(`/slices/${id}/mask/`, { method: "PUT", body: png as BodyInit, keepalive, headers });
    return res.json();
  }

  /** Vertebral body measurements of the head mask (or the pre-label); null when there is no such mask. */
  async measurements(id: number, revision: "head" | "prelabel" = "head"): Promise<SliceMeasurements | null> {
    try {
      return (await this.request(`/slices/${id}/measurements/?revision=${revision}`)).json();
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }

  async submit(id: number): Promise<{ state: string }> {
    return (await this.request(`/slices/${id}/submit/`, { method: "POST" })).json();
  }

  async next(): Promise<{ slice: number | null }> {
    return (await this.request(`/slices/next/`, { method: "POST" })).json();
  }

  /** The slice's review decisions, newest first, with its state. */
  async reviews(id: number): Promise<{ state: string; width: number; height: number; results: ReviewDecision[] }> {
    return (await this.request(`/slices/${id}/reviews/`, { priority: "low" })).json();
  }

  /** Every slice of a series the user may see, in index order (all pages). */
  async seriesSlices(series: number): Promise<SliceSummary[]> {
    const out: SliceSummary[] = [];
    let path: string | null = `/slices/?series=${series}&ordering=index&page_size=1000`;
    while (path) {
      const page: { results: SliceSummary[]; next: string | null } = await (await this.request(path)).json();
      out.push(...page.results);
      // `next` is an absolute URL: keep its path under the API base.
      path = page.next ? page.next.slice(page.next.indexOf(this.base) + this.base.length) : null;
    }
    return out;
  }
}
