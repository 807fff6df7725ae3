"""Imports of large uploads as background Jobs on the `io` queue (`POST /api/imports/` with
`background=true`, queued by annotator.imports.service.queue_import). The upload waits in storage
under imports/pending/ until its import succeeds, fails on its content, or is cancelled; after any
other failure it stays there so the job can be retried."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.core.files.storage import default_storage

from annotator.errors import SpineLabError
from annotator.models import Project
from annotator.models.jobs import TASK_NAMES, Job
from annotator.services import jobs


def _import(job: Job) -> dict[str, Any]:
    from annotator.imports.service import import_upload

    params = job.params
    project = Project.objects.filter(pk=params["project"]).first()
    if project is None:
        raise SpineLabError(f"project {params['project']} no longer exists")
    stored = params["stored"]
    if not default_storage.exists(stored):
        raise SpineLabError(f"the upload {params['name']} is no longer stored; upload it again")
    jobs.check_cancelled(job.pk)  # the last point where cancelling stops it: the import is one transaction
    try:
        with jobs.heartbeat(job.pk), default_storage.open(stored, "rb") as upload:
            report = import_upload(
                upload,
                project,
                kind=params["kind"],
                label_map=params.get("label_map") or None,
                user=job.created_by,
            )
    except SpineLabError:
        default_storage.delete(stored)  # the content is at fault: a retry would fail the same way
        raise
    default_storage.delete(stored)
    return report.as_dict()


@shared_task(name=TASK_NAMES[Job.Kind.IMPORT])
def run_import(job_id: int) -> None:
    """Import the stored upload of Job `job_id`; its result is the import report, a failure's message
    names the file at fault."""
    jobs.run_job(job_id, _import)
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.state == Job.State.CANCELLED and default_storage.exists(job.params["stored"]):
        default_storage.delete(job.params["stored"])
