"""Signal receivers: when a Celery worker starts, jobs orphaned by a killed worker are marked failed."""

from __future__ import annotations

import logging

from celery.signals import worker_ready

logger = logging.getLogger(__name__)


@worker_ready.connect
def fail_jobs_of_killed_workers(**_: object) -> None:
    from annotator.services.jobs import fail_orphaned_running_jobs

    count = fail_orphaned_running_jobs()
    if count:
        logger.warning("marked %d job(s) of a killed worker as failed (retryable)", count)
