"""PACS import and push over DICOMweb as io-queue Jobs (annotator.tasks.exports).

Import: QIDO-RS lists the study's series and instances, WADO-RS retrieves every instance into a
temporary folder, then the ordinary DICOM importer (annotator.imports) imports the folder in one
transaction: a server that fails halfway leaves no series behind. Push: a DICOM SEG of a DICOM
series' accepted masks (annotator.exports.dicomseg) is stored with STOW-RS.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

from annotator.errors import InvalidInput, NotFound
from annotator.exports import dicomseg
from annotator.exports.common import ClassTable
from annotator.exports.dicomweb import DicomwebClient, check_uid, tag
from annotator.exports.selection import iter_series, parse_selection, require_items
from annotator.models import Job, Project, Series
from annotator.services import jobs
from annotator.services.ids import as_db_id
from annotator.users import Viewer

STUDY, SERIES, INSTANCE = "0020000D", "0020000E", "00080018"


def queue_import(data: dict[str, Any], user: Viewer) -> Job:
    DicomwebClient.from_settings()  # 400 now when no server is configured
    project = Project.objects.filter(pk=as_db_id(data.get("project")) or 0).first()
    if project is None:
        raise NotFound(f"project {data.get('project')!r} does not exist")
    study = check_uid(str(data.get("study") or ""), "study")
    series = check_uid(str(data["series"]), "series") if data.get("series") else ""
    params = {"project": project.pk, "study": study, "series": series}
    return jobs.create_job(
        Job.Kind.DICOMWEB_IMPORT,
        params=params,
        user=user,
        queue="io",
    )


def run_import(job: Job) -> dict[str, Any]:
    from annotator.imports.service import import_path

    client = DicomwebClient.from_settings()
    params = job.params
    project = Project.objects.filter(pk=params["project"]).first()
    if project is None:
        raise NotFound(f"project {params['project']} no longer exists")
    study = params["study"]
    wanted = (
        [params["series"]] if params.get("series") else [tag(s, SERIES) for s in client.search_series(study)]
    )
    wanted = [s for s in wanted if s]
    if not wanted:
        raise InvalidInput(f"{client.url} has no series in study {study}")
    with tempfile.TemporaryDirectory(prefix="spinelab-dicomweb-") as tmp:
        listed = [(s, tag(i, INSTANCE)) for s in wanted for i in client.search_instances(study, s)]
        listed = [(s, i) for s, i in listed if i]
        if not listed:
            raise InvalidInput(f"{client.url} lists no instances for study {study}")
        for number, (series_uid, instance) in enumerate(listed):
            client.retrieve_instance(study, series_uid, instance, Path(tmp) / f"{number:06d}.dcm")
            jobs.report_progress(
                job.pk, 0.8 * (number + 1) / len(listed), f"retrieved {number + 1}/{len(listed)}"
            )
        jobs.check_cancelled(job.pk)
        with jobs.heartbeat(job.pk):
            report = import_path(tmp, project, kind="dicom", user=job.created_by)
    return {**report.as_dict(), "server": client.url, "instances": len(listed)}


def queue_push(data: dict[str, Any], user: Viewer) -> Job:
    DicomwebClient.from_settings()
    series = (
        Series.objects.select_related("session__subject").filter(pk=as_db_id(data.get("series")) or 0).first()
    )
    if series is None:
        raise NotFound(f"series {data.get('series')!r} does not exist")
    dicomseg.refuse_unless_dicom(series)
    selection = parse_selection(
        {"project": series.project.pk, "series": [series.pk], "state": data.get("state") or "accepted"}
    )
    require_items(selection)
    params = {"series": series.pk, "selection": selection.as_params()}
    return jobs.create_job(
        Job.Kind.DICOMWEB_PUSH,
        params=params,
        user=user,
        queue="io",
    )


def run_push(job: Job) -> dict[str, Any]:
    from annotator.exports.selection import Selection

    client = DicomwebClient.from_settings()
    selection = Selection(**job.params["selection"])
    classes = ClassTable.of(Project.objects.get(pk=selection.project))
    part = next(iter_series(require_items(selection)))
    seg = dicomseg.build_seg(part, classes)
    buffer = io.BytesIO()
    seg.save_as(buffer)
    jobs.report_progress(job.pk, 0.5, "SEG built; storing it on the server")
    client.store([buffer.getvalue()])
    return {
        "server": client.url,
        "study": str(seg.StudyInstanceUID),
        "seg_series": str(seg.SeriesInstanceUID),
        "seg_instance": str(seg.SOPInstanceUID),
        "segments": [str(s.SegmentLabel) for s in seg.SegmentSequence],
        "slices": len(part.items),
    }


def search_studies(query: dict[str, str]) -> list[dict[str, Any]]:
    """QIDO-RS study search, simplified for the page: uid, patient, date, description."""
    allowed = {
        k: v
        for k, v in query.items()
        if k in {"PatientID", "PatientName", "StudyDate", "limit", "AccessionNumber"}
    }
    found = DicomwebClient.from_settings().search_studies(allowed)
    return [
        {
            "study": tag(item, STUDY),
            "patient": tag(item, "00100020"),
            "date": tag(item, "00080020"),
            "description": tag(item, "00081030"),
            "modalities": (item.get("00080061") or {}).get("Value", []),
        }
        for item in found
    ]
