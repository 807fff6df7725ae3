"""PNG slices with optional masks (no DB): `images/N.png` + `masks/N.npy` or `masks/N.png`, or a flat
folder of PNGs. Each image becomes a one-slice series; its subject comes from `subjects.csv`
(columns `image` or `stem`, `subject`, optional `session`) or from the file stem.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from annotator.errors import ImportFailed
from annotator.imports.types import ImportedMask, ImportedSeries, ReadResult

MASK_DIRS = ("masks", "labels")


def read_subjects(root: Path) -> dict[str, tuple[str, str]]:
    """stem -> (subject, session) from an optional subjects.csv anywhere in the tree."""
    table: dict[str, tuple[str, str]] = {}
    for path in root.rglob("subjects.csv"):
        try:
            rows = list(csv.DictReader(path.read_text().splitlines()))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ImportFailed(f"{path.name}: cannot read the subject table ({exc})", file=path.name) from exc
        for row in rows:
            key = row.get("image") or row.get("stem") or row.get("file") or ""
            if not key or not row.get("subject"):
                raise ImportFailed(
                    f"{path.name}: every row needs an 'image' (or 'stem') and a 'subject' column",
                    file=path.name,
                )
            table[Path(key).stem] = (row["subject"], row.get("session") or "1")
    return table


def load_png(path: Path, name: str) -> np.ndarray:
    """(H, W) uint8 or uint16 grey values; colour images are converted to grey."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("I;16", "I;16B", "I;16L"):
                return np.asarray(image, dtype=np.uint16).copy()
            if image.mode == "I":
                return np.asarray(image).astype(np.int32)
            grey = image if image.mode == "L" else image.convert("L")
            return np.asarray(grey, dtype=np.uint8).copy()
    except ImportFailed:
        raise
    except Exception as exc:  # PIL raises many types for broken files
        raise ImportFailed(
            f"{name}: not a readable PNG ({exc.__class__.__name__}: {exc})", file=name
        ) from exc


def load_mask(path: Path, name: str) -> np.ndarray:
    """(H, W) label values in the smallest integer type that holds them (uint8 for class maps, which
    the label mapping then rewrites in place: issue 17)."""
    if path.suffix.lower() == ".npy":
        try:
            labels = np.load(path, allow_pickle=False)
        except Exception as exc:
            raise ImportFailed(f"{name}: not a readable .npy array ({exc})", file=name) from exc
        if labels.dtype.kind not in "iub":
            raise ImportFailed(f"{name}: mask values must be integers, got {labels.dtype}", file=name)
    else:
        labels = load_png(path, name)
    low, high = (int(labels.min()), int(labels.max())) if labels.size else (0, 0)
    mask: np.ndarray = labels.astype(np.result_type(np.min_scalar_type(low), np.min_scalar_type(high)))
    return mask


def find_mask(image_path: Path, root: Path) -> Path | None:
    for folder in MASK_DIRS:
        for ext in (".npy", ".png"):
            candidate = image_path.parent.parent / folder / f"{image_path.stem}{ext}"
            if candidate.is_file() and candidate != image_path:
                return candidate
    return None


def read_png_folder(root: Path) -> ReadResult:
    """Every PNG of the tree read at once (`iter_png_series` reads them one at a time)."""
    return ReadResult(series=list(iter_png_series(root)))


def iter_png_series(root: Path) -> Iterator[ImportedSeries]:
    """One ImportedSeries per PNG image (with its mask), read when asked for: an import that writes
    each before reading the next holds one plane at a time (issue 17: peak <= 2x the volume). A
    corrupt file raises ImportFailed when its turn comes; the caller's transaction undoes the rest."""
    subjects = read_subjects(root)
    images = sorted(p for p in root.rglob("*.png") if p.is_file() and p.parent.name not in MASK_DIRS)
    if not images:
        raise ImportFailed("no PNG images found (expected images/N.png, optionally with masks/N.npy)")
    for path in images:
        name = path.relative_to(root).as_posix()
        pixels = load_png(path, name)
        subject, session = subjects.get(path.stem, (path.stem, "1"))
        item = ImportedSeries(
            subject=subject,
            session=session,
            modality="T2w",
            view="sag",
            source_format="png",
            series_uid="",
            volume=pixels[None],
            spacing=[1.0, 1.0, 1.0],
            affine=np.eye(4),
            metadata={"png": {"mode_dtype": str(pixels.dtype)}},
            source_files=[(name, path)],
            description=name,
        )
        mask_path = find_mask(path, root)
        if mask_path is not None:
            mask_name = mask_path.relative_to(root).as_posix()
            labels = load_mask(mask_path, mask_name)
            if labels.shape != pixels.shape:
                raise ImportFailed(
                    f"{mask_name}: mask shape {list(labels.shape)} does not match its image "
                    f"{name} {list(pixels.shape)}",
                    file=mask_name,
                )
            item.masks.append(
                ImportedMask(desc="mask", volume=labels[None], label_table={}, source_name=mask_name)
            )
            item.source_files.append((mask_name, mask_path))
        yield item
