"""Worker loss with a real Celery worker: kill -9 it while a job runs, restart it, and the job is
"failed (retryable)" within 15 seconds; a retry then succeeds."""

from __future__ import annotations

import os
import signal

import pytest

from annotator.models import Job
from annotator.services import jobs
from tests.conftest import wait_for_job

pytestmark = pytest.mark.worker


def test_a_killed_and_restarted_worker_fails_its_running_job_within_15_seconds(celery_worker, settings):
    from django.db import connection

    from tests.servers import celery_worker_process, database_url_for

    job = jobs.create_job("sleep", task_name="annotator.tasks.maintenance.sleep", params={"seconds": 120})
    running = wait_for_job(job.pk, states=("running",), timeout=60)
    assert running.params.get("_worker"), "the job records which worker runs it"
    os.killpg(celery_worker.pid, signal.SIGKILL)
    celery_worker.wait()
    assert Job.objects.get(pk=job.pk).state == "running"  # nothing has noticed yet
    env = {
        "SPINELAB_DATABASE_URL": database_url_for(connection.settings_dict),
        "SPINELAB_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SPINELAB_VAR_DIR": str(settings.VAR_DIR),
        "SPINELAB_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    with celery_worker_process(env):
        failed = wait_for_job(job.pk, states=("failed",), timeout=15)  # counted from the restart
        assert failed.message.startswith("failed (retryable)"), failed.message
        Job.objects.filter(pk=job.pk).update(params={**failed.params, "seconds": 0.2})
        jobs.retry(Job.objects.get(pk=job.pk))
        done = wait_for_job(job.pk, timeout=60)
    assert done.state == "succeeded" and done.attempts == 2
