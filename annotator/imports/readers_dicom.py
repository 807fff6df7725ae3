"""DICOM MR files (a folder tree) -> one ImportedSeries per acquired stack (no DB).

Files are grouped by SeriesInstanceUID (and, inside a series, by orientation and matrix size, so a
3-plane localizer gives three stacks). Single frames are ordered by ImagePositionPatient projected on
the slice normal (InstanceNumber when positions are missing); an Enhanced MR multi-frame file is its
own stack, frames ordered by their per-frame plane positions when present. Rescale slope/intercept
are applied; integer data stays integer (full bit depth) unless the rescale is fractional. Planes
stay as acquired (Series.view says sag/cor/ax); no sagittal reformatting.

Files are read twice and never held together: headers first (`stop_before_pixels`) to group, sort and
size the stacks, then each file's pixel data once, rescaled straight into its planes of the stack's
volume (`read_planes`), so an import holds one copy of a series plus one file (issue 17).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from annotator.env import knob
from annotator.errors import ImportFailed, PayloadTooLarge
from annotator.imports.types import ImportedSeries, ReadResult

MR_SOP_CLASSES = {"1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1"}  # MR, Enhanced MR
DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
META_TAGS = (
    "SeriesDescription",
    "ProtocolName",
    "EchoTime",
    "RepetitionTime",
    "MagneticFieldStrength",
    "Manufacturer",
    "SliceThickness",
    "SpacingBetweenSlices",
    "BitsStored",
    "StudyDescription",
    "SeriesNumber",
    "PulseSequenceName",
    "AcquisitionContrast",
    "BodyPartExamined",
)


@dataclass
class Frame:
    pixels: np.ndarray  # (R, C) after rescale
    position: np.ndarray | None  # ImagePositionPatient (LPS mm)
    instance: int
    name: str


def _float_list(value: Any) -> list[float] | None:
    try:
        return [float(v) for v in value] if value is not None else None
    except (TypeError, ValueError):
        return None


def rescale(pixels: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """Apply the modality LUT; integers stay integers (widened if needed) when the rescale is integral."""
    pixels = pixels.astype(pixels.dtype.newbyteorder("=")) if pixels.dtype.byteorder == ">" else pixels
    if slope == 1 and intercept == 0:
        return pixels if pixels.dtype.kind != "f" else pixels.astype(np.float32)
    if float(slope).is_integer() and float(intercept).is_integer() and pixels.dtype.kind in "iu":
        out = pixels.astype(np.int64) * int(slope) + int(intercept)
        for dtype in (np.uint16, np.int16, np.int32):
            info = np.iinfo(dtype)
            if out.min(initial=0) >= info.min and out.max(initial=0) <= info.max:
                return out.astype(dtype)
        return out.astype(np.float32)
    return (pixels.astype(np.float64) * slope + intercept).astype(np.float32)


def _rescale_of(ds: Dataset, group: Dataset | None = None) -> tuple[float, float]:
    source = group if group is not None and "RescaleSlope" in group else ds
    return float(source.get("RescaleSlope", 1) or 1), float(source.get("RescaleIntercept", 0) or 0)


def _functional(ds: Dataset, index: int, sequence: str) -> Dataset | None:
    """An item of a functional group for frame `index`: per-frame first, then shared."""
    for groups in (ds.get("PerFrameFunctionalGroupsSequence"), ds.get("SharedFunctionalGroupsSequence")):
        if groups:
            item = (
                groups[index]
                if len(groups) > index and groups is ds.get("PerFrameFunctionalGroupsSequence")
                else groups[0]
            )
            if sequence in item and item[sequence].value:
                first: Dataset = item[sequence].value[0]
                return first
    return None


def check_declared_size(ds: Dataset, name: str) -> None:
    """Refuse a file from its header alone when its decoded frames would exceed the unpacked-size limit
    (SPINELAB_MAX_UNZIPPED_MB): a compressed file declaring 30000x30000 frames is never decoded."""
    try:
        rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
    except (TypeError, ValueError):
        return  # the decoder names the broken header itself
    declared = rows * columns * frames * samples * 4  # decoded frames end up as float32
    limit = int(knob("MAX_UNZIPPED_BYTES"))
    if declared > limit:
        raise PayloadTooLarge(
            f"{name}: its header declares {frames} frame(s) of {rows}x{columns} ({declared} bytes decoded); "
            f"the limit is {limit} bytes",
            file=name,
            limit=limit,
        )


@dataclass
class PlaneRef:
    """One frame of a file before its pixels are read: where it lies and how it is rescaled."""

    position: np.ndarray | None  # ImagePositionPatient (LPS mm)
    instance: int
    name: str
    path: Path | None
    frame: int  # index of the frame in its file
    slope: float
    intercept: float


Headers = tuple[list["PlaneRef"], list[float] | None, list[float] | None]


def frame_headers(
    ds: Dataset, name: str, path: Path | None = None
) -> tuple[list[PlaneRef], list[float] | None, list[float] | None]:
    """A file's frames from its header alone (`stop_before_pixels` suffices). Returns (frames,
    orientation (6,), pixel spacing (2,)); PayloadTooLarge when the decoded frames would be too large."""
    check_declared_size(ds, name)
    count = int(ds.get("NumberOfFrames", 1) or 1)
    orientation = _float_list(ds.get("ImageOrientationPatient"))
    spacing = _float_list(ds.get("PixelSpacing"))
    frames = []
    for i in range(count):
        position = _float_list(ds.get("ImagePositionPatient")) if count == 1 else None
        transform = None
        if count > 1:
            plane = _functional(ds, i, "PlanePositionSequence")
            position = _float_list(plane.get("ImagePositionPatient")) if plane is not None else None
            orient = _functional(ds, i, "PlaneOrientationSequence")
            orientation = (
                _float_list(orient.get("ImageOrientationPatient")) if orient is not None else orientation
            )
            measures = _functional(ds, i, "PixelMeasuresSequence")
            spacing = _float_list(measures.get("PixelSpacing")) if measures is not None else spacing
            transform = _functional(ds, i, "PixelValueTransformationSequence")
        slope, intercept = _rescale_of(ds, transform)
        frames.append(
            PlaneRef(
                np.array(position) if position else None,
                int(ds.get("InstanceNumber", 0) or 0) + i,
                name,
                path,
                i,
                slope,
                intercept,
            )
        )
    return frames, orientation, spacing


def decode_frames(ds: Dataset, name: str) -> np.ndarray:
    """A file's pixel data as (F, R, C) stored values (before rescale); ImportFailed when it cannot
    be decoded or is not greyscale frames."""
    try:
        pixels = ds.pixel_array
    except Exception as exc:  # pydicom raises ValueError/AttributeError/RuntimeError for broken pixel data
        raise ImportFailed(
            f"{name}: cannot decode the pixel data ({exc.__class__.__name__}: {exc})", file=name
        ) from exc
    count = int(ds.get("NumberOfFrames", 1) or 1)
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.ndim != 3 or pixels.shape[0] != count:
        raise ImportFailed(
            f"{name}: expected {count} greyscale frame(s), got pixel array {pixels.shape}", file=name
        )
    return pixels


def frames_of(ds: Dataset, name: str) -> tuple[list[Frame], list[float] | None, list[float] | None]:
    """Decode a file into frames. Returns (frames, orientation (6,), pixel spacing (2,))."""
    refs, orientation, spacing = frame_headers(ds, name)
    pixels = decode_frames(ds, name)
    frames = [
        Frame(rescale(pixels[r.frame], r.slope, r.intercept), r.position, r.instance, name) for r in refs
    ]
    return frames, orientation, spacing


def read_file(path: Path, name: str, stop_before_pixels: bool = False) -> Dataset:
    """pydicom.dcmread with SpineLab's errors: InvalidDicomError passes through (not DICOM: the caller
    skips it), anything else is an ImportFailed naming the file."""
    try:
        return pydicom.dcmread(str(path), stop_before_pixels=stop_before_pixels)
    except InvalidDicomError:
        raise
    except Exception as exc:
        raise ImportFailed(
            f"{name}: cannot read this DICOM file ({exc.__class__.__name__}: {exc})", file=name
        ) from exc


def read_pixels(path: Path, name: str) -> np.ndarray:
    """A file whose header was read already, read again with its pixel data: (F, R, C) stored values."""
    try:
        ds = read_file(path, name)
    except InvalidDicomError as exc:  # it was DICOM a moment ago: changed under the import
        raise ImportFailed(f"{name}: cannot read this DICOM file ({exc})", file=name) from exc
    return decode_frames(ds, name)


def read_planes(planes: Sequence[PlaneRef]) -> Iterator[tuple[int, np.ndarray]]:
    """(plane index, rescaled (R, C) frame) for every plane, file by file: each file is read and
    decoded once and dropped before the next, so no more than one file's pixel data is held."""
    by_file: dict[Path, list[tuple[int, PlaneRef]]] = {}
    for index, plane in enumerate(planes):
        assert plane.path is not None
        by_file.setdefault(plane.path, []).append((index, plane))
    for path, members in by_file.items():
        name = members[0][1].name
        pixels = read_pixels(path, name)
        for index, plane in members:
            yield index, rescale(pixels[plane.frame], plane.slope, plane.intercept)
        del pixels


