/** The editor's DOM: toolbar, class list, view controls, status and the conflict dialog. */
import type { LabelClassInfo } from "./api";
import { TOOLS } from "./tools";

const html = String.raw;

export interface Ui {
  root: HTMLElement;
  stage: HTMLElement;
  imageCanvas: HTMLCanvasElement;
  prelabelCanvas: HTMLCanvasElement;
  maskCanvas: HTMLCanvasElement;
  /** The right pane of side by side: its channel's image and a mirror of the mask. */
  imageCanvas2: HTMLCanvasElement;
  maskCanvas2: HTMLCanvasElement;
  /** The interpolation proposal waiting on the open slice, hatched (left pane and right pane). */
  proposalCanvas: HTMLCanvasElement;
  proposalCanvas2: HTMLCanvasElement;
  cursorCanvas: HTMLCanvasElement;
  measureSvg: SVGSVGElement;
  /** Review pin markers (screen-positioned through the viewport). */
  pinLayer: HTMLElement;
  el<T extends HTMLElement = HTMLElement>(id: string): T;
}

export function buildUi(root: HTMLElement): Ui {
  root.innerHTML = html`
    <header class="ed-bar">
      <a id="back" href="/">&larr; Cases</a>
      <span id="title" class="ed-title">Loading…</span>
      <button id="prev-slice" title="Previous slice (, or PageUp)">&lsaquo; Prev</button>
      <button id="next-slice" title="Next slice (. or PageDown)">Next &rsaquo;</button>
      <button id="next-assigned" title="Claim my next slice">Next assigned slice</button>
      <span id="notice" class="ed-notice" role="status" hidden></span>
      <span class="ed-spacer"></span>
      <span id="save-state" class="ed-save" data-state="saved">Saved</span>
      <button id="save-now">Save</button>
      <button id="submit" class="primary">Submit for review</button>
    </header>
    <nav id="slice-strip" class="ed-strip" aria-label="Slices of this series"></nav>
    <div class="ed-main">
      <aside class="ed-side">
        <section>
          <h3>Tool</h3>
          <div class="ed-tools">
            ${TOOLS.map((t) => html`<button id="tool-${t.name}" data-tool="${t.name}" title="${t.title}">${t.label}</button>`).join("\n")}
          </div>
          <label>Size <input id="brush-size" type="range" min="1" max="100" value="10"> <output id="brush-size-out">10</output></label>
          <label><input id="only-bg" type="checkbox"> Paint only over background</label>
        </section>
        <section>
          <h3>Classes <small class="ed-cols">show · lock</small></h3>
          <ul id="class-list" class="ed-classes"></ul>
        </section>
        <section>
          <h3>Neighbours</h3>
          <div class="ed-tools">
            <button id="copy-prev" title="Copy the previous labelled slice's mask">Copy previous</button>
            <button id="copy-next" title="Copy the next labelled slice's mask">Copy next</button>
          </div>
          <label><input id="copy-class-only" type="checkbox"> Only the active class</label>
          <button id="interpolate" title="Shape-based interpolation between the labelled slices before and after this one">Interpolate between labelled</button>
          <span id="proposal-actions" class="ed-proposal" hidden>
            <button id="accept-proposal" title="Apply the hatched proposal to this slice (Ctrl+Z undoes)">Accept proposal</button>
            <button id="discard-proposal" title="Drop this slice's proposal">Discard</button>
          </span>
        </section>
        <section>
          <h3>View</h3>
          <label>Mask opacity <input id="opacity" type="range" min="0" max="100" value="50"></label>
          <label><input id="outline" type="checkbox"> Outline only (O)</label>
          <label><input id="compare-prelabel" type="checkbox" disabled> Show pre-label (hold P)</label>
          <button id="accept-prelabel" hidden>Accept pre-label</button>
          <button id="toggle-measure" title="Vertebral body heights and Genant grades of the saved mask (M)" aria-pressed="false">Measurements</button>
          <p id="measure-status" class="ed-readout" hidden></p>
          <a id="measure-report" href="#" target="_blank" rel="noopener">Series measurement report</a>
          <label>Channel <select id="channel"></select></label>
          <button id="side-by-side" title="Two channels side by side, one mask (D)" aria-pressed="false">Side by side</button>
          <label>Window <select id="wl-preset"></select></label>
          <span id="wl-readout" class="ed-readout"></span>
          <div class="ed-tools">
            <button id="fit" title="Fit to window (Home)">Fit</button>
            <button id="undo" title="Undo (Ctrl+Z)">Undo</button>
            <button id="redo" title="Redo (Ctrl+Shift+Z / Ctrl+Y)">Redo</button>
          </div>
        </section>
        <section id="review-thread" class="ed-review" aria-label="Review comments" hidden></section>
        <p class="ed-help">Wheel: slices · Ctrl+wheel: zoom · Space+drag or middle drag: pan · Right-drag: window/level ·
          [ ]: brush size · 1-9 0 - =: class · Ctrl+Z / Ctrl+Y · , . : slices · M: measurements · D: side by side</p>
      </aside>
      <div id="stage" class="ed-stage">
        <canvas id="image-layer" class="ed-layer"></canvas>
        <canvas id="prelabel-layer" class="ed-layer" hidden></canvas>
        <canvas id="mask-layer" class="ed-layer"></canvas>
        <canvas id="proposal-layer" class="ed-layer ed-proposal-layer" hidden></canvas>
        <svg id="measure-layer" class="ed-layer" hidden></svg>
        <div id="pin-layer" class="ed-pins"></div>
        <div id="pane-right" class="ed-pane-right" hidden>
          <canvas id="image-layer-2" class="ed-layer"></canvas>
          <canvas id="mask-layer-2" class="ed-layer"></canvas>
          <canvas id="proposal-layer-2" class="ed-layer ed-proposal-layer" hidden></canvas>
        </div>
        <canvas id="cursor-layer" class="ed-cursor"></canvas>
        <div id="stage-message" class="ed-message" hidden></div>
      </div>
    </div>
    <dialog id="conflict-dialog">
      <p id="conflict-text"></p>
      <p>Your version is kept as a revision either way.</p>
      <button id="keep-mine">Keep mine</button>
      <button id="take-theirs">Take theirs</button>
    </dialog>`;
  const el = <T extends HTMLElement = HTMLElement>(id: string): T => {
    const found = root.querySelector<T>(`#${id}`);
    if (!found) throw new Error(`editor UI element #${id} missing`);
    return found;
  };
  return {
    root, el,
    stage: el("stage"),
    imageCanvas: el<HTMLCanvasElement>("image-layer"),
    prelabelCanvas: el<HTMLCanvasElement>("prelabel-layer"),
    maskCanvas: el<HTMLCanvasElement>("mask-layer"),
    imageCanvas2: el<HTMLCanvasElement>("image-layer-2"),
    maskCanvas2: el<HTMLCanvasElement>("mask-layer-2"),
    proposalCanvas: el<HTMLCanvasElement>("proposal-layer"),
    proposalCanvas2: el<HTMLCanvasElement>("proposal-layer-2"),
    cursorCanvas: el<HTMLCanvasElement>("cursor-layer"),
    measureSvg: root.querySelector<SVGSVGElement>("#measure-layer")!,
    pinLayer: el("pin-layer"),
  };
}

