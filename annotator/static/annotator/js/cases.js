// Case list: "Next slice" claims a slice through the API and opens the editor; the import form uploads.
(function () {
  "use strict";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function errorText(response) {
    try {
      const body = await response.json();
      return body.detail || JSON.stringify(body);
    } catch (_) {
      return response.status + " " + response.statusText;
    }
  }

  const next = document.getElementById("next-slice");
  if (next) {
    next.addEventListener("click", async function () {
      const message = document.getElementById("next-message");
      next.disabled = true;
      message.textContent = "";
      try {
        const response = await fetch("/api/slices/next/", {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
        });
        if (response.ok) {
          const body = await response.json();
          window.location.href = "/slices/" + body.slice + "/edit/";
          return;
        }
        message.textContent = await errorText(response);
      } catch (err) {
        message.textContent = "Network error: " + err;
      }
      next.disabled = false;
    });
  }

  function showImported(body, result) {
    result.textContent = "Imported " + body.slices + " slices in " + body.series.length + " series" +
      (body.skipped_duplicates.length ? " (" + body.skipped_duplicates.length + " duplicates skipped)" : "") + ".";
    setTimeout(function () { window.location.reload(); }, 1200);
  }

  // A background import: poll its Job until it ends; show progress, then the report or the error.
  async function followImportJob(jobId, result) {
    for (let failures = 0; ;) {
      let response;
      try {
        response = await fetch("/api/jobs/" + jobId + "/", { credentials: "same-origin", headers: { Accept: "application/json" } });
      } catch (err) { // a network blip: keep following the job for a while
        if (++failures > 20) { result.textContent = "Lost contact with import job " + jobId + ": " + err; return; }
        await new Promise(function (resolve) { setTimeout(resolve, 3000); });
        continue;
      }
      if (!response.ok) { result.textContent = "Import job " + jobId + ": " + (await errorText(response)); return; }
      const job = await response.json();
      if (job.state === "succeeded") return showImported(job.result, result);
      if (job.state === "failed" || job.state === "cancelled") {
        result.textContent = "Import failed: " + job.message;
        return;
      }
      result.textContent = "Import job " + jobId + " " + job.state + (job.message ? ": " + job.message : "") + "…";
      await new Promise(function (resolve) { setTimeout(resolve, 1500); });
    }
  }

  const form = document.getElementById("import-form");
  if (form) {
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const result = document.getElementById("import-result");
      const button = form.querySelector("button");
      button.disabled = true;
      result.textContent = "Uploading…";
      try {
        const response = await fetch("/api/imports/", {
          method: "POST",
          credentials: "same-origin",
          headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
          body: new FormData(form),
        });
        if (response.status === 202) {
          await followImportJob((await response.json()).id, result);
        } else if (response.ok) {
          showImported(await response.json(), result);
        } else {
          result.textContent = "Import failed: " + (await errorText(response));
        }
      } catch (err) {
        result.textContent = "Network error: " + err;
      }
      button.disabled = false;
    });
  }
})();
