/**
 * Review page: image + submitted mask, image + pre-label, image + changed pixels; pins; accept/reject.
 * Each panel shows the image at `zoom` canvas pixels per image pixel; pins are drawn and placed
 * through the same Viewport transform the editor uses (shared/geometry).
 */
import type { Viewport } from "../shared/geometry";
import { screenPoint } from "../shared/geometry";
import { readConfig } from "../shared/http";
import { diffSummary, historyLine, pinAt, pinItem, pinLabel, pinOnScreen, PinTicks, tickFailure, type DiffBody, type Pin, type ReviewDecision } from "../shared/review";

interface ReviewConfig { apiBase: string; sliceId: number; csrfToken: string; width: number; height: number; headRevision: number; canReview: boolean }

const config = readConfig<ReviewConfig>("review-config");
const api = `${config.apiBase}/slices/${config.sliceId}`;
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T | null;
const pins: Pin[] = [];
const layers: Record<string, HTMLImageElement> = {};
const PANELS: Record<string, string> = { "review-head": "head", "review-prelabel": "prelabel", "review-diff": "diff" };
let zoom = Number($<HTMLInputElement>("review-zoom")?.value || 2);
const ticks = new PinTicks(config.apiBase, config.csrfToken, $("review-root")?.dataset.user ?? "");

function loadImage(name: string, url: string): Promise<void> {
  return new Promise((resolve) => {
    const img = new Image();
    img.onload = () => {
      layers[name] = img;
      resolve();
    };
    img.onerror = () => resolve(); // a missing layer (no pre-label) just is not drawn
    img.src = url;
  });
}

function draw(): void {
  const alpha = Number($<HTMLInputElement>("review-opacity")?.value ?? 55) / 100;
  // Canvas pixels per image pixel, no offset: the panel's own viewport.
  const view: Viewport = { zoom, offsetX: 0, offsetY: 0 };
  for (const [id, layer] of Object.entries(PANELS)) {
    const canvas = $<HTMLCanvasElement>(id);
    if (!canvas) continue;
    canvas.width = config.width * zoom;
    canvas.height = config.height * zoom;
    const ctx = canvas.getContext("2d")!;
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (layers.image) ctx.drawImage(layers.image, 0, 0, canvas.width, canvas.height);
    if (layers[layer]) {
      ctx.globalAlpha = layer === "diff" ? Math.max(alpha, 0.8) : alpha;
      ctx.drawImage(layers[layer], 0, 0, canvas.width, canvas.height);
      ctx.globalAlpha = 1;
    }
    pins.forEach((pin, i) => drawPin(ctx, pin, i + 1, view));
  }
}