/** Render the class list; callbacks receive the class index. */
export function renderClasses(
  ui: Ui, classes: readonly LabelClassInfo[], active: number, visible: readonly boolean[], locked: ReadonlySet<number>,
  on: { select(i: number): void; toggleVisible(i: number): void; toggleLock(i: number): void },
): void {
  const list = ui.el("class-list");
  list.replaceChildren(
    ...classes.map((c) => {
      const li = document.createElement("li");
      li.className = c.index === active ? "active" : "";
      li.dataset.class = String(c.index);
      li.innerHTML = html`<span class="swatch" style="background:${c.colour}"></span>
        <span class="key">${c.key}</span><span class="name"></span>
        <input type="checkbox" class="vis" title="Show this class" ${visible[c.index] ? "checked" : ""}>
        <input type="checkbox" class="lock" title="Protect: no tool overwrites this class" ${locked.has(c.index) ? "checked" : ""}>`;
      li.querySelector(".name")!.textContent = c.name;
      li.addEventListener("click", () => on.select(c.index));
      li.querySelector(".vis")!.addEventListener("click", (e) => e.stopPropagation());
      li.querySelector(".lock")!.addEventListener("click", (e) => e.stopPropagation());
      li.querySelector(".vis")!.addEventListener("change", () => on.toggleVisible(c.index));
      li.querySelector(".lock")!.addEventListener("change", () => on.toggleLock(c.index));
      return li;
    }),
  );
}

const LABELS: Record<string, string> = { saved: "Saved", saving: "Saving…", unsaved: "Unsaved changes", error: "Save failed", conflict: "Conflict" };

export function showSaveState(ui: Ui, state: string, detail: string): void {
  const s = ui.el("save-state");
  s.dataset.state = state;
  s.textContent = LABELS[state] ?? state;
  s.title = detail;
  document.body.dataset.saveState = state;
}
