/** Case list: "Next slice" claims a slice through the API and opens the editor; the import form uploads. */
import { csrfFromCookie, errorText } from "../shared/http";
import { followJob, importedText, type ImportReport } from "../shared/jobs";

/** POST to the API with the session's CSRF token (`body`: an upload form, if any). */
const post = (url: string, body?: FormData): Promise<Response> => fetch(url, {
  method: "POST", credentials: "same-origin", body,
  headers: { "X-CSRFToken": csrfFromCookie(document.cookie), Accept: "application/json" },
});

const next = document.getElementById("next-slice") as HTMLButtonElement | null;
next?.addEventListener("click", async () => {
  const message = document.getElementById("next-message")!;
  next.disabled = true;
  message.textContent = "";
  try {
    const response = await post("/api/slices/next/");
    if (response.ok) {
      const body = await response.json();
      window.location.href = `/slices/${body.slice}/edit/`;
      return;
    }
    message.textContent = await errorText(response);
  } catch (err) {
    message.textContent = `Network error: ${err}`;
  }
  next.disabled = false;
});

function showImported(body: ImportReport, result: HTMLElement): void {
  result.textContent = importedText(body);
  setTimeout(() => window.location.reload(), 1200);
}

const form = document.getElementById("import-form") as HTMLFormElement | null;
form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const result = document.getElementById("import-result")!;
  const button = form.querySelector("button")!;
  button.disabled = true;
  result.textContent = "Uploading…";
  try {
    const response = await post("/api/imports/", new FormData(form));
    if (response.status === 202) {
      // A background import: follow its Job until it ends; show progress, then the report or the error.
      const id = (await response.json()).id as number;
      const end = await followJob(id, (text) => (result.textContent = text));
      if (end.ok) showImported(end.job.result as ImportReport, result);
    } else if (response.ok) {
      showImported(await response.json(), result);
    } else {
      result.textContent = `Import failed: ${await errorText(response)}`;
    }
  } catch (err) {
    result.textContent = `Network error: ${err}`;
  }
  button.disabled = false;
});
