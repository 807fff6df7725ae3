"""POST /api/imports/: a zipped MIDS tree of phantom subjects becomes series and slices."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The role users are made with real password hashing otherwise (seconds per test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def mids_zip(tmp_path, settings) -> bytes:
    from mlcore.phantom import write_mids

    settings.MEDIA_ROOT = str(tmp_path / "media")
    root = tmp_path / "mids"
    write_mids(root, n_subjects=1, n_slices=2, size=(32, 32), seed=0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def upload(client, project, data: bytes, name: str = "mids.zip", **fields):
    file = SimpleUploadedFile(name, data, content_type="application/zip")
    return client.post("/api/imports/", {"file": file, "project": project.pk, **fields}, format="multipart")


def test_a_supervisor_imports_a_mids_zip_and_a_second_upload_is_recognised(client_for, project, mids_zip):
    sam = client_for("sam")
    first = upload(sam, project, mids_zip, kind="mids")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["series"] and body["slices"] >= 2
    listed = sam.get(f"/api/slices/?series={body['series'][0]}").json()
    assert listed["count"] >= 2
    again = upload(sam, project, mids_zip)
    assert again.status_code == 201 and again.json()["series"] == [] and again.json()["skipped_duplicates"]


def test_an_unreadable_upload_is_refused_with_400(client_for, project):
    response = upload(client_for("ada"), project, b"this is not a zip", name="junk.zip")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_a_bad_kind_or_missing_file_is_named(client_for, project):
    sam = client_for("sam")
    bad_kind = upload(sam, project, b"x", kind="jpeg")
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()["detail"]
    missing = sam.post("/api/imports/", {"project": project.pk}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["detail"]


def pending_uploads(settings) -> list[Path]:
    return [p for p in (Path(settings.MEDIA_ROOT) / "imports" / "pending").rglob("*") if p.is_file()]


def test_a_background_import_answers_202_with_its_job_and_the_worker_imports_the_upload(
    mids_zip, project, client_for, celery_worker, settings
):
    from annotator.models import Slice
    from tests.conftest import wait_for_job

    sam = client_for("sam")
    queued = upload(sam, project, mids_zip, kind="mids", background="true")
    assert queued.status_code == 202, queued.content
    assert queued.json()["kind"] == "import" and queued.json()["state"] == "queued"
    job = wait_for_job(queued.json()["id"])
    assert job.state == "succeeded", job.message + job.error
    report = sam.get(f"/api/jobs/{job.pk}/").json()["result"]
    assert report["series"] and report["slices"] >= 2
    assert Slice.objects.filter(series__in=report["series"]).count() == report["slices"]
    assert pending_uploads(settings) == [], "the stored upload is removed once imported"


def test_a_broken_background_upload_fails_its_job_naming_the_file_and_imports_nothing(
    mids_zip, project, client_for, celery_worker, settings
):
    from annotator.models import Series
    from tests.conftest import wait_for_job

    sam = client_for("sam")
    queued = upload(sam, project, mids_zip[: len(mids_zip) // 2], name="cut.zip", background="true")
    assert queued.status_code == 202, queued.content
    job = wait_for_job(queued.json()["id"])
    assert job.state == "failed" and "cut.zip" in job.message, job.message
    assert Series.objects.count() == 0 and pending_uploads(settings) == []
    assert client_for("bob").post(f"/api/jobs/{job.pk}/retry/").status_code in (403, 404)
    assert sam.post(f"/api/jobs/{job.pk}/retry/").status_code == 200  # their own import
    again = wait_for_job(job.pk)
    assert again.state == "failed" and "upload it again" in again.message, again.message


def test_an_oversized_background_upload_is_refused_before_anything_is_stored(
    mids_zip, project, client_for, settings
):
    settings.SPINELAB = {**settings.SPINELAB, "MAX_UPLOAD_BYTES": 100}
    refused = upload(client_for("sam"), project, mids_zip, background="true")
    assert refused.status_code == 413 and "limit" in refused.json()["detail"]
    assert pending_uploads(settings) == []
    assert client_for("alice").post("/api/imports/", {}, format="multipart").status_code == 403


def test_an_import_cancelled_before_the_worker_starts_it_leaves_no_stored_upload(
    mids_zip, project, users, settings
):
    from annotator.imports.service import queue_import
    from annotator.models import Series
    from annotator.services.jobs import request_cancel
    from annotator.tasks.imports import run_import

    job = queue_import(SimpleUploadedFile("mids.zip", mids_zip), project, "mids", user=users["sam"])
    assert len(pending_uploads(settings)) == 1
    request_cancel(job)
    run_import(job.pk)  # what the worker does when the task's message arrives
    job.refresh_from_db()
    assert job.state == "cancelled" and pending_uploads(settings) == [] and Series.objects.count() == 0


def test_a_long_step_keeps_its_job_alive_with_heartbeats(transactional_db, users):
    import time

    from annotator.models import Job
    from annotator.services.jobs import heartbeat, reap_stale_jobs

    job = Job.objects.create(kind="import", state="running", created_by=users["sam"])
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with heartbeat(job.pk, every=0.05):
        time.sleep(0.5)
    job.refresh_from_db()
    assert timezone.now() - job.heartbeat_at < timedelta(seconds=5)
    assert reap_stale_jobs() == 0 and Job.objects.get(pk=job.pk).state == "running"


def test_a_png_zip_with_a_corrupt_image_is_refused_naming_it_and_imports_nothing(
    client_for, project, tmp_path, settings
):
    """PNG imports write image by image (issue 17); a bad image after good ones still gives a 400 and
    leaves neither series nor stored files."""
    import numpy as np
    from PIL import Image

    from annotator.models import Series

    settings.MEDIA_ROOT = str(tmp_path / "media")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for stem in ("0", "1"):
            image = io.BytesIO()
            Image.fromarray(np.full((20, 12), 60, np.uint8)).save(image, format="PNG")
            archive.writestr(f"images/{stem}.png", image.getvalue())
        archive.writestr("images/2.png", b"\x89PNG\r\n\x1a\n truncated")
    response = upload(client_for("sam"), project, buffer.getvalue(), name="pngs.zip")
    assert response.status_code == 400, response.content
    assert "images/2.png" in response.json()["detail"]
    assert Series.objects.count() == 0
    assert [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()] == []
