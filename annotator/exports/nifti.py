"""NIfTI / MIDS derivatives: per series a `*_dseg.nii.gz` on the source volume's own grid.

Import re-orients NIfTI volumes to sagittal planes (annotator.imports.volume.to_sagittal) and keeps
the re-oriented affine in `Series.affine`, the source's axis codes and shape in `Series.metadata`.
This writer undoes that re-orientation with nibabel's orientation algebra, so nibabel reads the
export back with the source's own shape and affine. Series from DICOM or PNG have no other grid:
their masks are written on the stored (plane, row, column) grid with `Series.affine`.

Layout (re-importable with `import_mids`, which pairs each mask with its image by entities):

    dataset_description.json
    sub-<S>/ses-<E>/anat/<image>.nii.gz                        the source image (option include_images)
    derivatives/spinelab/dataset_description.json
    derivatives/spinelab/sub-<S>/ses-<E>/anat/<base>_desc-spinelab_dseg.nii.gz
                                             .../<base>_desc-spinelab_dseg.json  label table + planes
                                             .../<base>_desc-spinelab_dseg.tsv   BIDS label lookup table
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.orientations import axcodes2ornt, inv_ornt_aff, ornt_transform

from annotator.exports.common import ClassTable, WriteReport, bids_label, load_labels
from annotator.exports.selection import SeriesItems
from annotator.imports.volume import SAGITTAL_CODES, from_sagittal
from annotator.models import Series, SourceFile
from annotator.services.slicedata import load_channel

PIPELINE = "spinelab"


def stored_affine(series: Series) -> np.ndarray:
    """Series.affine, or (for series stored without one) a diagonal affine of its spacing."""
    if series.affine:
        return np.asarray(series.affine, dtype=np.float64)
    spacing = [float(v) for v in (series.spacing or [1.0, 1.0, 1.0])]
    return np.diag([*spacing, 1.0])


def to_source_grid(volume: np.ndarray, series: Series) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Stored (P, R, C) volume -> (volume on the source grid, its affine, source axis of the planes,
    whether plane indices run backwards on it). Non-NIfTI series keep the stored grid."""
    affine = stored_affine(series)
    codes = (series.metadata or {}).get("source_axcodes")
    if series.source_format != Series.Format.NIFTI or not codes:
        return volume, affine, 0, False
    # Where each stored axis came from in the source; the volume itself goes back through
    # mlcore.preprocess.from_sagittal, the one home of the orientation rule.
    transform = ornt_transform(axcodes2ornt(SAGITTAL_CODES), axcodes2ornt(tuple(codes)))
    source_affine = affine @ inv_ornt_aff(transform, volume.shape)
    source_shape = [0, 0, 0]
    for stored_axis, (source_axis, _) in enumerate(transform):
        source_shape[int(source_axis)] = volume.shape[stored_axis]
    out = from_sagittal(volume, source_affine, source_shape)
    return out, source_affine, int(transform[0, 0]), bool(transform[0, 1] < 0)


def _source_image(series: Series) -> SourceFile | None:
    """The series' own NIfTI image among its originals (not a derivative mask), if it has one."""
    if series.source_format != Series.Format.NIFTI:
        return None
    for source in series.source_files.order_by("id"):
        name = source.name.lower()
        if "derivatives/" not in name and name.endswith((".nii", ".nii.gz")):
            return source
    return None


def _entities(series: Series) -> dict[str, str]:
    """The source file's BIDS entities in the file name's order (MIDS imports), else sub/ses plus
    acq-s<series id>. The order comes from the file name: a JSON column may not keep key order."""
    found = dict((series.metadata or {}).get("entities") or {})
    source = _source_image(series)
    if found.get("sub"):
        stem = Path(source.name).name.split(".")[0] if source else ""
        ordered = [part.split("-", 1)[0] for part in stem.split("_") if "-" in part]
        keys = [k for k in ordered if k in found] + sorted(
            k for k in found if k not in ordered and k not in ("sub", "ses")
        )
        if "sub" not in keys:
            keys = ["sub", *(["ses"] if "ses" in found else []), *keys]
        return {k: bids_label(found[k]) for k in keys}
    return {
        "sub": bids_label(series.session.subject.label),
        "ses": bids_label(series.session.label),
        "acq": f"s{series.pk}",
    }


