"""Synthetic spinal metastases on the lumbar phantom: lytic and sclerotic lesions in the vertebral
bodies, on a STIR-like and a T1-like channel, labelled with the 3-class lesion schema.

The anatomy (mlcore.phantom.anatomy) is reused unchanged and this module draws from its own random
streams, so the 12-class phantom generates exactly what it did for the same seeds. Lesions are balls
(in mm) centred in a vertebral body: each slice shows the disc where the ball crosses it, clipped to
the body. Contrast, as on real MRI of metastases: lytic lesions are bright on STIR (oedema, fluid)
and dark on T1; sclerotic lesions are dark on both. STIR is rendered as a fat-suppressed T2.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from mlcore.phantom import EPI, IMFAT, RETRO, SUBCUT, VERT, anatomy, render, sample_subject_params

LESION_CLASSES: tuple[str, ...] = ("background", "lytic lesion", "sclerotic lesion")
LYTIC, SCLEROTIC = 1, 2
CHANNELS: tuple[str, ...] = ("STIR", "T1w")
_FAT = (SUBCUT, EPI, IMFAT, RETRO)
# Relative intensity of each lesion type per channel (healthy marrow is ~0.38 on T2, 0.55 on T1).
_LESION_LEVEL = {"STIR": {LYTIC: 0.85, SCLEROTIC: 0.07}, "T1w": {LYTIC: 0.14, SCLEROTIC: 0.08}}
_FAT_SUPPRESSION = 0.12


@dataclass
class Lesion:
    kind: int  # LYTIC or SCLEROTIC
    row_mm: float  # centre, mm from the top of the image
    col_mm: float  # centre, mm from the anterior edge
    offset_mm: float  # centre, para-sagittal position
    radius_mm: float


@dataclass
class LesionSubject:
    subject_id: str
    stir: np.ndarray  # (N, H, W) float32
    t1: np.ndarray  # (N, H, W) float32
    masks: np.ndarray  # (N, H, W) uint8: 0 background, 1 lytic, 2 sclerotic
    lesions: list[Lesion]
    slice_thickness: float = 4.0
    pixel_mm: float = 1.0


def place_lesions(
    body_mask: np.ndarray, pixel_mm: float, rng: np.random.Generator, count: int
) -> list[Lesion]:
    """`count` lesions centred on random vertebral-body pixels of the midline slice (H, W) bool,
    radius 4..9 mm, lytic or sclerotic at random."""
    rows, cols = np.nonzero(body_mask)
    if rows.size == 0:
        return []
    picks = rng.choice(rows.size, size=count, replace=False) if rows.size >= count else np.arange(rows.size)
    return [
        Lesion(
            kind=int(rng.choice([LYTIC, SCLEROTIC])),
            row_mm=(rows[i] + 0.5) * pixel_mm,
            col_mm=(cols[i] + 0.5) * pixel_mm,
            offset_mm=float(rng.uniform(-6, 6)),
            radius_mm=float(rng.uniform(4, 9)),
        )
        for i in picks
    ]


def lesion_labels(
    lesions: list[Lesion], body_mask: np.ndarray, pixel_mm: float, offset_mm: float
) -> np.ndarray:
    """(H, W) uint8 lesion label map of one slice at `offset_mm`, clipped to the vertebral bodies."""
    h, w = body_mask.shape
    y = (np.arange(h, dtype=np.float32) + 0.5) * pixel_mm
    x = (np.arange(w, dtype=np.float32) + 0.5) * pixel_mm
    labels = np.zeros((h, w), np.uint8)
    for lesion in lesions:
        across = lesion.radius_mm**2 - (offset_mm - lesion.offset_mm) ** 2
        if across <= 0:
            continue
        inside = (y[:, None] - lesion.row_mm) ** 2 + (x[None, :] - lesion.col_mm) ** 2 <= across
        labels[inside & body_mask] = lesion.kind
    return labels


def _paint(image: np.ndarray, labels: np.ndarray, channel: str, rng: np.random.Generator) -> np.ndarray:
    """Lesion intensities blended in with soft edges and a little texture."""
    out = image.copy()
    for kind, level in _LESION_LEVEL[channel].items():
        alpha = ndimage.gaussian_filter((labels == kind).astype(np.float32), 0.8)
        if not alpha.any():
            continue
        texture = level * (1 + 0.08 * rng.standard_normal(image.shape).astype(np.float32))
        out = (1 - alpha) * out + alpha * texture
    return out.astype(np.float32)


def generate_lesion_subject(
    seed: int,
    n_slices: int = 5,
    size: tuple[int, int] = (128, 128),
    subject_id: str | None = None,
    slice_thickness: float = 4.0,
    lesions: tuple[int, int] = (2, 5),
) -> LesionSubject:
    """A seeded subject with `lesions` (min, max) metastases. Returns LesionSubject with stir/t1
    (N, H, W) float32 and masks (N, H, W) uint8 in the 3-class lesion schema."""
    if n_slices < 1:
        raise ValueError(f"n_slices must be at least 1, got {n_slices}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 14]))
    params = sample_subject_params(rng)
    pixel_mm = params.fov / max(size)
    offsets = (np.arange(n_slices) - (n_slices - 1) / 2) * slice_thickness
    midline = anatomy(params, size, 0.0).mask == VERT
    placed = place_lesions(midline, pixel_mm, rng, int(rng.integers(lesions[0], lesions[1] + 1)))
    stir = np.empty((n_slices, *size), np.float32)
    t1 = np.empty_like(stir)
    masks = np.empty((n_slices, *size), np.uint8)
    for i, off in enumerate(offsets):
        anat = anatomy(params, size, float(off))
        labels = lesion_labels(placed, anat.mask == VERT, pixel_mm, float(off))
        t2 = render(anat, params, "T2w", rng, float(off))
        t2[np.isin(anat.mask, _FAT)] *= _FAT_SUPPRESSION
        stir[i] = _paint(t2, labels, "STIR", rng)
        t1[i] = _paint(render(anat, params, "T1w", rng, float(off)), labels, "T1w", rng)
        masks[i] = labels
    return LesionSubject(subject_id or f"M{seed:04d}", stir, t1, masks, placed, slice_thickness, pixel_mm)


def write_lesion_mids(
    folder: str | Path,
    n_subjects: int = 4,
    n_slices: int = 5,
    size: tuple[int, int] = (128, 128),
    seed: int = 0,
) -> list[Path]:
    """A MIDS tree of lesion subjects: `_STIR` and `_T1w` NIfTI per subject, the lesion mask under
    derivatives/phantom-lesions with its label table. Import it into a project whose channels are
    ["STIR", "T1w"] and whose schema is LESION_CLASSES. Returns every file written."""
    import json

    from mlcore.io import sagittal_affine, write_nifti

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    description = {"Name": "SpineLab metastasis phantom", "BIDSVersion": "1.8.0", "DatasetType": "raw"}
    (root / "dataset_description.json").write_text(json.dumps(description) + "\n")
    written = [root / "dataset_description.json"]
    for i in range(n_subjects):
        sub_seed = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        subject = generate_lesion_subject(sub_seed, n_slices, size, subject_id=f"M{i + 1:04d}")
        sub, ses = f"sub-{subject.subject_id}", "ses-E01"
        stem = f"{sub}_{ses}_run-1_bp-lsspine_vp-sag"
        affine = sagittal_affine(n_slices, *size, subject.slice_thickness, subject.pixel_mm)
        anat = root / sub / ses / "mim-mr" / "anat"
        for channel, data in (("STIR", subject.stir), ("T1w", subject.t1)):
            scaled = np.clip(np.rint(data * 2000), 0, 32767).astype(np.int16)
            written.append(write_nifti(anat / f"{stem}_{channel}.nii.gz", scaled, affine))
            sidecar = {"Modality": "MR", "SeriesDescription": f"{channel} SAG", "Phantom": True}
            (anat / f"{stem}_{channel}.json").write_text(json.dumps(sidecar) + "\n")
            written.append(anat / f"{stem}_{channel}.json")
        deriv = root / "derivatives" / "phantom-lesions" / sub / ses / "mim-mr" / "anat"
        written.append(write_nifti(deriv / f"{stem}_desc-lesions_dseg.nii.gz", subject.masks, affine))
        table = {str(k): name for k, name in enumerate(LESION_CLASSES)}
        (deriv / f"{stem}_desc-lesions_dseg.json").write_text(json.dumps(table) + "\n")
        written.append(deriv / f"{stem}_desc-lesions_dseg.json")
    return written
