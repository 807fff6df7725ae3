"""A failed Job shows whoever launched it a message without tracebacks or server paths; the
traceback stays for ML staff and admins."""

from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.annotator.test_rounds_launch import SMALL, accepted  # noqa: F401 (a fixture, used by name)


def test_a_failed_background_import_shows_its_uploader_no_traceback_or_server_path(
    client_for, users, project, settings, tmp_path
):
    from annotator.imports.service import queue_import
    from annotator.tasks.imports import run_import

    settings.MEDIA_ROOT = str(tmp_path / "media")
    job = queue_import(SimpleUploadedFile("cut.zip", b"PK\x03\x04 broken"), project, user=users["sam"])
    run_import(job.pk)  # the task body, as the worker runs it
    seen = client_for("sam").get(f"/api/jobs/{job.pk}/").json()
    assert seen["state"] == "failed" and "cut.zip" in seen["message"], seen
    assert seen["error"] == "" and "Traceback" not in str(seen) and str(tmp_path) not in str(seen)
    assert re.search(r"/[\w.-]+/", seen["message"]) is None, seen["message"]  # no folder at all
    staff = client_for("ada").get(f"/api/jobs/{job.pk}/").json()
    assert "Traceback" in staff["error"], "admins keep the traceback to debug"


def test_an_unexpected_failure_names_the_file_but_not_its_server_path(client_for, users, tmp_path):
    from annotator.models import Job
    from annotator.services.jobs import run_job

    job = Job.objects.create(kind="import", created_by=users["sam"])
    hidden = tmp_path / "deep" / "server" / "folder" / "upload.zip"

    def work(job: Job) -> None:
        raise OSError(f"[Errno 2] No such file or directory: '{hidden}'")

    run_job(job.pk, work)
    seen = client_for("sam").get(f"/api/jobs/{job.pk}/").json()
    assert seen["message"] == "OSError: [Errno 2] No such file or directory: 'upload.zip'"
    assert str(tmp_path) not in str(seen)


def test_a_failed_fold_jobs_traceback_is_for_ml_staff_not_supervisors(client_for, accepted):  # noqa: F811
    from annotator.models import Job

    accepted(["S01", "S02"])
    rnd = client_for("mia").post("/api/rounds/", SMALL, format="json").json()
    Job.objects.filter(parent=rnd["job"]).update(
        state="failed", message="RuntimeError: boom", error='Traceback: File "/srv/spinelab/x.py"'
    )
    for_supervisor = client_for("sam").get(f"/api/rounds/{rnd['id']}/").json()["jobs"]
    assert for_supervisor and all(j["error"] == "" for j in for_supervisor)
    for_staff = client_for("mia").get(f"/api/rounds/{rnd['id']}/").json()["jobs"]
    assert all("Traceback" in j["error"] for j in for_staff)