function drawPin(ctx: CanvasRenderingContext2D, pin: Pin, number: number, view: Viewport): void {
  const r = (pin.radius || 3) * view.zoom;
  const c = pinOnScreen(pin, view);
  ctx.strokeStyle = "#00e5ff";
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.arc(c.x, c.y, r, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.fillStyle = "#00e5ff";
  ctx.font = "bold 12px sans-serif";
  ctx.fillText(String(number), c.x + r + 2, c.y - r);
}

function renderPins(): void {
  const list = $("review-pins");
  if (!list) return;
  list.replaceChildren(...pins.map((pin, i) => {
    const li = document.createElement("li");
    li.textContent = `${pinLabel(pin)} `;
    const input = document.createElement("input");
    input.className = "pin-text";
    input.placeholder = "comment for this spot";
    input.value = pin.text;
    input.addEventListener("input", () => (pin.text = input.value));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "remove";
    remove.addEventListener("click", () => {
      pins.splice(i, 1);
      renderPins();
      draw();
    });
    li.append(input, " ", remove);
    return li;
  }));
}

function addPin(event: MouseEvent): void {
  if (!config.canReview) return;
  // The panel may be scaled by CSS: its on-screen viewport maps the whole image onto its box.
  const rect = (event.currentTarget as HTMLCanvasElement).getBoundingClientRect();
  const onScreen: Viewport = { zoom: rect.width / config.width, offsetX: 0, offsetY: 0 };
  pins.push(pinAt(screenPoint(event.clientX - rect.left, event.clientY - rect.top), onScreen));
  renderPins();
  draw();
  const inputs = document.querySelectorAll<HTMLInputElement>("#review-pins .pin-text");
  inputs[inputs.length - 1]?.focus();
}

async function loadDiff(): Promise<void> {
  const response = await fetch(`${api}/review-diff/`, { credentials: "same-origin" });
  const body = await response.json();
  const summary = $("review-diff-summary")!;
  if (!response.ok) {
    summary.textContent = body.detail || "no mask to compare";
    return;
  }
  summary.textContent = diffSummary(body as DiffBody);
  const tbody = document.querySelector("#review-diff-table tbody")!;
  tbody.replaceChildren(...(body as DiffBody).classes.map((c) => {
    const tr = document.createElement("tr");
    for (const v of [c.name, `+${c.added}`, `-${c.removed}`]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
}

/** One stored pin of the history with its "resolved" tick (stored on the server through PinTicks). */
function historyPin(pin: Pin, i: number): HTMLLIElement {
  const li = pinItem(pin, `[${i + 1}] ${pinLabel(pin)} ${pin.text}`, async (wanted) => {
    const status = $("review-tick-status");
    let shown = pin;
    try {
      shown = await ticks.set(pin, wanted);
      if (status) status.textContent = "";
    } catch (e) {
      const failure = tickFailure(e, i, "when this page is next opened");
      if (failure.kept) shown = { ...pin, resolved: wanted };
      if (status) status.textContent = failure.text;
    }
    li.replaceWith(historyPin(shown, i));
  });
  return li;
}

async function loadHistory(): Promise<void> {
  const response = await fetch(`${api}/reviews/`, { credentials: "same-origin" });
  if (!response.ok) return;
  const body = (await response.json()) as { results: ReviewDecision[] };
  // Ticks an earlier visit could not store go to the server now (their pins show as kept meanwhile).
  const decisions = await Promise.all(body.results.map(async (d) => ({ ...d, pins: (await ticks.flush(d.pins)).pins })));
  $("review-history")!.replaceChildren(...decisions.map((d) => {
    const li = document.createElement("li");
    li.className = `review-${d.decision}`;
    li.textContent = historyLine({ ...d, pins: [] });
    if (d.pins.length) {
      const list = document.createElement("ol");
      list.className = "review-history-pins";
      list.append(...d.pins.map(historyPin));
      li.append(list);
    }
    return li;
  }));
}

async function decide(decision: "accept" | "reject"): Promise<void> {
  const status = $("review-status")!;
  status.textContent = "saving…";
  let response: Response;
  try {
    response = await fetch(`${api}/review/`, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrfToken },
      body: JSON.stringify({ decision, comment: $<HTMLTextAreaElement>("review-comment")!.value, pins, revision: config.headRevision }),
    });
  } catch (err) {
    status.textContent = `not sent (network error: ${err}); your comment and pins are kept`;
    return;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    status.textContent = `refused: ${body.detail || response.status}`;
    return;
  }
  $("review-state")!.textContent = body.state;
  pins.length = 0;
  renderPins();
  draw();
  await loadHistory();
  status.textContent = decision === "accept" ? "accepted" : "rejected"; // last: tests wait on it
}

async function main(): Promise<void> {
  const v = `?v=${config.headRevision}`;
  await Promise.all([
    loadImage("image", `${api}/image/`),
    loadImage("head", `${api}/review-diff/${v}&layer=head`),
    loadImage("prelabel", `${api}/review-diff/${v}&layer=prelabel`),
    loadImage("diff", `${api}/review-diff/${v}&layer=diff`),
  ]);
  draw();
  for (const id of Object.keys(PANELS)) $(id)?.addEventListener("click", addPin);
  $("review-opacity")?.addEventListener("input", draw);
  $("review-zoom")?.addEventListener("input", (e) => {
    zoom = Number((e.target as HTMLInputElement).value);
    draw();
  });
  $("review-accept")?.addEventListener("click", () => void decide("accept"));
  $("review-reject")?.addEventListener("click", () => void decide("reject"));
  await Promise.all([loadDiff(), loadHistory()]);
  document.body.dataset.reviewReady = "1";
}

void main();
