"""Signal receivers: when a Celery worker starts, the jobs its previous life was running are marked
failed (retryable) at once, and its job watch starts (dead workers' jobs fail within
SPINELAB_JOB_STALE_SECONDS; see annotator/services/job_watch.py)."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def watch_jobs(sender: Any = None, **_: object) -> None:
    from annotator.services.job_watch import start_watch_thread
    from annotator.services.jobs import fail_orphaned_running_jobs

    worker = str(getattr(sender, "hostname", "") or "")
    count = fail_orphaned_running_jobs(worker)
    if count:
        logger.warning("marked %d job(s) of the restarted worker %s as failed (retryable)", count, worker)
    start_watch_thread()