def _name(entities: dict[str, str], suffix: str) -> str:
    return "_".join([*(f"{k}-{v}" for k, v in entities.items()), suffix])


def _nifti(volume: np.ndarray, affine: np.ndarray) -> Any:
    image = nib.Nifti1Image(volume, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    return image


def _write_image(series: Series, entities: dict[str, str], folder: Path) -> Path:
    """The source NIfTI file byte for byte when there is one; else the stored planes as a volume."""
    folder.mkdir(parents=True, exist_ok=True)
    source = _source_image(series)
    if source is not None:
        target = folder / Path(source.name).name
        with source.file.open("rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        return target
    volume: np.ndarray | None = None
    slices = list(series.slices.order_by("index"))
    for slice_ in slices:  # filled plane by plane: one copy of the volume, never a list plus a stack
        plane = load_channel(slice_, series.modality)
        if volume is None:
            volume = np.zeros((len(slices), *plane.shape), dtype=plane.dtype)
        volume[slice_.index] = plane
    target = folder / (_name(entities, bids_label(series.modality)) + ".nii.gz")
    nib.save(
        _nifti(volume if volume is not None else np.zeros((0, 0, 0), np.uint8), stored_affine(series)), target
    )
    return target


def write_series(
    part: SeriesItems, classes: ClassTable, root: Path, include_images: bool = True
) -> WriteReport:
    """Write one series' mask (and image). Memory: one series' uint8 label volume (planes x rows x
    cols, a few MB), filled one revision at a time, and then, for series without a source NIfTI file,
    that series' image volume; never the whole export."""
    series = part.series
    planes, rows, cols = (int(v) for v in series.shape)
    labels = np.zeros((planes, rows, cols), dtype=np.uint8)
    for slice_, revision_id in part.items:
        labels[slice_.index] = load_labels(revision_id)
    volume, affine, axis, backwards = to_source_grid(labels, series)
    entities = _entities(series)
    sub, ses = entities.get("sub", "x"), entities.get("ses")
    rel = Path(f"sub-{sub}") / (f"ses-{ses}" if ses else "") / "anat"
    report = WriteReport(series=1, slices=len(part.items))
    folder = root / "derivatives" / PIPELINE / rel
    folder.mkdir(parents=True, exist_ok=True)
    base = _name({**entities, "desc": PIPELINE}, "dseg")
    nib.save(_nifti(volume, affine), folder / f"{base}.nii.gz")
    del labels, volume  # the image below is the bigger volume: never hold both
    indices = [s.index for s, _ in part.items]
    sidecar = {
        "Labels": {str(i): name for i, name in enumerate(classes.names)},
        "LabelledPlanes": {
            "axis": axis,
            "indices": sorted((planes - 1 - i) if backwards else i for i in indices),
            "note": "only these planes along this voxel axis were labelled; elsewhere 0 means unlabelled",
        },
        "Sources": {"series": series.pk, "revisions": [rev for _, rev in part.items]},
    }
    (folder / f"{base}.json").write_text(json.dumps(sidecar, indent=2))
    lut = [
        "index\tname\tcolor",
        *(f"{i}\t{n}\t{c}" for i, (n, c) in enumerate(zip(classes.names, classes.colours, strict=True))),
    ]
    (folder / f"{base}.tsv").write_text("\n".join(lut) + "\n")
    report.files += 3
    if include_images:
        _write_image(series, entities, root / rel)
        report.files += 1
    return report


def write_description(root: Path, name: str) -> None:
    """dataset_description.json at the root and for the derivatives pipeline."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": name, "BIDSVersion": "1.8.0", "DatasetType": "raw"}, indent=2)
    )
    pipeline = root / "derivatives" / PIPELINE
    pipeline.mkdir(parents=True, exist_ok=True)
    (pipeline / "dataset_description.json").write_text(
        json.dumps(
            {
                "Name": f"{name}: SpineLab masks",
                "BIDSVersion": "1.8.0",
                "DatasetType": "derivative",
                "GeneratedBy": [{"Name": "SpineLab"}],
            },
            indent=2,
        )
    )
