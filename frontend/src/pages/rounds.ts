/**
 * Rounds dashboard and round page: live job progress (polled every 2 s), Cancel/Retry, learning
 * curves as inline SVG, models with Promote / Pre-label.
 */
import { callJson, el, readConfig } from "../shared/http";
import { CHART, chartLayout, jobTask, pct, simulationCaption, simulationRows, type CurveSeries, type Simulation } from "./rounds_chart";

interface RoundsConfig { apiBase: string; csrfToken: string; project: number; roundId?: number; canLaunch: boolean }
interface ArchPoint { mean_iou: number | null; classes: (number | null)[] }
interface Dashboard {
  project: { classes: string[] };
  learning_curve: { labelled: number; architectures: Record<string, ArchPoint> }[];
  effort: { label: string; round: number | null; slices: number; changed_share: number; edit_seconds_per_slice: number | null; per_class: { changed_share: number }[] }[];
  simulations: Simulation[];
  rounds: { id: number; state: string; progress: number; message: string }[];
}
interface RoundJob {
  id: number; kind: string; state: string; progress: number; message: string; error?: string; retryable: boolean;
  params: { arch?: string; fold?: number }; epoch?: number; epochs?: number; loss?: number | null; eta_seconds?: number | null;
}
interface Round { state: string; progress: number; message: string; jobs: RoundJob[] }

declare global {
  interface Window { __roundsData?: Dashboard }
}

const config = readConfig<RoundsConfig>("rounds-config");
const api = config.apiBase;
const call = <T>(method: string, url: string, body?: unknown) => callJson<T>(method, url, { csrfToken: config.csrfToken, body });
const SVG = "http://www.w3.org/2000/svg";

function lineChart(series: CurveSeries[], xLabel: string, yLabel: string): Element {
  const layout = chartLayout(series);
  if (!layout) return el("p", {}, "No data yet.");
  const { W, H, L, B, R } = CHART;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "img");
  const add = (tag: string, attrs: Record<string, string | number>, text?: string, parent: Element = svg) => {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    parent.append(n);
    return n;
  };
  const { sy, yTop } = layout;
  add("line", { x1: L, y1: sy(0), x2: W - R, y2: sy(0), stroke: "#888" });
  add("line", { x1: L, y1: sy(0), x2: L, y2: sy(yTop), stroke: "#888" });
  for (const t of layout.yTicks) add("text", { x: 4, y: t.y + 4, "font-size": 10 }, t.label);
  for (const t of layout.xTicks) add("text", { x: t.x - 6, y: H - B + 14, "font-size": 10 }, t.label);
  add("text", { x: (W - R) / 2, y: H - 4, "font-size": 11 }, xLabel);
  add("text", { x: L, y: 12, "font-size": 11 }, yLabel);
  for (const line of layout.lines) {
    add("polyline", { points: line.polyline, fill: "none", stroke: line.colour, "stroke-width": 2 });
    for (const w of line.whiskers) add("line", { x1: w.x, x2: w.x, y1: w.y1, y2: w.y2, stroke: line.colour, "stroke-opacity": 0.5 });
    for (const d of line.dots) add("title", {}, d.title, add("circle", { cx: d.x, cy: d.y, r: 3, fill: line.colour }));
    add("text", { x: W - R + 8, y: line.legendY, "font-size": 11, fill: line.colour }, line.name);
  }
  return svg;
}

function renderCurve(data: Dashboard): void {
  const holder = document.getElementById("learning-curve");
  if (!holder) return;
  const select = document.getElementById("curve-class") as HTMLSelectElement | null;
  const cls = select && select.value !== "" ? Number(select.value) : null;
  const archs = [...new Set(data.learning_curve.flatMap((p) => Object.keys(p.architectures)))];
  const series: CurveSeries[] = archs.map((a) => ({
    name: a,
    points: data.learning_curve.filter((p) => p.architectures[a]).map((p) => [p.labelled,
      cls === null ? p.architectures[a].mean_iou : p.architectures[a].classes[cls]]),
  }));
  holder.replaceChildren(lineChart(series, "labelled slices", cls === null ? "mean IoU %" : `IoU % ${data.project.classes[cls]}`));
}

function renderEffort(data: Dashboard): void {
  const holder = document.getElementById("effort");
  if (!holder) return;
  if (!data.effort.length) {
    holder.replaceChildren(el("p", {}, "No human corrections yet."));
    return;
  }
  const head = el("tr", {}, el("th", {}, "pre-label from"), el("th", {}, "slices"), el("th", {}, "pixels changed"),
    el("th", {}, "seconds / slice"), ...data.project.classes.map((c) => el("th", {}, c)));
  const rows = data.effort.map((r) => el("tr", {}, el("td", {}, r.label + (r.round ? ` (round ${r.round})` : "")),
    el("td", {}, r.slices), el("td", {}, pct(r.changed_share)),
    el("td", {}, r.edit_seconds_per_slice === null ? "–" : r.edit_seconds_per_slice.toFixed(0)),
    ...r.per_class.map((c) => el("td", {}, pct(c.changed_share)))));
  holder.replaceChildren(el("table", { class: "effort" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}

async function renderModels(): Promise<void> {
  const holder = document.getElementById("models");
  if (!holder) return;
  const page = await call<{ results: { id: number; label: string; status: string; mean_iou: number | null; mean_iou_bg: number | null }[] }>(
    "GET", `${api}/models/?project=${config.project}`);
  const rows = page.results.map((v) => el("tr", {}, el("td", {}, v.label), el("td", {}, v.status),
    el("td", {}, pct(v.mean_iou)), el("td", {}, pct(v.mean_iou_bg)),
    el("td", {}, config.canLaunch && v.status !== "live" ? el("button", { onclick: () => void act(`${api}/models/${v.id}/promote/`, { note: "from dashboard" }) }, "Promote / roll back") : "",
      config.canLaunch ? el("button", { onclick: () => void act(`${api}/models/${v.id}/prelabel/`, {}) }, "Pre-label + rank") : "")));
  holder.replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, ...["version", "status", "mean IoU", "with background", ""].map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows)));
}

