"""MIDS/BIDS trees of NIfTI volumes with JSON sidecars and derivatives/*/..._dseg masks (no DB).

`sub-S1_ses-E1_run-1_bp-lsspine_vp-sag_T2w.nii.gz` -> subject S1, session E1, modality T2w. A mask
`derivatives/<pipeline>/sub-S1/ses-E1/sub-S1_ses-E1_..._desc-vertebrae_dseg.nii.gz` belongs to the image
whose entities it shares (desc aside), preferring the T2w when several images match.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, io_orientation, ornt_transform

from annotator.env import knob
from annotator.errors import ImportFailed, PayloadTooLarge
from annotator.imports.types import ImportedMask, ImportedSeries, ReadResult
from annotator.imports.volume import SAGITTAL_CODES, axcodes, spacing_of

NIFTI_SUFFIXES = (".nii.gz", ".nii")
MASK_ONLY_ENTITIES = {"desc", "label", "space", "seg"}


def is_nifti(path: Path) -> bool:
    return path.name.lower().endswith(NIFTI_SUFFIXES)


def strip_ext(name: str) -> str:
    for ext in NIFTI_SUFFIXES + (".json",):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return name


def parse_name(name: str) -> tuple[dict[str, str], str]:
    """'sub-A_ses-1_T2w.nii.gz' -> ({'sub': 'A', 'ses': '1'}, 'T2w'); the suffix is the last part
    without a dash."""
    entities: dict[str, str] = {}
    suffix = ""
    for part in strip_ext(name).split("_"):
        key, dash, value = part.partition("-")
        if dash:
            entities[key] = value
        else:
            suffix = part
    return entities, suffix


def read_sidecar(path: Path) -> dict[str, Any]:
    sidecar = path.with_name(strip_ext(path.name) + ".json")
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError) as exc:
        raise ImportFailed(
            f"{sidecar.name}: the JSON sidecar is not valid JSON ({exc})", file=sidecar.name
        ) from exc
    return data if isinstance(data, dict) else {"value": data}


def label_table_of(sidecar: dict[str, Any]) -> dict[int, str]:
    """{"Labels": {"1": "L1"}} or {"1": "L1"} or {"labels": ["background", "vertebrae"]} -> {1: "L1"}."""
    table: Any = sidecar.get("Labels", sidecar.get("labels", sidecar))
    if isinstance(table, list):
        return {i: str(name) for i, name in enumerate(table)}
    if isinstance(table, dict):
        return {
            int(k): str(v)
            for k, v in table.items()
            if str(k).lstrip("-").isascii() and str(k).lstrip("-").isdigit()
        }
    return {}


def check_declared_size(image: Any, name: str) -> None:
    """Refuse a volume from its header alone when its decoded array would exceed the unpacked-size
    limit (SPINELAB_MAX_UNZIPPED_MB), before anything is allocated: a 30000x30000x1000 header in a
    tiny file must not reach the allocator."""
    shape = tuple(int(n) for n in image.header.get_data_shape())
    itemsize = max(np.dtype(image.header.get_data_dtype()).itemsize, 4)  # scaled data becomes float32
    declared = int(np.prod(shape, dtype=object)) * itemsize
    limit = int(knob("MAX_UNZIPPED_BYTES"))
    if declared > limit:
        raise PayloadTooLarge(
            f"{name}: its header declares a {'x'.join(map(str, shape))} volume ({declared} bytes "
            f"decoded); the limit is {limit} bytes",
            file=name,
            limit=limit,
        )


def load_sagittal(
    path: Path, name: str, labels: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """NIfTI file -> (volume as sagittal planes (P, R, C) contiguous, its affine, the source affine,
    the source's 3D shape).

    The volume is decoded slab by slab along the file's last axis straight into its sagittal layout
    (a view of the output in the source's axis order takes each slab), so an import holds one copy of
    the volume instead of the file's decoded buffer, the source-order array and the re-oriented copy
    (bench/RESULTS.md, "Memory"). Stored dtype, or float32 when scl_slope/inter apply; `labels`: float
    values rounded, kept in the smallest integer type that holds them (a first pass over the slabs
    finds their range, so e.g. an int16 or float label file is held as uint8 from the start)."""
    try:
        image: Any = nib.load(str(path), keep_file_open=True)
    except Exception as exc:  # nibabel, gzip and zlib raise many types for broken files
        raise ImportFailed(
            f"{name}: cannot read this NIfTI file ({exc.__class__.__name__}: {exc})", file=name
        ) from exc
    check_declared_size(image, name)
    shape = tuple(int(n) for n in image.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != 3:
        raise ImportFailed(f"{name}: expected a 3D volume, got shape {shape}", file=name)
    try:
        affine = np.asarray(image.affine, dtype=np.float64)
        tail = (0,) * (len(image.shape) - 3)

        def slab(k: int) -> np.ndarray:
            values: np.ndarray = np.asanyarray(image.dataobj[(slice(None), slice(None), k, *tail)])
            return np.rint(values) if labels and values.dtype.kind == "f" else values

        first = slab(0)
        dtype = np.dtype(np.float32) if first.dtype.kind == "f" else first.dtype
        if labels:
            dtype = _label_dtype(first, (slab(k) for k in range(1, shape[2])))
        # The orientation algebra of mlcore.preprocess.to_sagittal, as views: `source_view` is `out`
        # seen in the file's axis order, so filling it fills the sagittal planes.
        to_sag = ornt_transform(io_orientation(affine), axcodes2ornt(SAGITTAL_CODES))
        sag_shape = apply_orientation(np.broadcast_to(np.zeros((), dtype), shape), to_sag).shape
        sag_affine = affine @ inv_ornt_aff(to_sag, shape)
        out = np.empty(sag_shape, dtype)
        source_view = apply_orientation(
            out, ornt_transform(axcodes2ornt(SAGITTAL_CODES), io_orientation(affine))
        )
        assert source_view.shape == shape and np.shares_memory(source_view, out)
        for k in range(shape[2]):
            source_view[:, :, k] = first if k == 0 else slab(k)
    except ImportFailed:
        raise
    except Exception as exc:  # nibabel, gzip and zlib raise many types for broken files
        raise ImportFailed(
            f"{name}: cannot read this NIfTI file ({exc.__class__.__name__}: {exc})", file=name
        ) from exc
    finally:
        with contextlib.suppress(Exception):
            image.dataobj._opener.close_if_mine()  # the handle kept open for the slab reads
    return out, sag_affine, affine, list(shape)


def _label_dtype(first: np.ndarray, rest: Iterable[np.ndarray]) -> np.dtype[Any]:
    """The smallest integer type holding every value of the label slabs (read once more for this:
    a uint8 volume instead of the file's int16 or float32 halves or quarters what an import holds)."""
    low, high = (float(first.min()), float(first.max())) if first.size else (0.0, 0.0)
    for values in rest:
        if values.size:
            low, high = min(low, float(values.min())), max(high, float(values.max()))
    return np.result_type(np.min_scalar_type(int(low)), np.min_scalar_type(int(high)))


def read_image(path: Path, name: str) -> ImportedSeries:
    entities, suffix = parse_name(path.name)
    volume, sag_affine, affine, source_shape = load_sagittal(path, name)
    sidecar = read_sidecar(path)
    files = [(name, path)]
    sidecar_path = path.with_name(strip_ext(path.name) + ".json")
    if sidecar_path.is_file():
        files.append((name[: -len(path.name)] + sidecar_path.name, sidecar_path))
    return ImportedSeries(
        subject=entities.get("sub") or strip_ext(path.name),
        session=entities.get("ses", "1"),
        modality=suffix if suffix and suffix != "dseg" else "MR",
        view="sag",
        source_format="nifti",
        series_uid="",
        volume=volume,
        spacing=spacing_of(sag_affine),
        affine=sag_affine,
        metadata={
            "sidecar": sidecar,
            "entities": entities,
            "source_axcodes": axcodes(affine),
            "source_shape": source_shape,
        },
        source_files=files,
        description=strip_ext(path.name),
    )


def read_mask(path: Path, name: str) -> tuple[dict[str, str], str, ImportedMask]:
    entities, _ = parse_name(path.name)
    volume, _, _, _ = load_sagittal(path, name, labels=True)
    sidecar = read_sidecar(path)
    tokens = set(strip_ext(path.name).split("_"))
    mask = ImportedMask(
        desc=entities.get("desc", ""),
        volume=volume,
        label_table=label_table_of(sidecar),
        source_name=name,
        structure=str(sidecar.get("Structure", "")),
    )
    return entities, next((t for t in ("T2w", "T1w") if t in tokens), ""), mask


def pair_mask(entities: dict[str, str], hint: str, images: list[ImportedSeries], name: str) -> ImportedSeries:
    wanted = {k: v for k, v in entities.items() if k not in MASK_ONLY_ENTITIES}
    matches = [s for s in images if all(s.metadata["entities"].get(k) == v for k, v in wanted.items())]
    if hint:
        matches = [s for s in matches if s.modality == hint] or matches
    if not matches:
        raise ImportFailed(f"{name}: no image in this import matches the mask's entities {wanted}", file=name)
    matches.sort(key=lambda s: (s.modality != "T2w", s.description))
    return matches[0]


def read_mids(root: Path) -> ReadResult:
    """Every image under `root` (outside derivatives/) and every *_dseg mask paired with its image."""
    paths = sorted(p for p in root.rglob("*") if p.is_file() and is_nifti(p))
    images: list[ImportedSeries] = []
    mask_paths: list[Path] = []
    notes: list[str] = []
    for path in paths:
        name = path.relative_to(root).as_posix()
        if parse_name(path.name)[1] == "dseg":
            mask_paths.append(path)
        elif "derivatives" in path.relative_to(root).parts:
            notes.append(f"{name}: a derivative that is not a _dseg mask, skipped")
        else:
            images.append(read_image(path, name))
    for path in mask_paths:
        name = path.relative_to(root).as_posix()
        entities, hint, mask = read_mask(path, name)
        image = pair_mask(entities, hint, images, name)
        if mask.volume.shape != image.volume.shape:
            raise ImportFailed(
                f"{name}: mask shape {list(mask.volume.shape)} does not match its image "
                f"{image.description} {list(image.volume.shape)} (both as sagittal planes x rows x cols)",
                file=name,
            )
        image.masks.append(mask)
        image.source_files.append((name, path))
        sidecar = path.with_name(strip_ext(path.name) + ".json")
        if sidecar.is_file():
            image.source_files.append((name[: -len(path.name)] + sidecar.name, sidecar))
    return ReadResult(series=images, notes=notes)
