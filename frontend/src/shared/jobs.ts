/** Following a background Job (import, export) by polling GET /api/jobs/<id>/ until it ends. */
import { errorText, sleep } from "./http";

export interface JobInfo {
  id: number;
  kind: string;
  state: string;
  progress: number;
  message: string;
  params?: Record<string, unknown>;
  result?: unknown;
}

export const FINISHED = ["succeeded", "failed", "cancelled"];

export interface ImportReport {
  slices: number;
  series: number[];
  skipped_duplicates: unknown[];
}

export function importedText(body: ImportReport): string {
  const skipped = body.skipped_duplicates?.length ?? 0;
  return `Imported ${body.slices} slices in ${body.series.length} series` +
    (skipped ? ` (${skipped} duplicates skipped)` : "") + ".";
}

/** One line saying where a running import job stands. */
export const jobLine = (job: JobInfo): string => `Import job ${job.id} ${job.state}${job.message ? `: ${job.message}` : ""}…`;

export interface FollowTiming {
  pollMs: number;
  retryMs: number;
  /** Network failures in a row before giving up. */
  maxFailures: number;
}

/**
 * Poll a job until it ends, reporting each step as a sentence through `say`. A network blip is
 * retried (up to `maxFailures` in a row); a refused request or a failed/cancelled job ends it.
 */
export async function followJob(
  id: number, say: (text: string) => void,
  timing: FollowTiming = { pollMs: 1500, retryMs: 3000, maxFailures: 20 }, fetchImpl: typeof fetch = fetch,
): Promise<{ ok: true; job: JobInfo } | { ok: false }> {
  for (let failures = 0; ;) {
    let response: Response;
    try {
      response = await fetchImpl(`/api/jobs/${id}/`, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (err) {
      if (++failures > timing.maxFailures) {
        say(`Lost contact with import job ${id}: ${err}`);
        return { ok: false };
      }
      await sleep(timing.retryMs);
      continue;
    }
    failures = 0;
    if (!response.ok) {
      say(`Import job ${id}: ${await errorText(response)}`);
      return { ok: false };
    }
    const job = (await response.json()) as JobInfo;
    if (job.state === "succeeded") return { ok: true, job };
    if (job.state === "failed" || job.state === "cancelled") {
      say(`Import failed: ${job.message}`);
      return { ok: false };
    }
    say(jobLine(job));
    await sleep(timing.pollMs);
  }
}
