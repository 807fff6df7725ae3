/** Entry point: read the page's JSON config, build the UI, load the slice. */
import "../editor/editor.css";
import { Editor, type EditorConfig } from "../editor/editor";
import { bindControls, bindInput, fillPresets } from "../editor/input";
import { buildUi } from "../editor/ui";

declare global {
  interface Window {
    spinelabEditor?: Editor;
  }
}

async function boot(): Promise<void> {
  const script = document.getElementById("editor-config");
  const root = document.getElementById("editor");
  if (!script || !root) throw new Error("editor page is missing #editor-config or #editor");
  const config = JSON.parse(script.textContent || "{}") as EditorConfig;
  // ?autosave=<ms> overrides the delay (the benchmark uses 0).
  const q = new URLSearchParams(window.location.search).get("autosave");
  if (q !== null && !Number.isNaN(Number(q))) config.autosaveMs = Number(q);
  const ui = buildUi(root);
  const editor = new Editor(ui, config);
  window.spinelabEditor = editor;
  try {
    await editor.load();
  } catch (e) {
    const msg = ui.el("stage-message");
    msg.hidden = false;
    msg.textContent = `Could not load slice ${config.sliceId}: ${e instanceof Error ? e.message : e}`;
    document.body.dataset.editorReady = "error";
    throw e;
  }
  bindControls(editor);
  bindInput(editor);
  fillPresets(editor);
  document.body.dataset.editorReady = "1";
}

void boot();
