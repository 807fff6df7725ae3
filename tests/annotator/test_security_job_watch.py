"""The job watch (every worker's timer; never a GET): running jobs of lost workers fail (retryable),
queued jobs and rounds waiting for their fold jobs are never taken for dead."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from annotator.models import Job
from annotator.services.jobs import fail_orphaned_running_jobs
from annotator.tasks.watch import watch_once


def old() -> object:
    return timezone.now() - timedelta(minutes=10)


def test_a_running_job_without_heartbeats_fails_retryable_but_only_by_the_watch(db, client_for):
    job = Job.objects.create(kind="sleep", state="running", heartbeat_at=old(), message="ETA 985 s")
    listed = client_for("ada").get("/api/jobs/").json()["results"]
    assert [j["state"] for j in listed] == ["running"], "reading the job list changes nothing"
    assert client_for("ada").get(f"/api/jobs/{job.pk}/").json()["state"] == "running"
    assert watch_once()["reaped"] == 1
    job.refresh_from_db()
    assert job.state == "failed" and job.message.startswith("failed (retryable)")


def test_queued_jobs_and_a_round_waiting_for_its_queued_folds_are_never_reaped(db):
    waiting = Job.objects.create(kind="sleep", state="queued", created_at=old())
    Job.objects.filter(pk=waiting.pk).update(created_at=old())
    parent = Job.objects.create(kind="round", state="running", heartbeat_at=old())
    Job.objects.create(kind="train_fold", state="queued", parent=parent)
    assert watch_once()["reaped"] == 0
    assert Job.objects.get(pk=waiting.pk).state == "queued"
    assert Job.objects.get(pk=parent.pk).state == "running"


def test_a_fresh_heartbeat_keeps_a_running_job_alive(db):
    job = Job.objects.create(kind="sleep", state="running", heartbeat_at=timezone.now())
    assert watch_once()["reaped"] == 0 and Job.objects.get(pk=job.pk).state == "running"


def test_a_restarted_worker_fails_the_jobs_of_its_previous_life_at_once(db):
    mine = Job.objects.create(
        kind="sleep", state="running", heartbeat_at=timezone.now(), params={"_worker": "celery@a"}
    )
    other = Job.objects.create(
        kind="sleep", state="running", heartbeat_at=timezone.now(), params={"_worker": "io@a"}
    )
    assert fail_orphaned_running_jobs("celery@a") == 1
    assert (
        Job.objects.get(pk=mine.pk).state == "failed" and "restarted" in Job.objects.get(pk=mine.pk).message
    )
    assert Job.objects.get(pk=other.pk).state == "running", "another worker's job is left alone"
