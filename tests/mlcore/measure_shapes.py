"""Synthetic vertebral bodies of known size, rasterised at pixel centres in millimetres.

A body is described in its own frame: v along the antero-posterior axis (negative = anterior), u along
the height axis (negative = superior), both in mm and centred on the body. It is rotated by `tilt_deg`
(positive: the posterior side goes down, as Trapezoid.rotation_deg) and drawn on a (H, W) grid whose
pixel (r, c) centre lies at (x = c * col_mm, y = r * row_mm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Body:
    """depth: anterior-posterior size; ant/post: heights of the anterior / posterior walls; concavity:
    how far each endplate dips in at the middle (biconcave); top_depth: the superior endplate's length
    when the body is a trapezoid (legs slanting outwards below), else depth."""

    depth: float
    ant: float
    post: float
    concavity: float = 0.0
    top_depth: float | None = None

    def half_height(self, v: np.ndarray) -> np.ndarray:
        t = np.clip((v + self.depth / 2) / self.depth, 0, 1)  # 0 anterior .. 1 posterior
        wall = self.ant + (self.post - self.ant) * t
        dip = self.concavity * (1 - (2 * v / self.depth) ** 2)
        return wall / 2 - np.clip(dip, 0, None)

    def contains(self, v: np.ndarray, u: np.ndarray) -> np.ndarray:
        if self.top_depth is None:
            inside_v = np.abs(v) <= self.depth / 2
        else:
            height = max(self.ant, self.post)
            s = np.clip((u + height / 2) / height, 0, 1)
            half = (self.top_depth + (self.depth - self.top_depth) * s) / 2
            inside_v = np.abs(v) <= half
        return inside_v & (np.abs(u) <= self.half_height(v))

    def height_at(self, v: float) -> float:
        """The true height (mm) at v in the body's frame."""
        return float(2 * self.half_height(np.array([v]))[0])


def draw(
    labels: np.ndarray,
    body: Body,
    centre_mm: tuple[float, float],
    spacing: tuple[float, float],
    tilt_deg: float = 0.0,
    value: int = 1,
) -> None:
    """Paint `body` centred at centre_mm = (x, y) into labels (H, W) in place."""
    rows, cols = np.indices(labels.shape)
    x = cols * spacing[1] - centre_mm[0]
    y = rows * spacing[0] - centre_mm[1]
    th = math.radians(tilt_deg)
    v = np.asarray(x * math.cos(th) + y * math.sin(th))
    u = np.asarray(-x * math.sin(th) + y * math.cos(th))
    labels[body.contains(v, u)] = value


def spine(
    bodies: list[Body],
    spacing: tuple[float, float],
    gap_mm: float = 9.0,
    tilt_deg: float = 0.0,
    size_mm: tuple[float, float] = (260.0, 90.0),
    sacrum: int | None = None,
) -> np.ndarray:
    """A column of bodies from top to bottom separated by gaps (discs left as background), optionally a
    sacrum block below. Returns labels (H, W) uint8 with vertebrae = 1 (sacrum = `sacrum`)."""
    h = int(round(size_mm[0] / spacing[0]))
    w = int(round(size_mm[1] / spacing[1]))
    labels = np.zeros((h, w), dtype=np.uint8)
    y = 20.0
    for body in bodies:
        height = max(body.ant, body.post)
        draw(labels, body, (size_mm[1] / 2, y + height / 2), spacing, tilt_deg)
        y += height + gap_mm
    if sacrum is not None:
        draw(labels, Body(depth=40, ant=30, post=30), (size_mm[1] / 2, y + 15), spacing, 0.0, value=sacrum)
    return labels