def stack_planes(planes: Sequence[PlaneRef]) -> np.ndarray:
    """(P, R, C) volume of the planes in order, filled from `read_planes` (what np.stack of the
    rescaled frames gave, dtype included: a frame that needs a wider type widens the volume)."""
    volume: np.ndarray | None = None
    for index, frame in read_planes(planes):
        if volume is None:
            volume = np.empty((len(planes), *frame.shape), frame.dtype)
        elif np.result_type(volume.dtype, frame.dtype) != volume.dtype:
            volume = volume.astype(np.result_type(volume.dtype, frame.dtype))
        volume[index] = frame
    assert volume is not None
    return volume


# Words scanners put in SeriesDescription / ProtocolName. A "T2 STIR" is a STIR; a T1 with a contrast
# word ("T1 +C", "T1 FS POST GD") is a contrast-enhanced T1 (T1c).
STIR_WORDS = {"STIR", "TIRM", "TIR"}
CONTRAST_WORDS = {"+C", "C+", "GD", "POST", "CONTRAST", "CE", "GAD", "GADO"}


def guess_modality(ds: Dataset) -> str:
    """The sequence of an MR series: STIR, T1c (contrast-enhanced T1), T2w or T1w from the description,
    protocol or contrast words; else from the timings (a short inversion time is a STIR, a contrast
    agent on a T1-weighted series a T1c); else 'MR'."""
    text = " ".join(
        str(ds.get(t, ""))
        for t in ("SeriesDescription", "ProtocolName", "AcquisitionContrast", "PulseSequenceName")
    ).upper()
    words = set(re.findall(r"[A-Z0-9]+|\+C|C\+", text))
    t1 = any(w.startswith("T1") for w in words)
    if words & STIR_WORDS:
        return "STIR"
    if words & {"T1C", "T1CE", "T1GD"} or (t1 and words & CONTRAST_WORDS):
        return "T1c"
    for token, modality in (("T2", "T2w"), ("T1", "T1w")):
        if token in text:
            return modality
    te, tr, ti = ds.get("EchoTime"), ds.get("RepetitionTime"), ds.get("InversionTime")
    if ti is not None and 80 <= float(ti) <= 250:
        return "STIR"
    if te is not None and float(te) >= 60:
        return "T2w"
    if te is not None and tr is not None and float(te) <= 30 and float(tr) <= 1000:
        return "T1c" if str(ds.get("ContrastBolusAgent", "") or "").strip() else "T1w"
    return "MR"


