"""Exports and DICOMweb transfers as background Jobs on the `io` queue (settings.CELERY_TASK_ROUTES).

A failed or cancelled export leaves nothing in storage; a failed DICOMweb import leaves no series
behind (the import is one transaction)."""

from __future__ import annotations

from celery import shared_task

from annotator.models.jobs import TASK_NAMES, Job
from annotator.services import jobs


@shared_task(name=TASK_NAMES[Job.Kind.EXPORT])
def run_export(job_id: int) -> None:
    """Write the export of Job `job_id` and store its zip; the result says where and until when."""
    from annotator.exports.service import delete_partial
    from annotator.exports.service import run_export as work

    jobs.run_job(job_id, work)
    job = Job.objects.filter(pk=job_id).first()
    if job is not None and job.state in (Job.State.FAILED, Job.State.CANCELLED):
        delete_partial(job)


@shared_task(name=TASK_NAMES[Job.Kind.DICOMWEB_IMPORT])
def dicomweb_import(job_id: int) -> None:
    """Retrieve a study or series from the DICOMweb server (WADO-RS) and import it."""
    from annotator.exports.dicomweb_service import run_import

    jobs.run_job(job_id, run_import)


@shared_task(name=TASK_NAMES[Job.Kind.DICOMWEB_PUSH])
def dicomweb_push(job_id: int) -> None:
    """Build a DICOM SEG of a series' accepted masks and store it on the DICOMweb server (STOW-RS)."""
    from annotator.exports.dicomweb_service import run_push

    jobs.run_job(job_id, run_push)
