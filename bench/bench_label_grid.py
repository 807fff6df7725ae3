"""How the real-MRI reference masks were resampled through the slices, and what that allows a model.

`mids-lumbar` and `mids-multisite` are redistributed at 1 mm isotropic, but most volumes were acquired
with sagittal slices about 4 mm apart: the images' in-between slices are linear blends of the acquired
ones (their second difference along the slice axis vanishes), while the masks' in-between slices are
not blends. This finds, per volume, the acquired slices from the image alone (second difference above
3x its median, on a regular grid) and then, per site:

- what the in-between masks are: IoU with the union, the intersection and the nearer of the two
  acquired masks around them, and how far apart those two are (IoU of neighbouring acquired masks);
- ceilings: vertebra IoU against the reference, over the scored slices from the first acquired slice
  to the last (the benchmarks' scoring; the few lateral slices outside them left out), of masks a
  perfect model of the acquired slices could draw in between without knowing the site's
  resampling rule: the nearer acquired mask ("nearest"), a shape blend (signed distances interpolated
  linearly, "blend"), and the two rules the data uses ("union", "intersection").

    uv run python bench/bench_label_grid.py --out bench/results/label-grid.json

No model and no training: seconds. What it does not show: how the masks were made at acquisition
resolution (not in the data), volumes whose slices are not blends (VB2, where nothing is detected).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_sites as bs  # noqa: E402

from mlcore.data import IGNORE_INDEX, Sample  # noqa: E402

RULES = ("nearest", "blend", "union", "intersection")


def acquired_slices(images: Sequence[np.ndarray]) -> list[int]:
    """Indices of the slices that were acquired, where the others are linear blends of them; [] when
    the stack shows no regular grid of blends. `images`: one volume's slices (C, H, W) in order."""
    stack = np.stack([np.asarray(im, np.float32)[0] for im in images])
    n = len(stack)
    if n < 5:
        return []
    second = np.abs(stack[:-2] - 2 * stack[1:-1] + stack[2:]).mean(axis=(1, 2))
    first = np.abs(stack[2:] - stack[:-2]).mean(axis=(1, 2)) + 1e-6
    ratio = second / first  # for slice 1 .. n-2
    kinks = [int(k) + 1 for k in np.nonzero(ratio > 3 * np.median(ratio))[0]]
    if len(kinks) < 3:
        return []
    steps = np.diff(kinks)
    step = int(np.bincount(steps).argmax())
    if step < 2 or np.mean(steps == step) < 0.8:
        return []
    return kinks


def phases(images: Sequence[np.ndarray]) -> list[str]:
    """Per slice "acquired" or "in-between" (a blend of two acquired slices), or "" for every slice of
    a volume without detected blends."""
    kinks = acquired_slices(images)
    if not kinks:
        return [""] * len(images)
    grid = set(kinks)
    return ["acquired" if i in grid else "in-between" for i in range(len(images))]


def _sdf(mask: np.ndarray) -> np.ndarray:
    """Signed distance (negative inside) of a binary mask; +inf-like far outside when empty."""
    if not mask.any():
        return np.full(mask.shape, 1e6, np.float32)
    outside = ndimage.distance_transform_edt(~mask)
    inside = ndimage.distance_transform_edt(mask)
    return (outside - inside).astype(np.float32)


def in_between(a: np.ndarray, b: np.ndarray, w: float, rule: str) -> np.ndarray:
    """Binary mask at fraction `w` (0 = at `a`, 1 = at `b`) between acquired masks `a` and `b`."""
    if rule == "nearest":
        return a if w <= 0.5 else b
    if rule == "union":
        return a | b
    if rule == "intersection":
        return a & b
    return ((1 - w) * _sdf(a) + w * _sdf(b)) < 0


