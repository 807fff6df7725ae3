// Shows the latest rejection of the slice open in the editor: the comment and its numbered pins in
// #review-comments, and pin markers over the editor canvas (assuming it shows the whole image).
// The editor may redraw markers itself from `window.spinelabReview` / the "review-comments" event.
(function () {
  "use strict";
  const configNode = document.getElementById("editor-config");
  if (!configNode) return;
  const config = JSON.parse(configNode.textContent);
  const apiBase = config.apiBase || "/api";

  function canvasOf() {
    return document.querySelector("#review-pin-target, canvas.editor-canvas, #editor canvas, canvas");
  }

  function placeMarkers(review, width, height) {
    const canvas = canvasOf();
    if (!canvas || !review.pins.length) return;
    const host = canvas.parentElement;
    if (getComputedStyle(host).position === "static") host.style.position = "relative";
    host.querySelectorAll(".review-pin-marker").forEach((n) => n.remove());
    const rect = canvas.getBoundingClientRect();
    const hostRect = host.getBoundingClientRect();
    review.pins.forEach((pin, i) => {
      const marker = document.createElement("div");
      marker.className = "review-pin-marker";
      marker.title = pin.text;
      marker.textContent = String(i + 1);
      const left = rect.left - hostRect.left + (pin.x / width) * rect.width;
      const top = rect.top - hostRect.top + (pin.y / height) * rect.height;
      Object.assign(marker.style, {
        position: "absolute", left: `${left - 9}px`, top: `${top - 9}px`, width: "18px", height: "18px",
        borderRadius: "50%", border: "2px solid #00e5ff", color: "#00e5ff", font: "bold 11px sans-serif",
        textAlign: "center", lineHeight: "14px", pointerEvents: "none", zIndex: 10,
      });
      host.append(marker);
    });
  }

  function render(review, state, width, height) {
    const box = document.getElementById("review-comments");
    if (!box) return;
    box.innerHTML = "";
    if (!review) { box.hidden = true; return; }
    box.hidden = false;
    const head = document.createElement("p");
    head.className = "review-comments-head";
    head.textContent = `Rejected by ${review.reviewer} (revision ${review.revision})` +
      (state === "rejected" ? " — fix and resubmit" : "") + (review.comment ? `: ${review.comment}` : "");
    box.append(head);
    const list = document.createElement("ol");
    for (const pin of review.pins) {
      const li = document.createElement("li");
      li.textContent = `(${Math.round(pin.x)}, ${Math.round(pin.y)}) ${pin.text}`;
      list.append(li);
    }
    box.append(list);
    placeMarkers(review, width, height);
  }

  async function load() {
    const response = await fetch(`${apiBase}/slices/${config.sliceId}/reviews/`, { credentials: "same-origin" });
    if (!response.ok) return;
    const body = await response.json();
    const latest = body.results[0];
    const review = latest && latest.decision === "reject" ? latest : null;
    window.spinelabReview = { review, width: body.width, height: body.height };
    render(review, body.state, body.width, body.height);
    window.addEventListener("resize", () => review && placeMarkers(review, body.width, body.height));
    document.dispatchEvent(new CustomEvent("review-comments", { detail: window.spinelabReview }));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
