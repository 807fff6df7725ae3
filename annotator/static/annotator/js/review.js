// Review page: image + submitted mask, image + pre-label, image + changed pixels; pins; accept/reject.
// Coordinates: pins are stored in image pixels (x = column, y = row); canvases draw at `zoom` px/pixel.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("review-config").textContent);
  const api = config.apiBase + "/slices/" + config.sliceId;
  const $ = (id) => document.getElementById(id);
  const pins = []; // {x, y, text}
  const layers = {}; // name -> HTMLImageElement (image, head, prelabel, diff)
  let zoom = Number(($("review-zoom") || {}).value || 2);

  function loadImage(name, url) {
    return new Promise((resolve) => {
      const img = new Image();
      img.onload = () => { layers[name] = img; resolve(img); };
      img.onerror = () => resolve(null); // a missing layer (no pre-label) just is not drawn
      img.src = url;
    });
  }

  function draw() {
    const alpha = Number(($("review-opacity") || { value: 55 }).value) / 100;
    const panels = { "review-head": "head", "review-prelabel": "prelabel", "review-diff": "diff" };
    for (const [id, layer] of Object.entries(panels)) {
      const canvas = $(id);
      if (!canvas) continue;
      canvas.width = config.width * zoom;
      canvas.height = config.height * zoom;
      const ctx = canvas.getContext("2d");
      ctx.imageSmoothingEnabled = false;
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      if (layers.image) ctx.drawImage(layers.image, 0, 0, canvas.width, canvas.height);
      if (layers[layer]) {
        ctx.globalAlpha = layer === "diff" ? Math.max(alpha, 0.8) : alpha;
        ctx.drawImage(layers[layer], 0, 0, canvas.width, canvas.height);
        ctx.globalAlpha = 1;
      }
      pins.forEach((pin, i) => drawPin(ctx, pin, i + 1));
    }
  }

  function drawPin(ctx, pin, number) {
    const r = (pin.radius || 3) * zoom;
    ctx.strokeStyle = "#00e5ff";
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(pin.x * zoom, pin.y * zoom, r, 0, 2 * Math.PI);
    ctx.stroke();
    ctx.fillStyle = "#00e5ff";
    ctx.font = "bold 12px sans-serif";
    ctx.fillText(String(number), pin.x * zoom + r + 2, pin.y * zoom - r);
  }

  function renderPins() {
    const list = $("review-pins");
    if (!list) return;
    list.innerHTML = "";
    pins.forEach((pin, i) => {
      const li = document.createElement("li");
      li.textContent = `(${Math.round(pin.x)}, ${Math.round(pin.y)}) `;
      const input = document.createElement("input");
      input.className = "pin-text";
      input.placeholder = "comment for this spot";
      input.value = pin.text;
      input.addEventListener("input", () => { pin.text = input.value; });
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "remove";
      remove.addEventListener("click", () => { pins.splice(i, 1); renderPins(); draw(); });
      li.append(input, " ", remove);
      list.append(li);
    });
  }

  function addPin(event) {
    if (!config.canReview) return;
    const rect = event.currentTarget.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * config.width; // screen -> image pixels
    const y = ((event.clientY - rect.top) / rect.height) * config.height;
    pins.push({ x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10, radius: 4, text: "" });
    renderPins();
    draw();
    const inputs = document.querySelectorAll("#review-pins .pin-text");
    if (inputs.length) inputs[inputs.length - 1].focus();
  }

  async function loadDiff() {
    const response = await fetch(api + "/review-diff/", { credentials: "same-origin" });
    const body = await response.json();
    if (!response.ok) { $("review-diff-summary").textContent = body.detail || "no mask to compare"; return; }
    const share = ((100 * body.changed_pixels) / body.total_pixels).toFixed(1);
    $("review-diff-summary").textContent = body.prelabel_revision
      ? `${body.changed_pixels} pixels (${share}%) changed from pre-label revision ${body.prelabel_revision}`
      : `No pre-label: all ${body.changed_pixels} labelled pixels are new`;
    const tbody = document.querySelector("#review-diff-table tbody");
    tbody.innerHTML = "";
    for (const c of body.classes) {
      const tr = document.createElement("tr");
      for (const v of [c.name, "+" + c.added, "-" + c.removed]) {
        const td = document.createElement("td"); td.textContent = v; tr.append(td);
      }
      tbody.append(tr);
    }
  }

  async function loadHistory() {
    const response = await fetch(api + "/reviews/", { credentials: "same-origin" });
    if (!response.ok) return;
    const body = await response.json();
    const list = $("review-history");
    list.innerHTML = "";
    for (const d of body.results) {
      const li = document.createElement("li");
      li.className = "review-" + d.decision;
      const pinsText = d.pins.map((p, i) => ` [${i + 1}] (${Math.round(p.x)}, ${Math.round(p.y)}) ${p.text}`).join(";");
      li.textContent = `${d.created_at.slice(0, 16).replace("T", " ")} ${d.reviewer}: ${d.decision} of revision ${d.revision}` +
        (d.comment ? ` — ${d.comment}` : "") + pinsText;
      list.append(li);
    }
  }

  async function decide(decision) {
    const status = $("review-status");
    status.textContent = "saving…";
    const response = await fetch(api + "/review/", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": config.csrfToken },
      body: JSON.stringify({ decision, comment: $("review-comment").value, pins, revision: config.headRevision }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) { status.textContent = `refused: ${body.detail || response.status}`; return; }
    $("review-state").textContent = body.state;
    pins.length = 0;
    renderPins();
    draw();
    await loadHistory();
    status.textContent = decision === "accept" ? "accepted" : "rejected"; // last: tests wait on it
  }

  async function main() {
    const v = `?v=${config.headRevision}`;
    await Promise.all([
      loadImage("image", api + "/image/"),
      loadImage("head", api + "/review-diff/" + v + "&layer=head"),
      loadImage("prelabel", api + "/review-diff/" + v + "&layer=prelabel"),
      loadImage("diff", api + "/review-diff/" + v + "&layer=diff"),
    ]);
    draw();
    for (const id of ["review-head", "review-prelabel", "review-diff"]) {
      const canvas = $(id);
      if (canvas) canvas.addEventListener("click", addPin);
    }
    ($("review-opacity") || { addEventListener() {} }).addEventListener("input", draw);
    ($("review-zoom") || { addEventListener() {} }).addEventListener("input", (e) => { zoom = Number(e.target.value); draw(); });
    if ($("review-accept")) $("review-accept").addEventListener("click", () => decide("accept"));
    if ($("review-reject")) $("review-reject").addEventListener("click", () => decide("reject"));
    await Promise.all([loadDiff(), loadHistory()]);
    document.body.dataset.reviewReady = "1";
  }

  main();
})();
