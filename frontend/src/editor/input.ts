/** Pointer (mouse, pen, touch), wheel and keyboard bindings of the editor. */
import type { Editor } from "./editor";
import type { ScreenPoint } from "../shared/geometry";
import { pan, screenPoint, toImage, zoomAround } from "../shared/geometry";
import { stepBrush } from "./paint";
import type { Gesture } from "./tools";
import { toolForKey, windowLevel } from "./tools";
import { presets } from "./window";

/** Wheel delta (CSS pixels) of one mouse-wheel notch: one slice. */
export const WHEEL_NOTCH = 100;

/** Dragging with the middle button or Space held pans the view, whatever the tool. */
function panGesture(ed: Editor, start: ScreenPoint): Gesture {
  let last = start;
  return {
    move(_p, s) {
      ed.setViewport(pan(ed.state.viewport, s.x - last.x, s.y - last.y));
      last = s;
    },
    up: () => undefined,
  };
}

export function bindInput(ed: Editor): void {
  const stage = ed.ui.stage;
  let spaceDown = false;
  let gestureViewport = ed.state.viewport;
  const local = (e: { clientX: number; clientY: number }): ScreenPoint => {
    const r = stage.getBoundingClientRect();
    return screenPoint(e.clientX - r.left, e.clientY - r.top);
  };

  stage.addEventListener("contextmenu", (e) => e.preventDefault());
  stage.addEventListener("pointerdown", (e) => {
    if (ed.busy) return;
    const s = local(e);
    try {
      stage.setPointerCapture(e.pointerId);
    } catch {
      // Synthetic events (tests, benchmark) have no active pointer to capture.
    }
    e.preventDefault();
    gestureViewport = ed.side.viewportAt(s);
    // preventDefault() also stops the browser moving focus to the stage: do it here, or a select
    // used last would keep swallowing the editor's keys.
    if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
    const p = toImage(s, gestureViewport);
    const panning = e.button === 1 || spaceDown;
    // A window drag on the right pane of side by side sets that pane's channel's window.
    const windowing = e.button === 2 || (e.button === 0 && ed.tool === windowLevel);
    const rightWindow = !panning && windowing ? ed.side.windowGesture(s) : null;
    if (panning) ed.startPlainGesture(panGesture(ed, s));
    else if (rightWindow) ed.startPlainGesture(rightWindow);
    else if (e.button === 2) ed.startGesture(windowLevel, p, s);
    else if (e.button === 0) ed.startGesture(ed.tool, p, s);
  });

  stage.addEventListener("pointermove", (e) => {
    const s = local(e);
    // While a gesture runs, the pane it started in maps the pointer (a stroke may cross the middle).
    const p = toImage(s, ed.busy ? gestureViewport : ed.side.viewportAt(s));
    ed.state.update({ cursor: p });
    ed.moveGesture(p, s);
  });

  const end = (e: PointerEvent) => {
    if (!ed.busy) return;
    if (stage.hasPointerCapture(e.pointerId)) stage.releasePointerCapture(e.pointerId);
    ed.endGesture();
  };
  stage.addEventListener("pointerup", end);
  stage.addEventListener("pointercancel", end);
  stage.addEventListener("pointerleave", () => ed.state.update({ cursor: null }));

  // Wheel: one slice per notch (trackpads accumulate); Ctrl/Cmd + wheel (and pinch) zooms.
  let wheelSum = 0;
  stage.addEventListener("wheel", (e) => {
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) {
      const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      ed.setViewport(zoomAround(ed.state.viewport, ed.side.toLeft(local(e)), factor));
      return;
    }
    wheelSum += e.deltaMode === 1 ? e.deltaY * WHEEL_NOTCH / 3 : e.deltaY;
    const steps = Math.trunc(wheelSum / WHEEL_NOTCH);
    if (!steps) return;
    wheelSum -= steps * WHEEL_NOTCH;
    void ed.goTo(steps > 0 ? ed.slice.next_slice : ed.slice.previous_slice);
  }, { passive: false });

  // Back / forward between slices opened in place.
  window.addEventListener("popstate", (e) => {
    const id = (e.state as { slice?: number } | null)?.slice ?? Number(/\/slices\/(\d+)\/edit\//.exec(window.location.pathname)?.[1]);
    if (id) void ed.open(id, "pop");
  });

  window.addEventListener("keydown", (e) => {
    const target = e.target as HTMLElement;
    if (target.tagName === "INPUT" && (target as HTMLInputElement).type !== "checkbox" && (target as HTMLInputElement).type !== "range") return;
    if (target.tagName === "SELECT") return;
    const key = e.key;
    const ctrl = e.ctrlKey || e.metaKey;
    if (ctrl && (key === "z" || key === "Z")) {
      e.preventDefault();
      if (e.shiftKey) ed.redo();
      else ed.undo();
      return;
    }
    if (ctrl && (key === "y" || key === "Y")) {
      e.preventDefault();
      ed.redo();
      return;
    }
    if (ctrl || e.altKey) return;
    if (key === " ") {
      spaceDown = true;
      e.preventDefault();
    } else if (key === "[" || key === "]") {
      ed.state.update({ brushSize: stepBrush(ed.state.brushSize, key === "]" ? 1 : -1) });
    } else if (key === "p" || key === "P") {
      ed.comparePrelabel(true);
    } else if (key === "o" || key === "O") {
      const box = ed.ui.el<HTMLInputElement>("outline");
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change"));
    } else if (key === "m" || key === "M") {
      void ed.toggleMeasurements();
    } else if (key === "d" || key === "D") {
      ed.side.toggle();
    } else if (key === "Home") {
      ed.fit();
    } else if (key === "," || key === "PageUp") {
      e.preventDefault();
      void ed.goTo(ed.slice.previous_slice);
    } else if (key === "." || key === "PageDown") {
      e.preventDefault();
      void ed.goTo(ed.slice.next_slice);
    } else if (toolForKey(key)) {
      ed.setTool(toolForKey(key)!.name);
    } else {
      const cls = ed.classes.find((c) => c.key === key);
      if (cls) ed.selectClass(cls.index);
    }
  });
  window.addEventListener("keyup", (e) => {
    if (e.key === " ") spaceDown = false;
    if (e.key === "p" || e.key === "P") ed.comparePrelabel(ed.ui.el<HTMLInputElement>("compare-prelabel").checked);
  });
}

