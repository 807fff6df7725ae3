"""The periodic watch over jobs that every Celery worker runs on its own timer (annotator/signals.py):
jobs of dead workers become failed (retryable), and rounds whose training ended get finalized.
Reads never do this (a GET changes nothing). It lives with the worker's tasks because it drives both
services (jobs) and a feature (rounds), which services may not import."""

from __future__ import annotations

import logging
import threading

from django.db import DatabaseError, close_old_connections

from annotator.env import knob
from annotator.models import Job, TrainingRound
from annotator.rounds import lifecycle
from annotator.services import jobs

logger = logging.getLogger(__name__)


def watch_once() -> dict[str, int]:
    """One pass: reap jobs whose worker stopped beating, then queue the finalize job of every running
    round whose training jobs have all ended (a reaped fold job never reports its end itself)."""
    reaped = jobs.reap_stale_jobs()
    finalizing = 0
    for round_id in TrainingRound.objects.filter(job__state=Job.State.RUNNING).values_list("pk", flat=True):
        if lifecycle.maybe_finalize(round_id) is not None:
            finalizing += 1
    if reaped or finalizing:
        logger.warning(
            "job watch: %d job(s) of lost workers failed, %d round(s) finalizing", reaped, finalizing
        )
    return {"reaped": reaped, "finalizing": finalizing}


def start_watch_thread(stop: threading.Event | None = None) -> threading.Thread:
    """Run `watch_once` every SPINELAB_JOB_HEARTBEAT_SECONDS in a daemon thread (one per worker)."""
    stop = stop or threading.Event()

    def loop() -> None:
        while not stop.wait(knob("JOB_HEARTBEAT_SECONDS")):
            try:
                watch_once()
            except DatabaseError:  # e.g. SQLite busy behind a long import: the next pass retries
                logger.info("job watch: database busy, retrying next pass", exc_info=True)
            except Exception:  # the watch must never die; the next pass retries
                logger.exception("job watch failed")
            finally:
                close_old_connections()

    thread = threading.Thread(target=loop, name="spinelab-job-watch", daemon=True)
    thread.start()
    return thread