function simulationTable(s: Simulation): HTMLTableElement {
  const names = Object.keys(s.curves);
  const body = simulationRows(s).map((r) => el("tr", {}, el("td", {}, r.labelled),
    ...r.cells.map((c) => (c ? el("td", c.best ? { class: "best" } : {}, c.text) : el("td", {}, "")))));
  return el("table", { class: "list simulation-table" }, el("thead", {}, el("tr", {}, el("th", {}, "labelled"), ...names.map((n) => el("th", {}, n)))),
    el("tbody", {}, ...body));
}

function renderSimulations(data: Dashboard): void {
  const holder = document.getElementById("simulations");
  if (!holder) return;
  if (!data.simulations.length) {
    holder.replaceChildren(el("p", {}, "No simulation imported."));
    return;
  }
  holder.replaceChildren(...data.simulations.map((s) => el("figure", { "data-simulation": s.id },
    lineChart(Object.entries(s.curves).map(([name, pts]) => ({ name, points: pts.map((p) => [p.labelled, p.mean_iou, p.mean_iou_std]) })),
      "labelled slices", "mean IoU % (± std over seeds)"),
    el("figcaption", {}, simulationCaption(s)), simulationTable(s))));
}

async function act(url: string, body: unknown): Promise<void> {
  try {
    await call("POST", url, body);
  } catch (err) {
    alert((err as Error).message);
  }
  void refresh();
}

// --- round page: jobs with progress, epoch, loss, ETA, Cancel / Retry ----------------------------
function renderJobs(round: Round): void {
  const body = document.querySelector("#jobs tbody");
  if (!body) return;
  body.replaceChildren(...round.jobs.map((j) => el("tr", { "data-job": j.id }, el("td", {}, j.id),
    el("td", {}, jobTask(j.kind, j.params)),
    el("td", {}, j.state), el("td", {}, el("progress", { max: 1, value: j.progress })),
    el("td", {}, j.epoch ? `${j.epoch}/${j.epochs}` : ""), el("td", {}, j.loss !== null && j.loss !== undefined ? j.loss.toFixed(4) : ""),
    el("td", {}, j.eta_seconds ? `${Math.round(j.eta_seconds)} s` : ""),
    el("td", {}, j.state === "failed" ? el("span", { class: "error", title: j.error ?? "" }, `${j.message} `) : `${j.message} `,
      config.canLaunch && (j.state === "running" || j.state === "queued") ? el("button", { onclick: () => void act(`${api}/jobs/${j.id}/cancel/`, {}) }, "Cancel") : "",
      config.canLaunch && j.retryable ? el("button", { onclick: () => void act(`${api}/jobs/${j.id}/retry/`, {}) }, "Retry") : ""))));
  document.getElementById("round-state")!.textContent = round.state;
  (document.getElementById("round-progress") as HTMLProgressElement).value = round.progress;
  document.getElementById("round-message")!.textContent = round.message;
  const cancel = document.getElementById("cancel-round");
  if (cancel) cancel.hidden = round.state !== "running";
}

let timer: ReturnType<typeof setInterval> | null = null;
let sawRunning = false;
const stop = () => {
  if (timer) clearInterval(timer);
  timer = null;
};

async function refresh(): Promise<void> {
  try {
    if (config.roundId) {
      const round = await call<Round>("GET", `${api}/rounds/${config.roundId}/`);
      renderJobs(round);
      if (round.state !== "running") stop();
      // The IoU table and the versions are rendered by the server: reload once the round has ended.
      if (sawRunning && round.state !== "running") location.reload();
      sawRunning = round.state === "running";
      return;
    }
    const data = await call<Dashboard>("GET", `${api}/dashboard/?project=${config.project}`);
    renderCurve(data);
    renderEffort(data);
    renderSimulations(data);
    await renderModels();
    for (const r of data.rounds) {
      const row = document.querySelector(`tr[data-round="${r.id}"]`);
      if (!row) continue;
      row.querySelector(".state")!.textContent = r.state;
      row.querySelector("progress")!.value = r.progress;
      row.querySelector(".message")!.textContent = r.message;
    }
    if (!data.rounds.some((r) => r.state === "running")) stop();
    window.__roundsData = data;
  } catch (err) {
    console.error(err);
  }
}

document.querySelectorAll<HTMLElement>(".cancel-round, #cancel-round").forEach((b) =>
  b.addEventListener("click", () => void act(`${api}/rounds/${b.dataset.round}/cancel/`, {})));
document.getElementById("curve-class")?.addEventListener("change", () => window.__roundsData && renderCurve(window.__roundsData));
const upload = document.getElementById("simulation-upload") as HTMLFormElement | null;
upload?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(upload);
  form.append("project", String(config.project));
  const status = upload.querySelector(".status")!;
  try {
    await call("POST", `${api}/simulations/`, form);
    status.textContent = "imported";
  } catch (err) {
    status.textContent = (err as Error).message;
  }
  void refresh();
});
void refresh();
timer = setInterval(() => void refresh(), 2000);
