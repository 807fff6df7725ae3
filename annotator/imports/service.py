"""Case imports: `import_path` (a folder, zip or single file on disk), `import_upload` (a Django
UploadedFile) and `queue_import` (the same as a background Job). Readers turn files into plain ImportedSeries; `persist` writes them in one transaction.

kind: "auto" (NIfTI present -> mids, else PNG present -> png, else dicom), "mids", "dicom" or "png".
Imported reference masks become the slice's main-track head (source "import") and the slice is
created `accepted`: they are the dataset's reference labels and may enter training directly.
Planes whose mask is empty, and slices without masks, stay `unlabelled`.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage

from annotator.errors import ImportFailed
from annotator.imports.archive import check_upload_size, extract_zip
from annotator.imports.labelmap import load_label_map
from annotator.imports.persist import persist, plan
from annotator.imports.readers_dicom import read_dicom
from annotator.imports.readers_nifti import is_nifti, read_mids
from annotator.imports.readers_png import iter_png_series, read_png_folder
from annotator.imports.types import ImportReport, ReadResult
from annotator.models import Job, Project
from annotator.services import jobs
from annotator.users import Viewer

KINDS = ("auto", "mids", "dicom", "png")
MAX_NOTES = 20


def detect_kind(root: Path) -> str:
    files = [p for p in root.rglob("*") if p.is_file()]
    if any(is_nifti(p) for p in files):
        return "mids"
    if any(p.suffix.lower() == ".png" for p in files):
        return "png"
    return "dicom"


def resolve_kind(root: Path, kind: str) -> str:
    """The reader for a folder: `kind` checked, "auto" detected from the files."""
    if kind not in KINDS:
        raise ImportFailed(f"unknown import kind {kind!r}; use one of {list(KINDS)}", kind=kind)
    return detect_kind(root) if kind == "auto" else kind


def read_tree(root: Path, kind: str = "auto") -> ReadResult:
    """Read a folder into ImportedSeries (pure: no database, no storage)."""
    kind = resolve_kind(root, kind)
    reader = {"mids": read_mids, "dicom": read_dicom, "png": read_png_folder}[kind]
    result = reader(root)
    if not result.series:
        raise ImportFailed(f"no {kind} images found in the import")
    return result


def import_path(
    path: str | Path,
    project: Project,
    kind: str = "auto",
    label_map: str | Path | dict[Any, Any] | None = None,
    user: Viewer | None = None,
) -> ImportReport:
    """Import a folder, a .zip, or one .dcm/.nii/.nii.gz/.png file. All or nothing: ImportFailed on any
    corrupt or unsupported file, with no rows and no storage files left behind."""
    source = Path(path)
    if not source.exists():
        raise ImportFailed(f"{source} does not exist")
    if kind not in KINDS:
        raise ImportFailed(f"unknown import kind {kind!r}; use one of {list(KINDS)}", kind=kind)
    mapping = load_label_map(label_map)
    if source.is_dir():
        return _import_tree(source, project, kind, mapping, user)
    with tempfile.TemporaryDirectory(prefix="spinelab-import-") as tmp:
        tree = Path(tmp) / "tree"
        tree.mkdir()
        if source.suffix.lower() == ".zip" or zipfile.is_zipfile(source):
            extract_zip(source, tree, source.name)
        else:
            shutil.copyfile(source, tree / source.name)
        return _import_tree(tree, project, kind, mapping, user)


def upload_name(uploaded_file: Any) -> str:
    """The upload's own file name, without any folder part the client sent."""
    return Path(str(getattr(uploaded_file, "name", "") or "upload")).name or "upload"


def queue_import(
    uploaded_file: Any,
    project: Project,
    kind: str = "auto",
    label_map: str | dict[str, Any] | None = None,
    user: Viewer | None = None,
) -> Job:
    """Keep the upload in storage (imports/pending/) and queue its import as a background Job
    (annotator.tasks.imports.run_import) on the `io` queue, which its own worker serves, so an import
    never waits behind training; the Job's result is the import report."""
    name = upload_name(uploaded_file)
    check_upload_size(int(uploaded_file.size), name)
    stored = default_storage.save(f"imports/pending/{uuid.uuid4().hex}/{name}", uploaded_file)
    params = {"stored": stored, "name": name, "project": project.pk, "kind": kind, "label_map": label_map}
    try:
        return jobs.create_job(Job.Kind.IMPORT, params=params, user=user, queue="io")
    except Exception:
        default_storage.delete(stored)
        raise


def import_upload(
    uploaded_file: Any,
    project: Project,
    kind: str = "auto",
    label_map: str | Path | dict[Any, Any] | None = None,
    user: Viewer | None = None,
) -> ImportReport:
    """Import a Django UploadedFile (.zip, or a single .dcm/.nii/.nii.gz/.png). PayloadTooLarge (413)
    when it exceeds SPINELAB["MAX_UPLOAD_BYTES"] (or the zip's unpacked limits)."""
    name = upload_name(uploaded_file)
    check_upload_size(int(uploaded_file.size), name)
    with tempfile.TemporaryDirectory(prefix="spinelab-upload-") as tmp:
        target = Path(tmp) / name
        with open(target, "wb") as sink:
            for chunk in uploaded_file.chunks():
                sink.write(chunk)
        return import_path(target, project, kind=kind, label_map=label_map, user=user)


def _import_tree(root: Path, project: Project, kind: str, mapping: Any, user: Viewer | None) -> ImportReport:
    kind = resolve_kind(root, kind)
    if kind == "png":
        # One series per PNG, none aligned to another: each is read, planned and written before the
        # next is read, in the one transaction (bench/RESULTS.md, "Memory").
        report = ImportReport()
        classes, channels = project.class_names(), list(project.channels or [])
        persist(
            (p for item in iter_png_series(root) for p in plan([item], mapping, classes, channels)),
            project,
            user,
            report,
        )
        return report
    result = read_tree(root, kind)
    report = ImportReport(notes=result.notes[:MAX_NOTES])
    if len(result.notes) > MAX_NOTES:
        report.notes.append(f"... and {len(result.notes) - MAX_NOTES} more skipped files")
    planned = plan(result.series, mapping, project.class_names(), list(project.channels or []))
    persist(planned, project, user, report)
    return report