def analyse(samples: list[Sample]) -> dict:
    by_volume: dict[str, list[Sample]] = {}
    for s in samples:
        if s.mask is not None:
            by_volume.setdefault(s.volume_key, []).append(s)
    sites: dict[str, dict] = {}
    for stack in by_volume.values():
        stack.sort(key=lambda s: s.index or 0)
        site = stack[0].site
        truths = [np.asarray(s.mask) for s in stack]
        if not any((t == 1).any() for t in truths):
            continue  # discs only (IVD)
        kinks = acquired_slices([s.image for s in stack])
        d = sites.setdefault(
            site,
            {
                "volumes": 0,
                "with blends": 0,
                "grid step": [],
                "match": {r: [] for r in ("nearest", "union", "intersection", "neighbours")},
                "ceiling": {r: [0, 0] for r in RULES},
            },
        )
        d["volumes"] += 1
        if not kinks:
            continue
        d["with blends"] += 1
        d["grid step"].append(int(np.median(np.diff(kinks))))
        vert = [t == 1 for t in truths]
        keep = [t != IGNORE_INDEX for t in truths]
        for lo, hi in zip(kinks[:-1], kinks[1:], strict=True):
            a, b = vert[lo], vert[hi]
            if (a | b).sum() >= 100:  # the masks' rule, where there is a body to compare
                mid = vert[(lo + hi) // 2]
                nearer = a if (lo + hi) // 2 - lo <= hi - (lo + hi) // 2 else b
                d["match"]["nearest"].append(_iou(mid, nearer))
                d["match"]["union"].append(_iou(mid, a | b))
                d["match"]["intersection"].append(_iou(mid, a & b))
                d["match"]["neighbours"].append(_iou(a, b))
            last = hi if hi == kinks[-1] else hi - 1  # hi is the next segment's first slice
            for i in range(lo, last + 1):
                for rule in RULES:
                    guess = vert[i] if i in (lo, hi) else in_between(a, b, (i - lo) / (hi - lo), rule)
                    t, p = vert[i] & keep[i], guess & keep[i]
                    d["ceiling"][rule][0] += int((t & p).sum())
                    d["ceiling"][rule][1] += int((t | p).sum())
    out = {}
    for site, d in sorted(sites.items()):
        out[site] = {
            "volumes": d["volumes"],
            "volumes with blended slices": d["with blends"],
            "acquired every (slices)": sorted(set(d["grid step"])),
            "in-between mask IoU with": {k: float(np.mean(v)) if v else None for k, v in d["match"].items()},
            "ceiling": {r: (i / u if u else None) for r, (i, u) in d["ceiling"].items()},
        }
    return out


def _iou(x: np.ndarray, y: np.ndarray) -> float:
    union = int((x | y).sum())
    return float((x & y).sum() / union) if union else 1.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("SPINELAB_SHARED_DATA", "../shared/data"))
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    samples = bs.load_or_none(args.data, 1)
    if samples is None:
        return 0
    result = analyse(samples)
    print(
        "| site | volumes with blended slices | acquired every | in-between mask IoU with: nearer | union | intersection | neighbouring acquired masks' IoU |"
    )
    print("|---|---|---|---|---|---|---|")
    for site, r in result.items():
        m = r["in-between mask IoU with"]
        cells = [
            f"{100 * m[k]:.1f}" if m[k] is not None else "-"
            for k in ("nearest", "union", "intersection", "neighbours")
        ]
        steps = ", ".join(f"{s} mm" for s in r["acquired every (slices)"]) or "-"
        print(
            f"| {site} | {r['volumes with blended slices']} of {r['volumes']} | {steps} | "
            + " | ".join(cells)
            + " |"
        )
    print(
        "\nCeilings: vertebra IoU against the reference over the blended volumes' scored slices, acquired slices exact"
    )
    print("| site | " + " | ".join(RULES) + " |")
    print("|---" * (len(RULES) + 1) + "|")
    for site, r in result.items():
        c = r["ceiling"]
        if c["nearest"] is None:
            continue
        print(f"| {site} | " + " | ".join(f"{100 * c[k]:.1f} %" for k in RULES) + " |")
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
