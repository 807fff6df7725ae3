/**
 * Exports page: queue an export or a DICOMweb transfer through the API, then poll its Job every 2 s
 * until it finishes; a finished export gets its Download link.
 */
import { callJson, readConfig } from "../shared/http";
import { FINISHED, type JobInfo } from "../shared/jobs";
import { exportBody, studiesText } from "./exports_form";

const config = readConfig<{ csrfToken: string; project: number }>("exports-config");
const call = <T>(method: string, url: string, body?: unknown) => callJson<T>(method, url, { csrfToken: config.csrfToken, body });
const table = document.querySelector<HTMLTableSectionElement>("#export-jobs tbody")!;

function row(job: JobInfo): HTMLTableRowElement {
  let tr = table.querySelector<HTMLTableRowElement>(`tr[data-job="${job.id}"]`);
  if (!tr) {
    table.querySelector("tr.empty")?.remove();
    tr = document.createElement("tr");
    tr.dataset.job = String(job.id);
    tr.innerHTML = '<td></td><td></td><td></td><td class="state"></td><td><progress max="1"></progress> <span class="message"></span></td><td class="actions"></td>';
    tr.children[0].textContent = `#${job.id}`;
    tr.children[1].textContent = job.kind;
    tr.children[2].textContent = String(job.params?.format ?? "");
    table.prepend(tr);
  }
  tr.dataset.state = job.state;
  tr.querySelector(".state")!.textContent = job.state;
  tr.querySelector("progress")!.value = job.progress;
  tr.querySelector(".message")!.textContent = job.message;
  const actions = tr.querySelector(".actions")!;
  if (job.kind === "export" && job.state === "succeeded" && !actions.querySelector("a")) {
    const link = document.createElement("a");
    link.href = `/api/exports/${job.id}/download/`;
    link.textContent = "Download";
    actions.append(link);
  }
  return tr;
}

async function follow(id: number | string): Promise<void> {
  try {
    const job = await call<JobInfo>("GET", `/api/jobs/${id}/`);
    row(job);
    if (!FINISHED.includes(job.state)) setTimeout(() => void follow(id), 2000);
  } catch {
    setTimeout(() => void follow(id), 4000); // a network blip: keep following
  }
}

table.querySelectorAll<HTMLTableRowElement>("tr[data-job]").forEach((tr) => {
  if (!FINISHED.includes(tr.dataset.state ?? "")) void follow(tr.dataset.job!);
});

function submitter(form: HTMLFormElement | null, build: (data: FormData) => unknown, url: string): void {
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = form.querySelector(".status")!;
    status.textContent = "queueing…";
    try {
      const job = await call<JobInfo>("POST", url, build(new FormData(form)));
      status.textContent = `job #${job.id} queued`;
      row(job);
      void follow(job.id);
    } catch (err) {
      status.textContent = (err as Error).message;
    }
  });
}

submitter(document.getElementById("export-form") as HTMLFormElement | null, exportBody, "/api/exports/");
submitter(document.getElementById("pacs-push") as HTMLFormElement | null, (data) => ({ series: Number(data.get("series")) }), "/api/dicomweb/push/");

const project = document.getElementById("export-project") as HTMLSelectElement;
project.addEventListener("change", () => {
  window.location.search = `?project=${project.selectedOptions[0].dataset.slug}`;
});

interface Study { patient?: string; date?: string; description?: string; study: string }

const search = document.getElementById("pacs-search") as HTMLFormElement | null;
search?.addEventListener("submit", async (event) => {
  event.preventDefault();
  const status = search.querySelector(".status")!;
  const body = document.querySelector("#pacs-studies tbody")!;
  status.textContent = "searching…";
  try {
    const query = new URLSearchParams(new FormData(search) as unknown as Record<string, string>);
    const studies = await call<Study[]>("GET", `/api/dicomweb/studies/?${query}`);
    status.textContent = studiesText(studies.length);
    body.replaceChildren();
    for (const s of studies) {
      const tr = document.createElement("tr");
      for (const v of [s.patient, s.date, s.description, s.study]) {
        const td = document.createElement("td");
        td.textContent = v || "";
        tr.append(td);
      }
      const button = document.createElement("button");
      button.textContent = "Import";
      button.onclick = async () => {
        try {
          const job = await call<JobInfo>("POST", "/api/dicomweb/import/", { project: config.project, study: s.study });
          row(job);
          void follow(job.id);
        } catch (err) {
          status.textContent = (err as Error).message;
        }
      };
      const td = document.createElement("td");
      td.append(button);
      tr.append(td);
      body.append(tr);
    }
  } catch (err) {
    status.textContent = (err as Error).message;
  }
});
