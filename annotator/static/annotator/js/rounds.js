// Rounds dashboard and round page: live job progress (polled every 2 s), Cancel/Retry, learning
// curves as inline SVG (no CDN: the machine may be offline), models with Promote / Pre-label.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("rounds-config").textContent);
  const api = config.apiBase;

  async function call(method, url, body, isForm) {
    const headers = { "X-CSRFToken": config.csrfToken, Accept: "application/json" };
    if (body && !isForm) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body ? (isForm ? body : JSON.stringify(body)) : undefined,
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || response.statusText);
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => (k === "onclick" ? (node.onclick = v) : node.setAttribute(k, v)));
    children.forEach((c) => node.append(c instanceof Node ? c : document.createTextNode(String(c))));
    return node;
  }

  const pct = (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + " %");
  const COLOURS = ["#4363d8", "#e6194b", "#3cb44b", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#469990", "#9a6324", "#808000"];

  // --- SVG line chart: series = [{name, points: [[x, y, std?], ...]}], y in 0..1 -------------------
  // The y axis runs from 0 to the next tenth above the data (so low early-round IoUs stay readable);
  // a third value per point draws a +- std whisker.
  function lineChart(series, xLabel, yLabel) {
    const W = 560, H = 270, L = 48, B = 36, T = 24, R = 150;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("role", "img");
    const xs = series.flatMap((s) => s.points.map((p) => p[0]));
    if (!xs.length) return el("p", {}, "No data yet.");
    const x0 = Math.min(...xs), x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
    const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const tops = series.flatMap((s) => s.points.filter((p) => p[1] !== null && p[1] !== undefined).map((p) => p[1] + (p[2] || 0)));
    const yTop = Math.min(1, Math.max(0.1, Math.ceil(Math.max(0, ...tops) * 10 - 1e-9) / 10));
    const sy = (y) => H - B - (y / yTop) * (H - B - T);
    const add = (tag, attrs, text) => {
      const n = document.createElementNS(ns, tag);
      Object.entries(attrs).forEach(([k, v]) => n.setAttribute(k, v));
      if (text !== undefined) n.textContent = text;
      svg.append(n);
      return n;
    };
    add("line", { x1: L, y1: sy(0), x2: W - R, y2: sy(0), stroke: "#888" });
    add("line", { x1: L, y1: sy(0), x2: L, y2: sy(yTop), stroke: "#888" });
    [0, 0.25, 0.5, 0.75, 1].forEach((f) => add("text", { x: 4, y: sy(f * yTop) + 4, "font-size": 10 }, (f * yTop * 100).toFixed((yTop * 100 / 4) % 1 ? 1 : 0)));
    const distinct = [...new Set(xs)].sort((a, b) => a - b);
    (distinct.length <= 12 ? distinct : [x0, x1]).forEach((v) => add("text", { x: sx(v) - 6, y: H - B + 14, "font-size": 10 }, Math.round(v)));
    add("text", { x: (W - R) / 2, y: H - 4, "font-size": 11 }, xLabel);
    add("text", { x: L, y: 12, "font-size": 11 }, yLabel);
    series.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length];
      const pts = s.points.filter((p) => p[1] !== null && p[1] !== undefined);
      add("polyline", { points: pts.map((p) => `${sx(p[0])},${sy(p[1])}`).join(" "), fill: "none", stroke: colour, "stroke-width": 2 });
      pts.filter((p) => p[2]).forEach((p) => add("line", { x1: sx(p[0]), x2: sx(p[0]), y1: sy(Math.max(0, p[1] - p[2])),
        y2: sy(Math.min(yTop, p[1] + p[2])), stroke: colour, "stroke-opacity": 0.5 }));
      pts.forEach((p) => add("circle", { cx: sx(p[0]), cy: sy(p[1]), r: 3, fill: colour }).append(
        Object.assign(document.createElementNS(ns, "title"), { textContent: `${s.name}: ${pct(p[1])} at ${p[0]}` })));
      add("text", { x: W - R + 8, y: T + 12 + 14 * i, "font-size": 11, fill: colour }, s.name);
    });
    return svg;
  }

  function renderCurve(data) {
    const holder = document.getElementById("learning-curve");
    if (!holder) return;
    const select = document.getElementById("curve-class");
    const cls = select && select.value !== "" ? Number(select.value) : null;
    const archs = [...new Set(data.learning_curve.flatMap((p) => Object.keys(p.architectures)))];
    const series = archs.map((a) => ({
      name: a,
      points: data.learning_curve.filter((p) => p.architectures[a]).map((p) => [p.labelled,
        cls === null ? p.architectures[a].mean_iou : p.architectures[a].classes[cls]]),
    }));
    holder.replaceChildren(lineChart(series, "labelled slices", cls === null ? "mean IoU %" : `IoU % ${data.project.classes[cls]}`));
  }

  function renderEffort(data) {
    const holder = document.getElementById("effort");
    if (!holder) return;
    if (!data.effort.length) return holder.replaceChildren(el("p", {}, "No human corrections yet."));
    const head = el("tr", {}, el("th", {}, "pre-label from"), el("th", {}, "slices"), el("th", {}, "pixels changed"),
      el("th", {}, "seconds / slice"), ...data.project.classes.map((c) => el("th", {}, c)));
    const rows = data.effort.map((r) => el("tr", {}, el("td", {}, r.label + (r.round ? ` (round ${r.round})` : "")),
      el("td", {}, r.slices), el("td", {}, pct(r.changed_share)),
      el("td", {}, r.edit_seconds_per_slice === null ? "–" : r.edit_seconds_per_slice.toFixed(0)),
      ...r.per_class.map((c) => el("td", {}, pct(c.changed_share)))));
    holder.replaceChildren(el("table", { class: "effort" }, el("thead", {}, head), el("tbody", {}, ...rows)));
  }

  async function renderModels() {
    const holder = document.getElementById("models");
    if (!holder) return;
    const page = await call("GET", `${api}/models/?project=${config.project}`);
    const rows = page.results.map((v) => el("tr", {}, el("td", {}, v.label), el("td", {}, v.status),
      el("td", {}, pct(v.mean_iou)), el("td", {}, pct(v.mean_iou_bg)),
      el("td", {}, config.canLaunch && v.status !== "live" ? el("button", { onclick: () => act(`${api}/models/${v.id}/promote/`, { note: "from dashboard" }) }, "Promote / roll back") : "",
        config.canLaunch ? el("button", { onclick: () => act(`${api}/models/${v.id}/prelabel/`, {}) }, "Pre-label + rank") : "")));
    holder.replaceChildren(el("table", {}, el("thead", {}, el("tr", {}, ...["version", "status", "mean IoU", "with background", ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)));
  }

  function renderSimulations(data) {
    const holder = document.getElementById("simulations");
    if (!holder) return;
    if (!data.simulations.length) return holder.replaceChildren(el("p", {}, "No simulation imported."));
    holder.replaceChildren(...data.simulations.map((s) => el("figure", { "data-simulation": s.id },
      lineChart(Object.entries(s.curves).map(([name, pts]) => ({ name, points: pts.map((p) => [p.labelled, p.mean_iou, p.mean_iou_std]) })),
        "labelled slices", "mean IoU % (± std over seeds)"),
      el("figcaption", {}, simulationCaption(s)), simulationTable(s))));
  }

  function simulationCaption(s) {
    const c = s.config || {};
    const parts = [s.name];
    if (c.seeds) parts.push(`${c.seeds.length} seed(s)`);
    if (c.initial !== undefined && c.initial !== null) parts.push(`${c.initial} labelled at start, +${c.batch} per round`);
    if (c.pool_size) parts.push(`pool of ${c.pool_size} slices`);
    return parts.join(" · ");
  }

  // Rows: labelled slices; columns: strategies; cells: mean IoU +- std over seeds, best per row in bold.
  function simulationTable(s) {
    const names = Object.keys(s.curves);
    const rows = Math.max(...names.map((n) => s.curves[n].length));
    const body = [];
    for (let r = 0; r < rows; r++) {
      const values = names.map((n) => s.curves[n][r]);
      const best = Math.max(...values.filter(Boolean).map((p) => p.mean_iou));
      const first = values.find(Boolean);
      body.push(el("tr", {}, el("td", {}, first ? first.labelled : ""), ...values.map((p) => !p ? el("td", {}, "") :
        el("td", p.mean_iou === best ? { class: "best" } : {}, `${pct(p.mean_iou)} ± ${(100 * (p.mean_iou_std || 0)).toFixed(1)}`))));
    }
    return el("table", { class: "list simulation-table" }, el("thead", {}, el("tr", {}, el("th", {}, "labelled"), ...names.map((n) => el("th", {}, n)))),
      el("tbody", {}, ...body));
  }

  async function act(url, body) {
    try { await call("POST", url, body); } catch (err) { alert(err.message); }
    refresh();
  }

  // --- round page: jobs with progress, epoch, loss, ETA, Cancel / Retry --------------------------
  function renderJobs(round) {
    const body = document.querySelector("#jobs tbody");
    if (!body) return;
    body.replaceChildren(...round.jobs.map((j) => el("tr", { "data-job": j.id }, el("td", {}, j.id),
      el("td", {}, `${j.kind} ${j.params.arch || ""} ${j.params.fold === -1 ? "all subjects" : j.params.fold !== undefined ? "fold " + j.params.fold : ""}`),
      el("td", {}, j.state), el("td", {}, el("progress", { max: 1, value: j.progress })),
      el("td", {}, j.epoch ? `${j.epoch}/${j.epochs}` : ""), el("td", {}, j.loss !== null && j.loss !== undefined ? j.loss.toFixed(4) : ""),
      el("td", {}, j.eta_seconds ? `${Math.round(j.eta_seconds)} s` : ""),
      el("td", {}, j.state === "failed" ? el("span", { class: "error", title: j.error }, j.message + " ") : j.message + " ",
        config.canLaunch && (j.state === "running" || j.state === "queued") ? el("button", { onclick: () => act(`${api}/jobs/${j.id}/cancel/`, {}) }, "Cancel") : "",
        config.canLaunch && j.retryable ? el("button", { onclick: () => act(`${api}/jobs/${j.id}/retry/`, {}) }, "Retry") : ""))));
    document.getElementById("round-state").textContent = round.state;
    document.getElementById("round-progress").value = round.progress;
    document.getElementById("round-message").textContent = round.message;
    const cancel = document.getElementById("cancel-round");
    if (cancel) cancel.hidden = round.state !== "running";
  }

  let timer = null;
  let sawRunning = false;
  async function refresh() {
    try {
      if (config.roundId) {
        const round = await call("GET", `${api}/rounds/${config.roundId}/`);
        renderJobs(round);
        if (round.state !== "running") { clearInterval(timer); timer = null; }
        // The IoU table and the versions are rendered by the server: reload once the round has ended.
        if (sawRunning && round.state !== "running") location.reload();
        sawRunning = round.state === "running";
        return;
      }
      const data = await call("GET", `${api}/dashboard/?project=${config.project}`);
      renderCurve(data);
      renderEffort(data);
      renderSimulations(data);
      await renderModels();
      data.rounds.forEach((r) => {
        const row = document.querySelector(`tr[data-round="${r.id}"]`);
        if (!row) return;
        row.querySelector(".state").textContent = r.state;
        row.querySelector("progress").value = r.progress;
        row.querySelector(".message").textContent = r.message;
      });
      if (!data.rounds.some((r) => r.state === "running") && timer) { clearInterval(timer); timer = null; }
      window.__roundsData = data;
    } catch (err) { console.error(err); }
  }

  document.querySelectorAll(".cancel-round, #cancel-round").forEach((b) =>
    b.addEventListener("click", () => act(`${api}/rounds/${b.dataset.round}/cancel/`, {})));
  const select = document.getElementById("curve-class");
  if (select) select.addEventListener("change", () => window.__roundsData && renderCurve(window.__roundsData));
  const upload = document.getElementById("simulation-upload");
  if (upload) upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = new FormData(upload);
    form.append("project", config.project);
    try { await call("POST", `${api}/simulations/`, form, true); upload.querySelector(".status").textContent = "imported"; }
    catch (err) { upload.querySelector(".status").textContent = err.message; }
    refresh();
  });
  refresh();
  timer = setInterval(refresh, 2000);
})();
