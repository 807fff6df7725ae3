"""Dataset exports as background Jobs: `queue_export` validates and queues, the io-queue task runs
`run_export`, `open_download` hands the zip to permitted users until it expires.

An export Job's params hold the selection (annotator.exports.selection), the format and its
options; its result holds counts, notes, the stored zip's path and size and `expires_at`
(SPINELAB_EXPORT_KEEP_HOURS after it finished). `purge_expired` deletes expired zips.
"""

from __future__ import annotations

import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone

from annotator.env import knob
from annotator.errors import Forbidden, InvalidInput, NotFound, SpineLabError
from annotator.exports import dicomseg, nifti
from annotator.exports.common import ClassTable, WriteReport
from annotator.exports.nnunet import NnUNetWriter
from annotator.exports.png import PngWriter
from annotator.exports.selection import Selection, iter_series, parse_selection, require_items
from annotator.models import Job, Project, ProjectSplit, TrainingRound
from annotator.services import access, jobs
from annotator.services.ids import as_db_id
from annotator.services.projects import channel_names, project_channel_choice
from annotator.users import Viewer

FORMATS = ("nifti", "nnunet", "dicom-seg", "png")


class Gone(SpineLabError):
    status = 410
    code = "gone"


def parse_request(data: dict[str, Any]) -> tuple[Selection, str, dict[str, Any]]:
    """(selection, format, options) from API/page/command input; InvalidInput/NotFound on bad values."""
    fmt = str(data.get("format") or "")
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r}: choose one of {list(FORMATS)}")
    selection = parse_selection(data)
    options: dict[str, Any] = {}
    if fmt == "nnunet":
        # The project's training channels unless others are chosen ('T2w', 'T2w+T1w', 'STIR+T1c', ...).
        choice = str(data.get("channels") or "") or project_channel_choice(
            Project.objects.get(pk=selection.project)
        )
        channel_names(choice)  # InvalidInput naming the choice
        options["channels"] = choice
    if fmt == "nifti":
        raw = data.get("include_images", True)
        options["include_images"] = str(raw).lower() not in ("0", "false", "no", "off")
    chosen = require_items(selection)
    if fmt == "dicom-seg":
        for part in iter_series(chosen):
            dicomseg.refuse_unless_dicom(part.series)
    return selection, fmt, options


def queue_export(data: dict[str, Any], user: Viewer) -> Job:
    """Validate and queue an export Job on the io queue (400 when the selection is empty)."""
    if not access.can_export(user):
        raise Forbidden("only supervisors, ML staff and admins may export datasets")
    selection, fmt, options = parse_request(data)
    purge_expired()
    params = {"selection": selection.as_params(), "format": fmt, "options": options}
    return jobs.create_job(Job.Kind.EXPORT, params=params, user=user, queue="io")


def _splits(selection: Selection) -> tuple[dict[str, int] | None, str]:
    """{subject label: fold} of the round (when exporting a round) or the project's saved split."""
    if selection.round is not None:
        rnd = TrainingRound.objects.get(project_id=selection.project, number=selection.round)
        return {
            s: fold for fold, members in enumerate(rnd.folds) for s in members
        }, f"round {rnd.number}'s folds"
    split = ProjectSplit.objects.filter(project_id=selection.project).order_by("-updated_at").first()
    if split is None:
        return (
            None,
            "the project has no saved split yet (launch a round first); splits_final.json not written",
        )
    return {str(k): int(v) for k, v in split.assignment.items()}, f"the project's saved {split.k}-fold split"