def build_series(
    ds: Dataset,
    frames: list[PlaneRef],
    orientation: list[float] | None,
    pixel_spacing: list[float] | None,
    names: list[tuple[str, Path]],
) -> ImportedSeries:
    row_dir, col_dir = (
        (np.array(orientation[:3]), np.array(orientation[3:]))
        if orientation
        else (np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
    )
    normal = np.cross(row_dir, col_dir)
    if all(f.position is not None for f in frames):
        frames = sorted(frames, key=lambda f: (float(np.dot(f.position, normal)), f.instance))  # type: ignore[arg-type]
    else:
        frames = sorted(frames, key=lambda f: f.instance)
    volume = stack_planes(frames)  # (P, R, C), pixel data read file by file
    dr, dc = pixel_spacing or [1.0, 1.0]
    gaps = [
        float(np.dot(b.position - a.position, normal))
        for a, b in zip(frames, frames[1:], strict=False)  # type: ignore[operator]
        if a.position is not None and b.position is not None
    ]
    dp = (
        float(np.median(gaps))
        if gaps
        else float(ds.get("SpacingBetweenSlices") or ds.get("SliceThickness") or 1.0)
    )
    origin = frames[0].position if frames[0].position is not None else np.zeros(3)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = normal * dp, col_dir * dr, row_dir * dc, origin
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps  # LPS -> RAS+, like NIfTI
    view = ("sag", "cor", "ax")[int(np.argmax(np.abs(normal)))]
    meta = {tag: str(ds.get(tag)) for tag in META_TAGS if ds.get(tag) not in (None, "")}
    file_meta = getattr(ds, "file_meta", None)
    meta["transfer_syntax"] = str(file_meta.get("TransferSyntaxUID", "")) if file_meta is not None else ""
    meta["sop_class"] = str(ds.get("SOPClassUID", ""))
    return ImportedSeries(
        subject=str(ds.get("PatientID") or "") or "anonymous",
        session=str(ds.get("StudyID") or "") or str(ds.get("StudyInstanceUID") or "") or "1",
        modality=guess_modality(ds),
        view=view,
        source_format="dicom",
        series_uid=str(ds.get("SeriesInstanceUID", "")),
        volume=volume,
        spacing=[abs(dp), float(dr), float(dc)],
        affine=affine,
        metadata={"dicom": meta},
        source_files=names,
        description=str(ds.get("SeriesDescription", "") or ""),
    )


def read_dicom(root: Path) -> ReadResult:
    """Every MR image file under `root`; DICOMDIR, non-DICOM and non-MR files are skipped with a note.

    Headers are read first (grouping, order, declared sizes), then each stack's pixel data file by
    file; the duplicates' pixel data is decoded too, so a corrupt file always fails the import."""
    notes: list[str] = []
    stacks: dict[tuple[Any, ...], list[tuple[Dataset, str, Path, Headers]]] = defaultdict(list)
    duplicates: list[tuple[str, Path]] = []
    seen_instances: set[str] = set()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        try:
            ds = read_file(path, name, stop_before_pixels=True)
        except InvalidDicomError:
            notes.append(f"{name}: not a DICOM file, skipped")
            continue
        sop_class = str(
            ds.get("SOPClassUID", "") or ds.get("file_meta", Dataset()).get("MediaStorageSOPClassUID", "")
        )
        if sop_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
            notes.append(f"{name}: a DICOMDIR index, skipped (its image files are read directly)")
            continue
        if sop_class not in MR_SOP_CLASSES:
            notes.append(f"{name}: not an MR image (SOP class {sop_class or 'missing'}), skipped")
            continue
        headers = frame_headers(ds, name, path)
        instance = str(ds.get("SOPInstanceUID", ""))
        if instance and instance in seen_instances:
            notes.append(f"{name}: the same SOP instance as an earlier file (another encoding), skipped")
            duplicates.append((name, path))
            continue
        seen_instances.add(instance)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        orient = tuple(round(v, 3) for v in (_float_list(ds.get("ImageOrientationPatient")) or []))
        key = (
            str(ds.get("SeriesInstanceUID", "")),
            instance if frames > 1 else "",
            orient,
            ds.get("Rows"),
            ds.get("Columns"),
        )
        stacks[key].append((ds, name, path, headers))
    if not stacks:
        raise ImportFailed("no DICOM MR image files found" + (f" ({'; '.join(notes[:5])})" if notes else ""))
    for name, path in duplicates:
        read_pixels(path, name)
    series = []
    for members in stacks.values():
        frames_all: list[PlaneRef] = []
        for _, _, _, (frames_of_file, _, _) in members:
            frames_all += frames_of_file
        _, orientation, spacing = members[0][3]
        series.append(
            build_series(
                members[0][0],
                frames_all,
                orientation,
                spacing,
                [(name, path) for _, name, path, _ in members],
            )
        )
    return ReadResult(series=series, notes=notes)
