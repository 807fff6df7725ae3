"""Mapping a dataset's own mask values onto a project's classes.

A label map is a dict whose keys are "desc:value" (e.g. "vertebrae:3"), "desc:*", "value" or "*"
and whose values are a class index or class name. It comes from the `label_map` option, or from a
JSON file (a path, or a name in fixtures/label_maps/, e.g. "mids-lumbar"); keys starting with "_" are
comments. Given a map, only the map counts. Without one, a value is mapped automatically when its label-table name, or the mask's
structure/desc, equals a class name of the project, or when its label-table name is an instance or level of
a class (`mlcore.data.class_for_label`: "vertebra instance 7" and "L1" are vertebrae, "L4-L5" a disc). The special map "identity" keeps values as
class indices (masks exported by SpineLab itself).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from annotator.errors import ImportFailed
from annotator.imports.types import ImportedMask
from mlcore.data import class_for_label

LABEL_MAP_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "label_maps"
LabelMap = dict[str, Any]


def load_label_map(spec: str | Path | dict[Any, Any] | None) -> LabelMap | None:
    """Normalise a label-map option: None, a dict, "identity", a JSON file path or a fixture name.

    Server-side callers only (management commands, seed_demo): a string may name any file. Values
    from clients go through `client_label_map`, which never touches the file system by their name."""
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
        raise ImportFailed(
            f"label map {str(spec)!r} is neither a JSON file nor one of {builtin_label_maps()}"
        )
    try:
        return parse_label_map_json(path.read_bytes(), path.name)
    except OSError as exc:
        raise ImportFailed(f"label map {path.name} cannot be read ({exc.strerror})") from exc


def builtin_label_maps() -> list[str]:
    """The label maps a client may name: "identity" and the fixtures in fixtures/label_maps/."""
    return ["identity", *sorted(p.stem for p in LABEL_MAP_DIR.glob("*.json"))]


def parse_label_map_json(data: bytes, name: str) -> LabelMap:
    """A label map from JSON bytes (a built-in fixture or a client's upload); ImportFailed when it is
    not a JSON object of 'desc:value' -> class index or name."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFailed(f"label map {name} is not valid UTF-8 JSON ({exc.__class__.__name__})") from exc
    if isinstance(parsed, dict) and isinstance(parsed.get("map"), dict):
        parsed = parsed["map"]
    if not isinstance(parsed, dict):
        raise ImportFailed(f"label map {name} must be a JSON object of 'desc:value' -> class")
    for key, value in parsed.items():
        if str(key).startswith("_"):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ImportFailed(f"label map {name}: {str(key)[:50]!r} must map to a class index or class name")
    return load_label_map(parsed) or {}


def client_label_map(name: str = "", upload: bytes | None = None, upload_name: str = "") -> LabelMap | None:
    """The label map a client chose: one of `builtin_label_maps()` by name, or an uploaded JSON file.
    A client's name is only ever compared with the built-in names, never opened as a path."""
    if upload is not None:
        return parse_label_map_json(upload, upload_name or "upload")
    if not name:
        return None
    if name not in builtin_label_maps():
        raise ImportFailed(
            f"label_map must be one of {builtin_label_maps()} or an uploaded JSON file (label_map_file)"
        )
    return load_label_map(name)


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
    and the value when a value has no class.

    A uint8 source volume is mapped in place and returned (the mask's values are consumed): an
    import then never holds the source labels and the class labels together (issue 17)."""
    lowered = [c.lower() for c in classes]
    # Plane by plane: no whole-volume temporaries beyond the output (imports hold one volume).
    found = sorted({int(v) for plane in mask.volume for v in np.unique(plane)})
    targets: dict[int, int] = {}
    for value in found:
        target = _lookup(label_map, mask.desc, value) if label_map else None
        if target is None and value == 0:
            continue
        if target is None and label_map is None:
            for name in (mask.label_table.get(value, ""), mask.structure, mask.desc):
                if name and name.lower() in lowered:
                    target = lowered.index(name.lower())
                    break
            # Instance and level names ("vertebra instance 7", "L1", "L4-L5") map onto their class.
            if target is None and mask.label_table.get(value):
                target = class_for_label(mask.label_table[value], classes)
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
        targets[value] = _class_index(target, value, classes, mask.source_name)
    if mask.volume.dtype == np.uint8:
        table = np.zeros(256, np.uint8)  # values without a class are 0 (checked above)
        for value, index in targets.items():
            table[value] = index
        for plane in mask.volume:
            np.take(table, plane, out=plane)
        return mask.volume
    out = np.zeros(mask.volume.shape, dtype=np.uint8)
    for source, mapped in zip(mask.volume, out, strict=True):
        for value, index in targets.items():
            mapped[source == value] = index
    return out


def merge_masks(mapped: list[np.ndarray]) -> np.ndarray:
    """Several class maps of one image (vertebrae + discs) -> one; later non-zero labels win."""
    merged = mapped[0].copy()
    for labels in mapped[1:]:
        merged[labels != 0] = labels[labels != 0]
    return merged
