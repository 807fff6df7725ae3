"""Background imports run on their own `io` queue and worker, so they never wait behind training."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from annotator.models import Job
from annotator.services import jobs
from tests.conftest import wait_for_job

pytestmark = pytest.mark.worker


def test_an_import_finishes_while_the_gpu_worker_is_busy_training(
    transactional_db, users, project, settings, tmp_path
):
    from django.db import connection

    from annotator.imports.service import queue_import
    from mlcore.phantom import write_mids
    from tests.servers import celery_worker_process, database_url_for

    settings.MEDIA_ROOT = str(tmp_path / "media")
    root = tmp_path / "mids"
    write_mids(root, n_subjects=1, n_slices=2, size=(32, 32), seed=0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    env = {
        "SPINELAB_DATABASE_URL": database_url_for(connection.settings_dict),
        "SPINELAB_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SPINELAB_VAR_DIR": str(settings.VAR_DIR),
        "SPINELAB_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    with celery_worker_process(env, queues="default,gpu"), celery_worker_process(env, queues="io"):
        # A long job occupies the training worker (solo pool: one task at a time).
        training = jobs.create_job(
            "sleep", task_name="annotator.tasks.maintenance.sleep", params={"seconds": 120}, queue="gpu"
        )
        wait_for_job(training.pk, states=("running",), timeout=60)
        upload = SimpleUploadedFile("mids.zip", buffer.getvalue(), content_type="application/zip")
        job = queue_import(upload, project, kind="mids", user=users["sam"])
        assert job.queue == "io"
        done = wait_for_job(job.pk, timeout=120)
        assert done.state == "succeeded", done.message
        assert Job.objects.get(pk=training.pk).state == "running", "the import did not wait for it"
        jobs.request_cancel(Job.objects.get(pk=training.pk))
        wait_for_job(training.pk, timeout=30)