def write_export(job_id: int, params: dict[str, Any], root: Path) -> dict[str, Any]:
    """Write the export tree under `root`, series by series, reporting progress (pure of the zip)."""
    selection = Selection(**params["selection"])
    project = Project.objects.get(pk=selection.project)
    classes = ClassTable.of(project)
    chosen = require_items(selection)
    fmt, options = params["format"], params.get("options", {})
    total, done = len(chosen), 0
    summary = WriteReport()
    extra: dict[str, Any] = {}
    nnunet = (
        NnUNetWriter(root, classes, channel_names(options.get("channels", "T2w")))
        if fmt == "nnunet"
        else None
    )
    png = PngWriter(root, classes) if fmt == "png" else None
    if fmt == "nifti":
        nifti.write_description(root, project.name)
    try:
        for part in iter_series(chosen):
            if fmt == "nifti":
                report = nifti.write_series(part, classes, root, options.get("include_images", True))
            elif fmt == "dicom-seg":
                report = dicomseg.write_series(part, classes, root)
            elif nnunet is not None:
                report = nnunet.write_series(part)
            else:
                assert png is not None
                report = png.write_series(part)
            summary.series += report.series
            summary.slices += report.slices
            summary.files += report.files
            summary.notes += report.notes
            done += len(part.items)
            jobs.report_progress(job_id, 0.9 * done / total, f"{done}/{total} slices written")
    finally:
        if png is not None:
            png.close()
    if nnunet is not None:
        folds, source = _splits(selection)
        extra = nnunet.finish(f"SpineLab {project.slug}", folds)
        summary.notes.append(f"splits: {source}")
    return {**summary.as_dict(), **extra}


def run_export(job: Job) -> dict[str, Any]:
    """The Job's work: write to a temporary folder, zip it into storage, record where and until when."""
    params = job.params
    name = f"spinelab-{params['format']}-job{job.pk}"
    with tempfile.TemporaryDirectory(prefix="spinelab-export-") as tmp:
        root = Path(tmp) / name
        result = write_export(job.pk, params, root)
        archive = Path(tmp) / f"{name}.zip"
        jobs.report_progress(job.pk, 0.9, "zipping")
        with jobs.heartbeat(job.pk):  # zipping and storing a large export may take minutes
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
                for path in sorted(root.rglob("*")):
                    if path.is_file():
                        zf.write(path, path.relative_to(root.parent).as_posix())
            jobs.check_cancelled(job.pk)
            with open(archive, "rb") as handle:
                stored = default_storage.save(f"exports/{job.pk}/{archive.name}", File(handle))
        size = archive.stat().st_size
    expires = timezone.now() + timedelta(hours=knob("EXPORT_KEEP_HOURS"))
    return {
        **result,
        "file": stored,
        "filename": f"{name}.zip",
        "size": size,
        "expires_at": expires.isoformat(),
    }


def export_job(job_id: int, user: Viewer) -> Job:
    if not access.can_export(user):
        raise Forbidden("only supervisors, ML staff and admins may download exports")
    job = Job.objects.filter(pk=job_id, kind="export").first() if as_db_id(job_id) else None
    if job is None:
        raise NotFound(f"export {job_id} does not exist")
    return job


def open_download(job_id: int, user: Viewer) -> tuple[Any, str, int]:
    """(open file, file name, size) of a finished export; 403/404/409/410 with the reason otherwise."""
    job = export_job(job_id, user)
    if job.state != Job.State.SUCCEEDED:
        from annotator.errors import InvalidTransition

        raise InvalidTransition(f"export {job_id} is {job.state}; its file is ready once it has succeeded")
    stored = job.result.get("file")
    expires = job.result.get("expires_at")
    if (
        job.result.get("expired")
        or not stored
        or (expires and datetime.fromisoformat(expires) < timezone.now())
    ):
        raise Gone(f"export {job_id} expired on {expires}; run the export again")
    if not default_storage.exists(stored):
        raise Gone(f"export {job_id}'s file is no longer stored; run the export again")
    return (
        default_storage.open(stored, "rb"),
        job.result.get("filename", Path(stored).name),
        int(job.result["size"]),
    )


def purge_expired(now: datetime | None = None) -> int:
    """Delete the zips of expired exports (their Jobs stay, marked expired). Returns how many."""
    now = now or timezone.now()
    purged = 0
    for job in Job.objects.filter(kind="export", state=Job.State.SUCCEEDED, result__has_key="file"):
        expires = job.result.get("expires_at")
        if job.result.get("expired") or not expires or datetime.fromisoformat(expires) >= now:
            continue
        default_storage.delete(job.result["file"])
        job.result["expired"] = True
        Job.objects.filter(pk=job.pk).update(result=job.result)
        purged += 1
    return purged


def delete_partial(job: Job) -> None:
    """After a failed or cancelled export nothing of it stays in storage."""
    folder = f"exports/{job.pk}"
    try:
        _, files = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError, OSError):
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")
