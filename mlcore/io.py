"""Readers and writers for image folders: BIMCV/MIDS trees (NIfTI + JSON sidecars + derivatives masks)
and `images/N.png + masks/N.npy|png` folders.

Canonical in-plane orientation of a sagittal slice everywhere in mlcore: rows superior -> inferior,
columns anterior -> posterior; slices run along the left-right axis (orientation codes R, I, P).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nibabel as nib
import numpy as np
from nibabel.spatialimages import SpatialImage
from PIL import Image

from mlcore.preprocess import to_sagittal

if TYPE_CHECKING:
    from mlcore.phantom import PhantomSubject

_ENTITY = re.compile(
    r"^(?P<stem>sub-[^_]+(?:_[a-z]+-[^_]+)*?)_(?:desc-(?P<desc>[^_]+)_)?(?P<suffix>[A-Za-z0-9]+)\.nii(?:\.gz)?$"
)


def sagittal_stack(volume: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorient a 3D volume to a sagittal stack (N, H, W): see mlcore.preprocess.to_sagittal."""
    return to_sagittal(volume, affine)


def read_nifti(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A NIfTI volume as stored: (data float32 (a trailing singleton 4th axis dropped), affine 4x4).
    ValueError naming the file when it is not a readable NIfTI with an affine."""
    try:
        img = nib.load(str(path))
    except Exception as exc:  # nibabel raises several types for truncated/foreign files
        raise ValueError(f"cannot read {Path(path).name} as NIfTI: {exc}") from exc
    if not isinstance(img, SpatialImage) or img.affine is None:
        raise ValueError(f"{Path(path).name} has no spatial affine")
    data = np.asarray(img.dataobj, dtype=np.float32)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    return data, np.asarray(img.affine)


def read_sagittal(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a NIfTI file as a sagittal stack. Returns (stack (N,H,W) float32, affine 4x4)."""
    return sagittal_stack(*read_nifti(path))


def read_label_table(path: str | Path) -> dict[int, str]:
    """Label table beside a dseg mask: flat {"0": "background", ...} or {"Labels": {...}}."""
    raw = json.loads(Path(path).read_text())
    table = raw.get("Labels", raw) if isinstance(raw, dict) else {}
    return {int(k): str(v) for k, v in table.items() if str(k).lstrip("-").isdigit()}


@dataclass
class MidsSeries:
    """One acquisition (sub/ses/run/...) of a MIDS tree: image per channel, masks per desc."""

    stem: str  # e.g. sub-P0001_ses-E01_run-1_bp-lsspine_vp-sag
    subject: str  # e.g. sub-P0001
    images: dict[str, Path] = field(default_factory=dict)  # {"T2w": path, "T1w": path}
    masks: dict[str, Path] = field(default_factory=dict)  # {"vertebrae": path, ...}


def find_mids_series(root: str | Path) -> list[MidsSeries]:
    """Every image series of a MIDS tree with the derivatives masks that share its stem (any pipeline,
    with or without mim-mr/anat folders). Sorted by stem."""
    root = Path(root)
    found: dict[str, MidsSeries] = {}
    for path in sorted(root.rglob("*.nii*")):
        hit = _ENTITY.match(path.name)
        if not hit:
            continue
        stem, desc, suffix = hit["stem"], hit["desc"], hit["suffix"]
        series = found.setdefault(stem, MidsSeries(stem=stem, subject=stem.split("_")[0]))
        is_derivative = "derivatives" in path.relative_to(root).parts
        if suffix == "dseg" or is_derivative:
            series.masks[desc or suffix] = path
        else:
            series.images[suffix] = path
    return [s for s in found.values() if s.images]


def is_mids_tree(root: str | Path) -> bool:
    return any(Path(root).glob("sub-*"))


def read_png_folder(root: str | Path) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """`images/N.png` (+ `masks/N.npy` or `masks/N.png`). Returns [(name, image (H,W) float32,
    mask (H,W) int64 or None)] sorted numerically by name."""
    root = Path(root)
    images = sorted(
        (root / "images").glob("*.png"),
        key=lambda p: (not p.stem.isdigit(), int(p.stem) if p.stem.isdigit() else 0, p.stem),
    )
    if not images:
        raise ValueError(f"no images/*.png under {root}")
    out = []
    for path in images:
        image = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
        mask = None
        for candidate in (root / "masks" / f"{path.stem}.npy", root / "masks" / f"{path.stem}.png"):
            if candidate.exists():
                arr = np.load(candidate) if candidate.suffix == ".npy" else np.asarray(Image.open(candidate))
                mask = np.asarray(arr, dtype=np.int64)
                if mask.shape != image.shape:
                    raise ValueError(f"mask {candidate.name} has shape {mask.shape}, image has {image.shape}")
                break
        out.append((path.stem, image, mask))
    return out


# --- writing (phantom MIDS trees) -------------------------------------------------------------------


def sagittal_affine(n: int, h: int, w: int, slice_mm: float, pixel_mm: float) -> np.ndarray:
    """RAS affine of an (N,H,W) stack: axis 0 left->right, axis 1 superior->inferior, axis 2
    anterior->posterior; centred on the origin."""
    affine = np.zeros((4, 4))
    affine[0, 0] = slice_mm  # x: towards the right
    affine[2, 1] = -pixel_mm  # rows: towards inferior
    affine[1, 2] = -pixel_mm  # columns: towards posterior
    affine[:3, 3] = [-(n - 1) / 2 * slice_mm, (w - 1) / 2 * pixel_mm, (h - 1) / 2 * pixel_mm]
    affine[3, 3] = 1
    return affine


def _write_json(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    return path


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    nib.save(img, str(path))
    return path


def write_dataset_description(root: Path) -> list[Path]:
    return [
        _write_json(
            root / "dataset_description.json",
            {"Name": "SpineLab lumbar phantom", "BIDSVersion": "1.8.0", "DatasetType": "raw"},
        ),
        _write_json(
            root / "derivatives" / "phantom" / "dataset_description.json",
            {
                "Name": "phantom ground truth",
                "BIDSVersion": "1.8.0",
                "DatasetType": "derivative",
                "GeneratedBy": [{"Name": "mlcore.phantom"}],
            },
        ),
    ]


def write_phantom_subject(
    root: Path, subject: PhantomSubject, class_names: tuple[str, ...], field_strength: float = 1.5
) -> list[Path]:
    """Write one phantom subject as T2w + T1w NIfTI (int16, ~0..2000) with sidecars, and its 12-class
    mask under derivatives/phantom with a label table. Returns the written paths."""
    sub, ses = f"sub-{subject.subject_id}", "ses-E01"
    stem = f"{sub}_{ses}_run-1_bp-lsspine_vp-sag"
    anat = root / sub / ses / "mim-mr" / "anat"
    n, h, w = subject.masks.shape
    affine = sagittal_affine(n, h, w, subject.slice_thickness, subject.pixel_mm)
    common = {
        "Modality": "MR",
        "BodyPart": "LSSPINE",
        "ViewPosition": "SAG",
        "Manufacturer": "SpineLab",
        "MagneticFieldStrength": field_strength,
        "SliceThickness": subject.slice_thickness,
        "PixelSpacing": [subject.pixel_mm, subject.pixel_mm],
        "Phantom": True,
    }
    timing = {
        "T2w": {"RepetitionTime": 3.5, "EchoTime": 0.1, "SeriesDescription": "T2 TSE SAG"},
        "T1w": {"RepetitionTime": 0.55, "EchoTime": 0.011, "SeriesDescription": "T1 TSE SAG"},
    }
    written = []
    for contrast, data in (("T2w", subject.t2), ("T1w", subject.t1)):
        scaled = np.clip(np.rint(data * 2000), 0, 32767).astype(np.int16)
        written.append(write_nifti(anat / f"{stem}_{contrast}.nii.gz", scaled, affine))
        written.append(_write_json(anat / f"{stem}_{contrast}.json", {**common, **timing[contrast]}))
    deriv = root / "derivatives" / "phantom" / sub / ses / "mim-mr" / "anat"
    written.append(
        write_nifti(deriv / f"{stem}_desc-lumbar12_dseg.nii.gz", subject.masks.astype(np.uint8), affine)
    )
    written.append(
        _write_json(deriv / f"{stem}_desc-lumbar12_dseg.json", {str(i): c for i, c in enumerate(class_names)})
    )
    return written
