"""Mapping a dataset's own mask values onto a project's classes.

A label map is a dict whose keys are "desc:value" (e.g. "vertebrae:3"), "desc:*", "value" or "*"
and whose values are a class index or class name. It comes from the `label_map` option, or from a
JSON file (a path, or a name in fixtures/label_maps/, e.g. "mids-lumbar"); keys starting with "_" are
comments. Given a map, only the map counts. Without one, a value is mapped automatically when its label-table name, or the mask's
structure/desc, equals a class name of the project. The special map "identity" keeps values as
class indices (masks exported by SpineLab itself).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from annotator.errors import ImportFailed
from annotator.imports.types import ImportedMask

LABEL_MAP_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "label_maps"
LabelMap = dict[str, Any]


def load_label_map(spec: str | Path | dict[Any, Any] | None) -> LabelMap | None:
    """Normalise a label-map option: None, a dict, "identity", a JSON file path or a fixture name."""
    if spec is None or spec == "":
        return None
    if isinstance(spec, dict):
        return {str(k): v for k, v in spec.items() if not str(k).startswith("_")}
    if str(spec) == "identity":
        return {"*": "identity"}
    path = Path(spec)
    if not path.is_file():
        path = LABEL_MAP_DIR / f"{spec}.json"
    if not path.is_file():
        known = sorted(p.stem for p in LABEL_MAP_DIR.glob("*.json"))
        raise ImportFailed(f"label map {str(spec)!r} is neither a JSON file nor one of {known}")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ImportFailed(f"label map {path.name} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise ImportFailed(f"label map {path.name} must be a JSON object of 'desc:value' -> class")
    return load_label_map(data.get("map", data))


def _class_index(target: Any, value: int, classes: list[str], where: str) -> int:
    if target == "identity":
        index = value
    elif isinstance(target, int) and not isinstance(target, bool):
        index = target
    else:
        lowered = [c.lower() for c in classes]
        if str(target).lower() not in lowered:
            raise ImportFailed(
                f"{where}: the label map sends value {value} to {target!r}, "
                f"which is not a class of this project ({classes})"
            )
        index = lowered.index(str(target).lower())
    if not 0 <= index < len(classes):
        raise ImportFailed(f"{where}: value {value} maps to class {index}, outside 0..{len(classes) - 1}")
    return index


def _lookup(label_map: LabelMap, desc: str, value: int) -> Any:
    for key in (f"{desc}:{value}", f"{desc}:*", str(value), "*"):
        if key in label_map:
            return label_map[key]
    return None


def map_mask(mask: ImportedMask, label_map: LabelMap | None, classes: list[str]) -> np.ndarray:
    """Source values -> class indices. Returns (P, R, C) uint8; raises ImportFailed naming the file
    and the value when a value has no class."""
    lowered = [c.lower() for c in classes]
    out = np.zeros(mask.volume.shape, dtype=np.uint8)
    for raw in np.unique(mask.volume):
        value = int(raw)
        target = _lookup(label_map, mask.desc, value) if label_map else None
        if target is None and value == 0:
            continue
        if target is None and label_map is None:
            for name in (mask.label_table.get(value, ""), mask.structure, mask.desc):
                if name and name.lower() in lowered:
                    target = lowered.index(name.lower())
                    break
        if target is None:
            known = mask.label_table.get(value)
            raise ImportFailed(
                f"{mask.source_name}: label value {value}"
                + (f" ({known})" if known else "")
                + " is not in the label map; pass a label map (e.g. --label-map mids-lumbar) "
                "that sends it to one of the project's classes",
                file=mask.source_name,
                value=value,
            )
        out[mask.volume == raw] = _class_index(target, value, classes, mask.source_name)
    return out


def merge_masks(mapped: list[np.ndarray]) -> np.ndarray:
    """Several class maps of one image (vertebrae + discs) -> one; later non-zero labels win."""
    merged = mapped[0].copy()
    for labels in mapped[1:]:
        merged[labels != 0] = labels[labels != 0]
    return merged
