"""Job lifecycle: create + enqueue after commit, progress, cancellation, failure, stale-worker reaping.

Tasks never hold a transaction while they work; each update is its own small write so the web
process sees progress at once.
"""

from __future__ import annotations

import re
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from annotator.env import knob
from annotator.errors import InvalidTransition, SpineLabError
from annotator.models import Job
from annotator.models.jobs import TASK_NAMES
from annotator.users import Viewer, signed_in

WORKER_KEY = "_worker"  # params key: the Celery node running the job


class JobCancelled(Exception):
    """Raised inside a task when its Job was asked to stop."""


def create_job(
    kind: str,
    *,
    task_name: str | None = None,
    params: dict[str, Any] | None = None,
    user: Viewer | None = None,
    queue: str = "default",
    parent: Job | None = None,
) -> Job:
    """Create a queued Job and send its Celery task (`TASK_NAMES[kind]`) once the surrounding
    transaction commits. `task_name` is only for a kind without an entry in TASK_NAMES."""
    known = TASK_NAMES.get(kind)
    if known and task_name and task_name != known:
        raise ValueError(f"a {kind} job runs {known}, not {task_name}")
    if not known and not task_name:
        raise ValueError(f"no task runs jobs of kind {kind!r}: add it to Job.Kind and TASK_NAMES")
    params = dict(params or {})
    if not known:  # an ad-hoc kind: its task is remembered the old way, so a retry can find it
        params["_task"] = task_name
    job = Job.objects.create(
        kind=kind,
        params=params,
        queue=queue,
        parent=parent,
        created_by=signed_in(user),
    )
    transaction.on_commit(lambda: enqueue(job))
    return job


def enqueue(job: Job) -> None:
    from annotator.celery import app

    result = app.send_task(job.task_name, args=[job.pk], queue=job.queue)
    Job.objects.filter(pk=job.pk).update(celery_task_id=result.id or "")


def current_worker() -> str:
    """The Celery node name (e.g. "celery@host") running the current task; "" outside a worker."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    if request is None or getattr(request, "is_eager", False):
        return ""
    return str(getattr(request, "hostname", "") or "")


def mark_running(job_id: int, worker: str = "") -> Job:
    now = timezone.now()
    fields: dict[str, Any] = {}
    if worker:  # which worker runs it: a restart of that worker fails the job at once
        params = Job.objects.values_list("params", flat=True).get(pk=job_id)
        fields["params"] = {**params, WORKER_KEY: worker}
    Job.objects.filter(pk=job_id).update(
        state=Job.State.RUNNING,
        started_at=now,
        heartbeat_at=now,
        message="started",
        error="",
        attempts=F("attempts") + 1,
        **fields,
    )
    return Job.objects.get(pk=job_id)


def report_progress(job_id: int, progress: float, message: str = "", **result: Any) -> None:
    """Record progress (0..1) and raise JobCancelled if someone asked the job to stop."""
    fields: dict[str, Any] = {"progress": max(0.0, min(1.0, progress)), "heartbeat_at": timezone.now()}
    if message:
        fields["message"] = message[:500]
    Job.objects.filter(pk=job_id).update(**fields)
    if result:
        job = Job.objects.get(pk=job_id)
        job.result.update(result)
        Job.objects.filter(pk=job_id).update(result=job.result)
    check_cancelled(job_id)


def check_cancelled(job_id: int) -> None:
    if Job.objects.filter(pk=job_id, cancel_requested=True).exists():
        raise JobCancelled(f"job {job_id} was cancelled")


@contextmanager
def heartbeat(job_id: int, every: float = 30.0) -> Iterator[None]:
    """Keep a long step that cannot report progress (an import) from being reaped as stale: a thread
    touches the Job's heartbeat every `every` seconds until the block ends."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                with suppress(DatabaseError):  # e.g. SQLite locked by the step's own transaction: next time
                    Job.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"job-{job_id}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def finish(job_id: int, state: str, message: str = "", error: str = "", result: dict | None = None) -> None:
    fields: dict[str, Any] = {"state": state, "finished_at": timezone.now(), "message": message[:500]}
    if state == Job.State.SUCCEEDED:
        fields["progress"] = 1.0
    if error:
        fields["error"] = error
    if result is not None:
        job = Job.objects.get(pk=job_id)
        job.result.update(result)
        fields["result"] = job.result
    Job.objects.filter(pk=job_id).update(**fields)