/** Toolbar and side-panel controls. */
export function bindControls(ed: Editor): void {
  const { el } = ed.ui;
  ed.controlsBound = true;
  ed.ui.root.querySelectorAll<HTMLElement>("[data-tool]").forEach((b) =>
    b.addEventListener("click", () => ed.setTool(b.dataset.tool!)),
  );
  el<HTMLInputElement>("brush-size").addEventListener("input", (e) => ed.state.update({ brushSize: Number((e.target as HTMLInputElement).value) }));
  el<HTMLInputElement>("only-bg").addEventListener("change", (e) => ed.state.update({ onlyBackground: (e.target as HTMLInputElement).checked }));
  el<HTMLInputElement>("opacity").addEventListener("input", (e) => {
    // Opacity is a CSS property of the mask layer: no pixel is re-rendered.
    const v = Number((e.target as HTMLInputElement).value) / 100;
    ed.ui.maskCanvas.style.opacity = ed.ui.prelabelCanvas.style.opacity = ed.ui.maskCanvas2.style.opacity = String(v);
  });
  el<HTMLInputElement>("outline").addEventListener("change", (e) => {
    ed.maskLayer.outline = ed.prelabelLayer.outline = (e.target as HTMLInputElement).checked;
    ed.rerenderMask();
  });
  el<HTMLInputElement>("compare-prelabel").addEventListener("change", (e) => ed.comparePrelabel((e.target as HTMLInputElement).checked));
  el("accept-prelabel").addEventListener("click", () => ed.acceptPrelabel());
  el("side-by-side").addEventListener("click", () => ed.side.toggle());
  const classOnly = () => el<HTMLInputElement>("copy-class-only").checked;
  const failed = (err: Error) => ed.notify(err.message, "error");
  el("copy-prev").addEventListener("click", () => void ed.neighbours.copy(-1, classOnly()).catch(failed));
  el("copy-next").addEventListener("click", () => void ed.neighbours.copy(1, classOnly()).catch(failed));
  el("interpolate").addEventListener("click", () => void ed.neighbours.interpolate().catch(failed));
  el("accept-proposal").addEventListener("click", () => ed.neighbours.acceptProposal());
  el("discard-proposal").addEventListener("click", () => ed.neighbours.discardProposal());
  el("toggle-measure").addEventListener("click", () => void ed.toggleMeasurements());
  el("fit").addEventListener("click", () => ed.fit());
  el("undo").addEventListener("click", () => ed.undo());
  el("redo").addEventListener("click", () => ed.redo());
  el("save-now").addEventListener("click", () => void ed.autosave.flush());
  el("submit").addEventListener("click", () => void ed.submit().catch((err) => ed.notify(`Submit failed: ${err.message}`, "error")));
  el("prev-slice").addEventListener("click", () => void ed.goTo(ed.slice.previous_slice));
  el("next-slice").addEventListener("click", () => void ed.goTo(ed.slice.next_slice));
  el("next-assigned").addEventListener("click", () => void ed.nextAssigned().catch((err) => ed.notify(err.message, "error")));
  el("keep-mine").addEventListener("click", () => void ed.resolveConflict("mine"));
  el("take-theirs").addEventListener("click", () => void ed.resolveConflict("theirs"));
  // A select keeps the keyboard focus (and the editor ignores keys typed into it): hand it back.
  el<HTMLSelectElement>("channel").addEventListener("change", (e) => {
    const sel = e.target as HTMLSelectElement;
    sel.blur();
    void ed.setChannel(sel.value).then(() => fillPresets(ed));
  });
  el<HTMLSelectElement>("wl-preset").addEventListener("change", (e) => {
    const sel = e.target as HTMLSelectElement;
    sel.blur();
    const preset = presets(ed.stats())[Number(sel.value)];
    if (preset) ed.setWindow(preset.wl);
  });
  window.addEventListener("resize", () => ed.fit());
  // Leaving the page: a keepalive PUT outlives it (sendBeacon cannot PUT).
  window.addEventListener("pagehide", () => ed.autosave.flushOnUnload());
  window.addEventListener("beforeunload", (e) => {
    if (ed.autosave.dirty) {
      ed.autosave.flushOnUnload();
      e.preventDefault();
    }
  });
}

/** Populate channel and preset selectors once the slice is loaded. */
export function fillPresets(ed: Editor): void {
  const ch = ed.ui.el<HTMLSelectElement>("channel");
  ch.replaceChildren(...ed.slice.channels.map((c) => new Option(c, c, false, c === ed.state.channel)));
  ch.disabled = ed.slice.channels.length < 2;
  const sel = ed.ui.el<HTMLSelectElement>("wl-preset");
  sel.replaceChildren(...presets(ed.stats()).map((p, i) => new Option(p.name, String(i))));
  const hasPre = ed.prelabel !== null;
  ed.ui.el<HTMLInputElement>("compare-prelabel").disabled = !hasPre;
  ed.ui.el("accept-prelabel").hidden = !(hasPre && ed.slice.head_revision === null);
}
