"""Imports of large uploads as background Jobs on the default queue (`POST /api/imports/` with
`background=true`). The upload waits in storage under imports/pending/ until its import ends."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from celery import shared_task
from django.core.files.storage import default_storage

from annotator.errors import SpineLabError
from annotator.models import Job, Project
from annotator.services import jobs


def _import(job: Job) -> dict[str, Any]:
    from annotator.imports.service import import_path

    params = job.params
    project = Project.objects.filter(pk=params["project"]).first()
    if project is None:
        raise SpineLabError(f"project {params['project']} no longer exists")
    stored = params["stored"]
    if not default_storage.exists(stored):
        raise SpineLabError(
            f"the upload {params['name']} is no longer stored (its import failed before); upload it again"
        )
    jobs.report_progress(job.pk, 0.05, f"reading {params['name']}")
    with tempfile.TemporaryDirectory(prefix="spinelab-import-") as tmp:
        target = Path(tmp) / params["name"]
        with default_storage.open(stored, "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        try:
            report = import_path(
                target,
                project,
                kind=params["kind"],
                label_map=params.get("label_map") or None,
                user=job.created_by,
            )
        except SpineLabError:
            default_storage.delete(stored)  # the content is at fault: a retry would fail the same way
            raise
    default_storage.delete(stored)
    body = report.as_dict()
    jobs.report_progress(job.pk, 1.0, f"imported {len(body['series'])} series, {body['slices']} slices")
    return body


@shared_task(name="annotator.tasks.imports.run_import")
def run_import(job_id: int) -> None:
    """Import the stored upload of Job `job_id`; its result is the import report, its error names the
    file at fault. Any other failure keeps the upload so the job can be retried."""
    jobs.run_job(job_id, _import)