def run_job(job_id: int, work: Any) -> None:
    """Run `work(job)` under the Job protocol: running -> succeeded | failed | cancelled."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_finished:
        return
    if job.cancel_requested:
        finish(job_id, Job.State.CANCELLED, "cancelled before it started")
        return
    worker = current_worker()
    job = mark_running(job_id, worker)
    try:
        # In a worker, a thread beats while the task works, so a killed worker is noticed in seconds
        # (reap_stale_jobs) even when the task reports no progress for a long time.
        with heartbeat(job_id, every=knob("JOB_HEARTBEAT_SECONDS")) if worker else nullcontext():
            result = work(job) or {}
    except JobCancelled:
        finish(job_id, Job.State.CANCELLED, "cancelled")
        return
    except Exception as exc:  # a task failure is data for the user, never a crash of the worker
        finish(job_id, Job.State.FAILED, public_message(exc), error=traceback.format_exc())
        return
    finish(job_id, Job.State.SUCCEEDED, "done", result=result)


_SERVER_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\\/][^\s'\"\\/:,;()]+)+[\\/]([^\s'\"\\/:,;()]+)")


def public_message(exc: BaseException) -> str:
    """A failure as its Job's message, which whoever launched the job reads: a SpineLab error's own
    message, else the exception's class and text with server paths cut to their file name (the full
    traceback stays in `error`, which only ML staff and admins see)."""
    if isinstance(exc, SpineLabError):
        return exc.message
    text = _SERVER_PATH.sub(lambda found: found.group(1), str(exc))
    return f"{exc.__class__.__name__}: {text}"


def request_cancel(job: Job) -> Job:
    if job.is_finished:
        raise InvalidTransition(f"job {job.pk} is already {job.state}")
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(cancel_requested=True)
        if job.state == Job.State.QUEUED:
            finish(job.pk, Job.State.CANCELLED, "cancelled before it started")
        Job.objects.filter(parent=job, state__in=[Job.State.QUEUED, Job.State.RUNNING]).update(
            cancel_requested=True
        )
    job.refresh_from_db()
    return job


def retry(job: Job, user: Viewer | None = None) -> Job:
    """Re-run a failed or cancelled job as the same record (attempts counts the tries)."""
    if job.state not in (Job.State.FAILED, Job.State.CANCELLED):
        raise InvalidTransition(f"job {job.pk} is {job.state}; only failed or cancelled jobs can be retried")
    if not job.task_name:
        raise InvalidTransition(f"job {job.pk} has no task to retry")
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.QUEUED,
        cancel_requested=False,
        progress=0.0,
        message="retry queued",
        error="",
        finished_at=None,
    )
    job.refresh_from_db()
    transaction.on_commit(lambda: enqueue(job))
    return job


def reap_stale_jobs() -> int:
    """Mark running jobs whose worker stopped beating (JOB_STALE_SECONDS without a heartbeat) as failed
    and retryable. Run periodically by every worker (annotator/signals.py), never by a read.

    Queued jobs are never touched (waiting behind other work is not death), nor are jobs with queued or
    running children: a round's job has no process of its own and lives while its fold jobs wait."""
    cutoff = timezone.now() - timedelta(seconds=knob("JOB_STALE_SECONDS"))
    busy_children = Job.objects.filter(parent=OuterRef("pk"), state__in=[Job.State.QUEUED, Job.State.RUNNING])
    stale = Job.objects.filter(state=Job.State.RUNNING, heartbeat_at__lt=cutoff).exclude(
        Exists(busy_children)
    )
    ids = list(stale.values_list("pk", flat=True))
    # Re-checked in the UPDATE: a beat that arrived since the SELECT keeps its job alive.
    return Job.objects.filter(pk__in=ids, state=Job.State.RUNNING, heartbeat_at__lt=cutoff).update(
        state=Job.State.FAILED,
        finished_at=timezone.now(),
        message="failed (retryable): the worker stopped responding (killed or lost); retry the job",
    )


def fail_orphaned_running_jobs(worker: str) -> int:
    """Called when worker `worker` (a Celery node name) starts: it runs nothing yet, so every job still
    marked as running on it belonged to its previous life, which was killed or lost."""
    if not worker:
        return 0
    return Job.objects.filter(state=Job.State.RUNNING, **{f"params__{WORKER_KEY}": worker}).update(
        state=Job.State.FAILED,
        finished_at=timezone.now(),
        message=f"failed (retryable): the worker running this job ({worker}) was restarted; retry the job",
    )


def _when(value: Any) -> str | None:
    """A timestamp as the API writes it (ISO 8601, UTC as "Z")."""
    if value is None:
        return None
    text = timezone.localtime(value, timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def job_json(job: Job, *, show_error: bool) -> dict[str, Any]:
    """The one JSON shape of a Job, for the jobs API and the rounds API and pages alike.

    Training progress (`epoch`, `epochs`, `loss`, `eta_seconds`) is lifted out of `result`;
    bookkeeping params (names starting with "_", e.g. the worker's node name) are left out; `error`
    (the traceback, with server paths) only when `show_error` (ML staff and admins)."""
    result = job.result or {}
    return {
        "id": job.pk,
        "kind": job.kind,
        "state": job.state,
        "queue": job.queue,
        "progress": job.progress,
        "message": job.message,
        "params": {k: v for k, v in (job.params or {}).items() if not k.startswith("_")},
        "result": result,
        "epoch": result.get("epoch"),
        "epochs": result.get("epochs"),
        "loss": result.get("loss"),
        "eta_seconds": result.get("eta_seconds"),
        "error": job.error if show_error else "",
        "cancel_requested": job.cancel_requested,
        "attempts": job.attempts,
        "retryable": job.state in (Job.State.FAILED, Job.State.CANCELLED) and bool(job.task_name),
        "parent": job.parent_id,
        "created_by": job.created_by_id,
        "created_at": _when(job.created_at),
        "started_at": _when(job.started_at),
        "finished_at": _when(job.finished_at),
        "heartbeat_at": _when(job.heartbeat_at),
    }
