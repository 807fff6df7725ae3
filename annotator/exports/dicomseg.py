"""DICOM SEG (highdicom) of a series imported from DICOM: one segment per class present.

The SEG references the series' own source instances (kept byte for byte as SourceFile rows) and
their frame of reference, so OHIF, 3D Slicer and pydicom/highdicom place it on the images. Import
ordered the planes by position along the slice normal (annotator.imports.readers_dicom); the same
order is computed again here from the source files to send each plane's mask to its source frame.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from annotator.errors import InvalidInput
from annotator.exports.common import ClassTable, WriteReport, bids_label, load_labels
from annotator.exports.selection import SeriesItems
from annotator.imports.readers_dicom import frames_of
from annotator.models import Series

# Generic SNOMED CT codes: the class name travels in SegmentLabel (what viewers show).
TISSUE = ("85756007", "SCT", "Tissue")  # SNOMED CT code of every segment (a pydicom Code when used)


def refuse_unless_dicom(series: Series) -> None:
    if series.source_format != Series.Format.DICOM:
        raise InvalidInput(
            f"series {series.pk} ({series}) was imported from {series.get_source_format_display()}, not DICOM: "
            "a DICOM SEG must reference DICOM source images; export it as NIfTI, nnU-Net or PNG instead",
            series=series.pk,
        )


def source_datasets(series: Series) -> list[Dataset]:
    """The series' original DICOM files, read from storage (pixel data included: highdicom checks it)."""
    found: list[Dataset] = []
    for source in series.source_files.order_by("id"):
        with source.file.open("rb") as handle:
            found.append(pydicom.dcmread(io.BytesIO(handle.read())))
    if not found:
        raise InvalidInput(f"series {series.pk} has no stored DICOM source files to reference")
    return found


def plane_order(datasets: list[Dataset]) -> list[tuple[int, int]]:
    """(dataset index, frame index) of each stored plane, in import order: by position along the
    normal of the first file's orientation, then instance number (readers_dicom.build_series)."""
    entries = []
    orientation = None
    for d, ds in enumerate(datasets):
        frames, orient, _ = frames_of(ds, f"source {d}")
        orientation = orientation or orient
        entries += [(d, f, frame) for f, frame in enumerate(frames)]
    row, col = (
        (np.array(orientation[:3]), np.array(orientation[3:]))
        if orientation
        else (
            np.array([1.0, 0, 0]),
            np.array([0, 1.0, 0]),
        )
    )
    normal = np.cross(row, col)
    if all(e[2].position is not None for e in entries):
        entries.sort(key=lambda e: (float(np.dot(np.asarray(e[2].position), normal)), e[2].instance))
    else:
        entries.sort(key=lambda e: e[2].instance)
    return [(d, f) for d, f, _ in entries]


def build_seg(part: SeriesItems, classes: ClassTable) -> Any:
    """A highdicom Segmentation of the selected planes of one DICOM series."""
    # highdicom and pydicom's SR code tables are imported where they are used: at module level they
    # made every web process ~110 MB larger (issue 17: the API and pages import this module).
    import highdicom as hd
    from pydicom.sr.coding import Code

    tissue = Code(*TISSUE)

    series = part.series
    refuse_unless_dicom(series)
    datasets = source_datasets(series)
    order = plane_order(datasets)
    if len(order) != int(series.shape[0]):
        raise InvalidInput(
            f"series {series.pk}: its source files hold {len(order)} planes but the series has {series.shape[0]}"
        )
    rows, cols = int(series.shape[1]), int(series.shape[2])
    multiframe = len(datasets) == 1 and int(datasets[0].get("NumberOfFrames", 1) or 1) > 1
    # Frames in the order highdicom expects: the source frames of a multi-frame image, else one frame
    # per source image (the source images are passed in plane order).
    frames = np.zeros((len(order), rows, cols), dtype=np.uint8)
    for slice_, revision_id in part.items:
        position = order[slice_.index][1] if multiframe else slice_.index
        frames[position] = load_labels(revision_id)
    present = sorted({int(v) for v in np.unique(frames) if v})
    if not present:
        raise InvalidInput(
            f"series {series.pk}: the selected masks are empty; a SEG needs at least one segment"
        )
    segment_of = np.zeros(256, dtype=np.uint8)
    for number, class_index in enumerate(present, start=1):
        segment_of[class_index] = number
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number,
            segment_label=classes.names[class_index]
            if class_index < len(classes.names)
            else f"class {class_index}",
            segmented_property_category=tissue,
            segmented_property_type=tissue,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for number, class_index in enumerate(present, start=1)
    ]
    sources = datasets if multiframe else [datasets[d] for d, _ in order]
    try:
        return _segmentation(sources, segment_of[frames], descriptions)
    except ValueError as exc:  # highdicom's refusals (e.g. a multi-frame image without plane positions)
        raise InvalidInput(
            f"series {series.pk}: highdicom cannot build a SEG on these source images ({exc})"
        ) from exc


def _segmentation(sources: list[Dataset], frames: np.ndarray, descriptions: list[Any]) -> Any:
    import highdicom as hd

    return hd.seg.Segmentation(
        source_images=sources,
        pixel_array=frames,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=hd.UID(),
        series_number=9000 + (int(sources[0].get("SeriesNumber", 0) or 0) % 1000),
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="SpineLab",
        manufacturer_model_name="SpineLab annotator",
        software_versions="1",
        device_serial_number="spinelab",
        series_description=f"SpineLab masks of {sources[0].get('SeriesDescription', '') or 'series'}"[:64],
    )


def seg_name(series: Series) -> str:
    return f"{bids_label(series.session.subject.label)}_s{series.pk}_seg.dcm"


def write_series(part: SeriesItems, classes: ClassTable, root: Path) -> WriteReport:
    root.mkdir(parents=True, exist_ok=True)
    build_seg(part, classes).save_as(root / seg_name(part.series))
    return WriteReport(series=1, slices=len(part.items), files=1)
