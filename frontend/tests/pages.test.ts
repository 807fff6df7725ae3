import { describe, expect, it } from "vitest";
import { exportBody, studiesText } from "../src/pages/exports_form";
import { chartLayout, jobTask, pct, simulationCaption, simulationRows, type Simulation } from "../src/pages/rounds_chart";
import { screenPoint } from "../src/shared/geometry";
import { callJson, csrfFromCookie, errorText } from "../src/shared/http";
import { followJob, importedText } from "../src/shared/jobs";
import { diffSummary, historyLine, pinAt, pinOnScreen, rejectionHead } from "../src/shared/review";

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });

describe("http helpers", () => {
  it("finds the CSRF token among other cookies", () => {
    expect(csrfFromCookie("a=1; csrftoken=abc%3D; b=2")).toBe("abc=");
    expect(csrfFromCookie("sessionid=x")).toBe("");
  });

  it("says the server's detail, else the status line", async () => {
    expect(await errorText(json(403, { detail: "not yours" }))).toBe("not yours");
    expect(await errorText(new Response("<html>", { status: 502, statusText: "Bad Gateway" }))).toBe("502 Bad Gateway");
  });

  it("sends JSON with the CSRF header and throws the refusal's detail", async () => {
    const seen: RequestInit[] = [];
    const fake = (async (_url: string, init: RequestInit) => {
      seen.push(init);
      return json(409, { detail: "round already running" });
    }) as unknown as typeof fetch;
    await expect(callJson("POST", "/api/rounds/", { csrfToken: "t", body: { a: 1 }, fetchImpl: fake })).rejects.toThrow("round already running");
    expect((seen[0].headers as Record<string, string>)["X-CSRFToken"]).toBe("t");
    expect(seen[0].body).toBe('{"a":1}');
  });
});

describe("following an import job", () => {
  const timing = { pollMs: 0, retryMs: 0, maxFailures: 2 };

  it("reports progress and returns the finished job", async () => {
    const answers = [json(200, { id: 7, state: "running", message: "reading DICOM", progress: 0.5 }),
      json(200, { id: 7, state: "succeeded", result: { slices: 3, series: [1], skipped_duplicates: [] } })];
    const said: string[] = [];
    const end = await followJob(7, (t) => said.push(t), timing, (async () => answers.shift()!) as unknown as typeof fetch);
    expect(said).toEqual(["Import job 7 running: reading DICOM…"]);
    expect(end.ok && importedText(end.job.result as never)).toBe("Imported 3 slices in 1 series.");
  });

  it("keeps following through a network blip, and gives up after too many", async () => {
    let calls = 0;
    const down = (async () => {
      calls++;
      throw new TypeError("Failed to fetch");
    }) as unknown as typeof fetch;
    const said: string[] = [];
    expect((await followJob(9, (t) => said.push(t), timing, down)).ok).toBe(false);
    expect(calls).toBe(3);
    expect(said.at(-1)).toContain("Lost contact with import job 9");
  });

  it("says why a failed import failed", async () => {
    const said: string[] = [];
    await followJob(3, (t) => said.push(t), timing, (async () => json(200, { id: 3, state: "failed", message: "not a DICOM file" })) as unknown as typeof fetch);
    expect(said).toEqual(["Import failed: not a DICOM file"]);
  });

  it("counts duplicates in the report", () => {
    expect(importedText({ slices: 2, series: [1, 2], skipped_duplicates: [1] })).toBe("Imported 2 slices in 2 series (1 duplicates skipped).");
  });
});

