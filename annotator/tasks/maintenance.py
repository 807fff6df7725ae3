"""Small housekeeping tasks on the default queue."""

from __future__ import annotations

from celery import shared_task

from annotator.models.jobs import TASK_NAMES, Job
from annotator.services import jobs


@shared_task(name=TASK_NAMES[Job.Kind.PING])
def ping(job_id: int) -> None:
    """A no-op job: proves the worker, the broker and the Job protocol work end to end."""
    jobs.run_job(job_id, lambda job: {"pong": True, "params": job.params})


@shared_task(name=TASK_NAMES[Job.Kind.SLEEP])
def sleep(job_id: int) -> None:
    """Sleep `seconds` in small steps, reporting progress and honouring cancellation (used by tests)."""
    import time

    def work(job):
        seconds = float(job.params.get("seconds", 1.0))
        steps = max(1, int(seconds / 0.1))
        for step in range(steps):
            time.sleep(seconds / steps)
            jobs.report_progress(job.pk, (step + 1) / steps, f"step {step + 1}/{steps}")
        if job.params.get("fail"):
            raise RuntimeError(job.params["fail"])
        return {"slept": seconds}

    jobs.run_job(job_id, work)
