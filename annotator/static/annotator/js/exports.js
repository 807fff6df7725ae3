// Exports page: queue an export or a DICOMweb transfer through the API, then poll its Job every 2 s
// until it finishes; a finished export gets its Download link.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("exports-config").textContent);

  async function call(method, url, body) {
    const headers = { "X-CSRFToken": config.csrfToken, Accept: "application/json" };
    if (body) headers["Content-Type"] = "application/json";
    const response = await fetch(url, { method, headers, credentials: "same-origin", body: body ? JSON.stringify(body) : undefined });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || response.statusText);
    return data;
  }

  const table = document.querySelector("#export-jobs tbody");
  const FINISHED = ["succeeded", "failed", "cancelled"];

  function row(job) {
    let tr = table.querySelector(`tr[data-job="${job.id}"]`);
    if (!tr) {
      table.querySelector("tr.empty")?.remove();
      tr = document.createElement("tr");
      tr.dataset.job = job.id;
      tr.innerHTML = '<td></td><td></td><td></td><td class="state"></td><td><progress max="1"></progress> <span class="message"></span></td><td class="actions"></td>';
      tr.children[0].textContent = `#${job.id}`;
      tr.children[1].textContent = job.kind;
      tr.children[2].textContent = (job.params && job.params.format) || "";
      table.prepend(tr);
    }
    tr.dataset.state = job.state;
    tr.querySelector(".state").textContent = job.state;
    tr.querySelector("progress").value = job.progress;
    tr.querySelector(".message").textContent = job.message;
    const actions = tr.querySelector(".actions");
    if (job.kind === "export" && job.state === "succeeded" && !actions.querySelector("a")) {
      const link = document.createElement("a");
      link.href = `/api/exports/${job.id}/download/`;
      link.textContent = "Download";
      actions.append(link);
    }
    return tr;
  }

  async function follow(id) {
    try {
      const job = await call("GET", `/api/jobs/${id}/`);
      row(job);
      if (!FINISHED.includes(job.state)) setTimeout(() => follow(id), 2000);
    } catch (err) {
      setTimeout(() => follow(id), 4000); // a network blip: keep following
    }
  }

  table.querySelectorAll("tr[data-job]").forEach((tr) => {
    if (!FINISHED.includes(tr.dataset.state)) follow(tr.dataset.job);
  });

  function submitter(form, build, url) {
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = form.querySelector(".status");
      status.textContent = "queueing…";
      try {
        const job = await call("POST", url, build(new FormData(form)));
        status.textContent = `job #${job.id} queued`;
        row(job);
        follow(job.id);
      } catch (err) {
        status.textContent = err.message;
      }
    });
  }

  submitter(document.getElementById("export-form"), (data) => {
    const body = {
      project: Number(data.get("project")),
      format: data.get("format"),
      state: data.get("state"),
      track: data.get("track"),
      channels: data.get("channels"),
      include_images: data.get("include_images") === "on",
      subjects: data.getAll("subjects").map(Number),
    };
    if (data.get("round")) body.round = Number(data.get("round"));
    return body;
  }, "/api/exports/");

  submitter(document.getElementById("pacs-push"), (data) => ({ series: Number(data.get("series")) }), "/api/dicomweb/push/");

  const project = document.getElementById("export-project");
  project.addEventListener("change", () => {
    window.location.search = `?project=${project.selectedOptions[0].dataset.slug}`;
  });

  const search = document.getElementById("pacs-search");
  if (search) {
    search.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = search.querySelector(".status");
      const body = document.querySelector("#pacs-studies tbody");
      status.textContent = "searching…";
      try {
        const query = new URLSearchParams(new FormData(search));
        const studies = await call("GET", `/api/dicomweb/studies/?${query}`);
        status.textContent = `${studies.length} stud${studies.length === 1 ? "y" : "ies"}`;
        body.replaceChildren();
        studies.forEach((s) => {
          const tr = document.createElement("tr");
          [s.patient, s.date, s.description, s.study].forEach((v) => {
            const td = document.createElement("td");
            td.textContent = v || "";
            tr.append(td);
          });
          const button = document.createElement("button");
          button.textContent = "Import";
          button.onclick = async () => {
            try {
              const job = await call("POST", "/api/dicomweb/import/", { project: config.project, study: s.study });
              row(job);
              follow(job.id);
            } catch (err) {
              status.textContent = err.message;
            }
          };
          const td = document.createElement("td");
          td.append(button);
          tr.append(td);
          body.append(tr);
        });
      } catch (err) {
        status.textContent = err.message;
      }
    });
  }
})();
