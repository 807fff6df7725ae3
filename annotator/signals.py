"""Signal receivers: when a Celery worker starts, the jobs its previous life was running are marked
failed (retryable) at once, and its job watch starts (dead workers' jobs fail within
SPINELAB_JOB_STALE_SECONDS; see annotator/tasks/watch.py). When a slice's main-track head
changes, its correction-effort figures are brought up to date (annotator/rounds/effort.py), so the
rounds dashboard only reads stored sums."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready
from django.db.models.signals import post_save
from django.dispatch import receiver

from annotator.models import Slice

logger = logging.getLogger(__name__)


@worker_ready.connect
def watch_jobs(sender: Any = None, **_: object) -> None:
    from annotator.services.jobs import fail_orphaned_running_jobs
    from annotator.tasks.watch import start_watch_thread

    worker = str(getattr(sender, "hostname", "") or "")
    count = fail_orphaned_running_jobs(worker)
    if count:
        logger.warning("marked %d job(s) of the restarted worker %s as failed (retryable)", count, worker)
    start_watch_thread()


@receiver(post_save, sender=Slice)
def refresh_correction_effort(
    sender: Any, instance: Slice, created: bool = False, update_fields: Any = None, **_: object
) -> None:
    if update_fields is not None and "head_revision" not in update_fields:
        return
    if created and instance.head_revision_id is None:
        return
    from annotator.rounds.effort import refresh_slice

    refresh_slice(instance.pk)