describe("rounds dashboard", () => {
  it("scales the y axis to the next tenth above the data (with whiskers)", () => {
    const layout = chartLayout([{ name: "unet", points: [[10, 0.2, 0.05], [20, 0.31]] }, { name: "fpn", points: [[10, null]] }])!;
    expect(layout.yTop).toBeCloseTo(0.4);
    expect(layout.yTicks.map((t) => t.label)).toEqual(["0", "10", "20", "30", "40"]);
    expect(layout.xTicks.map((t) => t.label)).toEqual(["10", "20"]);
    expect(layout.lines[0].dots).toHaveLength(2);
    expect(layout.lines[0].whiskers).toHaveLength(1);
    expect(layout.lines[1].dots).toHaveLength(0);
    expect(layout.lines[0].dots[0].title).toBe("unet: 20.0 % at 10");
  });

  it("has nothing to draw without points", () => {
    expect(chartLayout([{ name: "unet", points: [] }])).toBeNull();
  });

  it("marks the best strategy of each row of a simulation", () => {
    const sim: Simulation = { id: 1, name: "sim", config: { seeds: [1, 2], initial: 4, batch: 2, pool_size: 40 }, curves: {
      random: [{ labelled: 4, mean_iou: 0.5, mean_iou_std: 0.01 }, { labelled: 6, mean_iou: 0.6 }],
      entropy: [{ labelled: 4, mean_iou: 0.55 }],
    } };
    const rows = simulationRows(sim);
    expect(rows.map((r) => r.labelled)).toEqual(["4", "6"]);
    expect(rows[0].cells.map((c) => c?.best)).toEqual([false, true]);
    expect(rows[0].cells[0]?.text).toBe("50.0 % ± 1.0");
    expect(rows[1].cells[1]).toBeNull();
    expect(simulationCaption(sim)).toBe("sim · 2 seed(s) · 4 labelled at start, +2 per round · pool of 40 slices");
  });

  it("names a job's task and formats missing values", () => {
    expect(jobTask("train", { arch: "unet", fold: -1 })).toBe("train unet all subjects");
    expect(jobTask("train", { arch: "unet", fold: 2 })).toBe("train unet fold 2");
    expect(pct(null)).toBe("–");
  });
});

describe("exports form", () => {
  it("builds the export request from the form", () => {
    const f = new FormData();
    for (const [k, v] of [["project", "2"], ["format", "nifti"], ["state", "accepted"], ["track", "main"], ["channels", ""], ["subjects", "4"], ["subjects", "5"], ["round", "3"]]) f.append(k, v);
    expect(exportBody(f)).toEqual({ project: 2, format: "nifti", state: "accepted", track: "main", channels: "", include_images: false, subjects: [4, 5], round: 3 });
    expect(studiesText(1)).toBe("1 study");
    expect(studiesText(3)).toBe("3 studies");
  });
});

describe("review pins", () => {
  it("puts a pin on the pixel clicked, whatever the view, and back on screen at the same spot", () => {
    const v = { zoom: 3, offsetX: 12, offsetY: -6 };
    const pin = pinAt(screenPoint(12 + 5.5 * 3, -6 + 1.5 * 3), v);
    expect([pin.x, pin.y]).toEqual([5.5, 1.5]);
    const s = pinOnScreen(pin, { zoom: 2, offsetX: 100, offsetY: 50 });
    expect([s.x, s.y]).toEqual([111, 53]);
  });

  it("summarises a diff and a decision as the reviewer reads them", () => {
    expect(diffSummary({ changed_pixels: 26, total_pixels: 1000, prelabel_revision: 4, classes: [] })).toBe("26 pixels (2.6%) changed from pre-label revision 4");
    expect(diffSummary({ changed_pixels: 26, total_pixels: 1000, prelabel_revision: null, classes: [] })).toBe("No pre-label: all 26 labelled pixels are new");
    const d = { decision: "reject" as const, reviewer: "sam", revision: 9, comment: "Fix L1", created_at: "2026-11-30T12:00:00Z", pins: [{ x: 5.4, y: 1.6, text: "here" }] };
    expect(historyLine(d)).toBe("2026-11-30 12:00 sam: reject of revision 9 — Fix L1 [1] (5, 2) here");
    expect(rejectionHead(d, "rejected")).toBe("Rejected by sam (revision 9) — fix and resubmit: Fix L1");
  });
});
