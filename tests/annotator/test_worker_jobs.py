"""A real Celery worker on a real broker runs jobs and keeps their Job records true."""

from __future__ import annotations

import os
import signal

import pytest

from annotator.models import Job
from annotator.services import jobs
from tests.conftest import wait_for_job

pytestmark = pytest.mark.worker


def launch(kind: str, task: str, **params) -> Job:
    return jobs.create_job(kind, task_name=task, params=params)


def test_a_job_sent_to_the_worker_succeeds_with_its_result(celery_worker):
    job = launch("ping", "annotator.tasks.maintenance.ping", hello="world")
    done = wait_for_job(job.pk)
    assert done.state == "succeeded", done.error
    assert done.result["pong"] is True
    assert done.progress == 1.0 and done.started_at and done.finished_at


def test_a_failing_task_marks_its_job_failed_with_the_error(celery_worker):
    job = launch("sleep", "annotator.tasks.maintenance.sleep", seconds=0.2, fail="scanner exploded")
    done = wait_for_job(job.pk)
    assert done.state == "failed"
    assert "scanner exploded" in done.message and "RuntimeError" in done.error


def test_cancelling_a_running_job_stops_it(celery_worker):
    job = launch("sleep", "annotator.tasks.maintenance.sleep", seconds=30)
    wait_for_job(job.pk, states=("running",), timeout=60)
    jobs.request_cancel(Job.objects.get(pk=job.pk))
    done = wait_for_job(job.pk, timeout=30)
    assert done.state == "cancelled"
    assert done.progress < 1.0


def test_a_killed_worker_leaves_the_job_failed_and_a_retry_succeeds(celery_worker, settings):
    job = launch("sleep", "annotator.tasks.maintenance.sleep", seconds=60)
    wait_for_job(job.pk, states=("running",), timeout=60)
    os.killpg(celery_worker.pid, signal.SIGKILL)
    celery_worker.wait()
    # The worker is gone: after the staleness timeout the job is reaped as failed, never "running".
    Job.objects.filter(pk=job.pk).update(
        heartbeat_at=Job.objects.get(pk=job.pk).heartbeat_at.replace(year=2000)
    )
    assert jobs.reap_stale_jobs() == 1
    failed = Job.objects.get(pk=job.pk)
    assert failed.state == "failed" and "retry" in failed.message
    failed.params["seconds"] = 0.2
    Job.objects.filter(pk=job.pk).update(params=failed.params)
    jobs.retry(Job.objects.get(pk=job.pk))
    from django.db import connection

    from tests.servers import celery_worker_process, database_url_for

    env = {
        "SPINELAB_DATABASE_URL": database_url_for(connection.settings_dict),
        "SPINELAB_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SPINELAB_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    with celery_worker_process(env):
        done = wait_for_job(job.pk, timeout=60)
    assert done.state == "succeeded" and done.attempts == 2
