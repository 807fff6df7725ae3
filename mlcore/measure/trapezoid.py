"""Geometry of one vertebral body: its smallest bounding trapezoid and the three heights.

Everything is computed in millimetres (x = column * col_mm, y = row * row_mm), so anisotropic pixels
and rotated bodies are measured correctly, and converted back to image coordinates at the end.

The trapezoid has two parallel bases along the endplates and its legs along the anterior and posterior
walls; the three heights are measured perpendicular to the bases. For an orientation theta the bases are the extreme lines of the body along the height axis; the
legs that minimise the area are the tangents of the convex hull where the mid-height line crosses it,
so area(theta) = height extent * hull width at mid-height. theta is searched within +-45 degrees of the
image axes (a lumbar body is never lying on its side in a sagittal slice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from mlcore.measure.types import HeightLine, Point, Trapezoid

INSET = 0.10  # anchor points: shifted 10 % of the body's width inwards from the walls
MAX_TILT_DEG = 45.0
# A wedge's area barely changes with the tilt of the bases: among orientations within this fraction of
# the smallest area, take the one closest to the body's principal axis (stable, symmetric results).
AREA_TOLERANCE = 0.01
PRINCIPAL_WINDOW_DEG = 25.0
MIN_ANISOTROPY = 1.3  # ratio of principal moments above which the principal axis orients the search


@dataclass(frozen=True)
class BodyGeometry:
    trapezoid: Trapezoid
    anterior: HeightLine | None
    middle: HeightLine | None
    posterior: HeightLine | None


def body_hull_mm(body: np.ndarray, spacing: tuple[float, float]) -> np.ndarray:
    """Convex hull (counter-clockwise, (K, 2) as x, y in mm) of the pixel squares of a (H, W) bool mask."""
    rows, cols = np.nonzero(body)
    rs, cs = spacing
    corners = np.concatenate(
        [np.stack([(cols + dc) * cs, (rows + dr) * rs], axis=1) for dr in (-0.5, 0.5) for dc in (-0.5, 0.5)]
    )
    hull = ConvexHull(corners)
    ordered: np.ndarray = corners[hull.vertices]  # (K, 2)
    return ordered


def _frame(theta: float) -> tuple[np.ndarray, np.ndarray]:
    """(AP axis pointing posterior, height axis pointing inferior) for a tilt theta (radians)."""
    return np.array([math.cos(theta), math.sin(theta)]), np.array([-math.sin(theta), math.cos(theta)])


def _crossings(v: np.ndarray, u: np.ndarray, level: float) -> list[tuple[float, float]]:
    """Where the closed polygon (v, u) crosses u = level: [(v at the crossing, dv/du of that edge)]."""
    v2, u2 = np.roll(v, -1), np.roll(u, -1)
    du = u2 - u
    hits = ((u - level) * (u2 - level) <= 0) & (np.abs(du) > 1e-12)
    out = []
    for i in np.nonzero(hits)[0]:
        t = (level - u[i]) / du[i]
        out.append((float(v[i] + t * (v2[i] - v[i])), float((v2[i] - v[i]) / du[i])))
    return out


def _area(hull: np.ndarray, theta: float) -> float:
    a, h = _frame(theta)
    v, u = hull @ a, hull @ h
    mid = (u.min() + u.max()) / 2
    crossing = [c[0] for c in _crossings(v, u, mid)]
    return float((u.max() - u.min()) * (max(crossing) - min(crossing)))


def _principal_tilt(body: np.ndarray, spacing: tuple[float, float]) -> tuple[float, float]:
    """(tilt in radians within +-45 degrees of the principal axis closest to the column axis, ratio of
    the two principal moments: near 1 the axis means little)."""
    rows, cols = np.nonzero(body)
    pts = np.stack([cols * spacing[1], rows * spacing[0]], axis=1)
    pts = pts - pts.mean(axis=0)
    vals, vecs = np.linalg.eigh(pts.T @ pts)
    angles = [math.atan2(vec[1], vec[0]) for vec in vecs.T]
    folded = [(ang + math.pi / 2) % math.pi - math.pi / 2 for ang in angles]  # into [-90, 90)
    best = min(range(2), key=lambda k: abs(folded[k]))
    return folded[best], float(vals.max() / max(vals.min(), 1e-9))


def best_tilt(body: np.ndarray, hull: np.ndarray, spacing: tuple[float, float]) -> float:
    """The tilt (radians) of the smallest-area bounding trapezoid.

    Searched within PRINCIPAL_WINDOW_DEG of the principal axis (a wedge fits a trapezoid standing on its
    walls almost as tightly, 90 degrees away), or within +-45 degrees of the image axes when the body is
    too round for its principal axis to mean anything. Among orientations within AREA_TOLERANCE of the
    smallest area, the one closest to the principal axis wins."""
    principal, anisotropy = _principal_tilt(body, spacing)
    if anisotropy >= MIN_ANISOTROPY:
        window = math.radians(PRINCIPAL_WINDOW_DEG)
        grid = np.linspace(principal - window, principal + window, 201)
    else:
        limit = math.radians(MAX_TILT_DEG)
        grid = np.linspace(-limit, limit, 361)  # 0.25 degree steps
    areas = np.array([_area(hull, t) for t in grid])
    near = grid[areas <= areas.min() * (1 + AREA_TOLERANCE)]
    coarse = float(near[np.argmin(np.abs(near - principal))])
    if abs(coarse - principal) <= math.radians(0.25):
        return principal
    fine = np.linspace(coarse - math.radians(0.25), coarse + math.radians(0.25), 21)
    return float(fine[np.argmin([_area(hull, t) for t in fine])])


def extent_along(
    body: np.ndarray, spacing: tuple[float, float], origin: np.ndarray, direction: np.ndarray, reach: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The farthest body pixels on the line origin + s * direction (mm), |s| <= reach: returns the two
    end points in mm (pixel edges included), or None when the line misses the body."""
    rs, cs = spacing
    step = 0.1 * min(rs, cs)
    s = np.arange(-reach, reach + step, step)
    pts = origin[None, :] + s[:, None] * direction[None, :]
    rows = np.rint(pts[:, 1] / rs).astype(np.int64)
    cols = np.rint(pts[:, 0] / cs).astype(np.int64)
    valid = (rows >= 0) & (rows < body.shape[0]) & (cols >= 0) & (cols < body.shape[1])
    inside = np.zeros(len(s), dtype=bool)
    inside[valid] = body[rows[valid], cols[valid]]
    idx = np.nonzero(inside)[0]
    if len(idx) == 0:
        return None
    first, last = s[idx[0]] - step / 2, s[idx[-1]] + step / 2
    return origin + first * direction, origin + last * direction


def _to_point(p: np.ndarray, spacing: tuple[float, float]) -> Point:
    return Point(x=round(float(p[0] / spacing[1]), 3), y=round(float(p[1] / spacing[0]), 3))


def measure_body(body: np.ndarray, spacing: tuple[float, float]) -> BodyGeometry:
    """Trapezoid and heights of one body. body: (H, W) bool; spacing: (row_mm, col_mm).

    Raises ValueError when the pixels do not span an area (a line of pixels)."""
    try:
        hull = body_hull_mm(body, spacing)
    except QhullError as exc:
        raise ValueError("the body has no area") from exc
    theta = best_tilt(body, hull, spacing)
    a, h = _frame(theta)
    v, u = hull @ a, hull @ h
    top, bottom = float(u.min()), float(u.max())
    mid = (top + bottom) / 2
    crossing = _crossings(v, u, mid)
    (v_ant, slope_ant), (v_post, slope_post) = min(crossing), max(crossing)

    def leg(v0: float, slope: float, level: float) -> float:
        return v0 + slope * (level - mid)

    corners_vu = [
        (leg(v_ant, slope_ant, top), top),
        (leg(v_post, slope_post, top), top),
        (leg(v_post, slope_post, bottom), bottom),
        (leg(v_ant, slope_ant, bottom), bottom),
    ]
    corners_mm = [cv * a + cu * h for cv, cu in corners_vu]
    # Anchors: the legs' mid-height points shifted 10 % of the mid-height width inwards. The paper
    # shifts the shorter base's vertices, which is the same point for rectangles and parallel-leg
    # trapezoids; on real masks the legs are often slanted (sheared bodies in para-sagittal cuts) and a
    # line from a base vertex then leaves the body through the wall (6-14 mm "heights" on healthy
    # mids-lumbar bodies), whereas a line from the mid-height point crosses both endplates.
    width = v_post - v_ant
    anchors = {
        "anterior": v_ant + INSET * width,
        "middle": (v_ant + v_post) / 2,
        "posterior": v_post - INSET * width,
    }
    reach = float(np.hypot(body.shape[0] * spacing[0], body.shape[1] * spacing[1]))
    lines: dict[str, HeightLine | None] = {}
    for name, anchor_v in anchors.items():
        ends = extent_along(body, spacing, anchor_v * a + mid * h, h, reach)
        if ends is None:
            lines[name] = None
            continue
        lines[name] = HeightLine(
            start=_to_point(ends[0], spacing),
            end=_to_point(ends[1], spacing),
            mm=round(float(np.linalg.norm(ends[1] - ends[0])), 3),
        )
    trapezoid = Trapezoid(
        corners=(
            _to_point(corners_mm[0], spacing),
            _to_point(corners_mm[1], spacing),
            _to_point(corners_mm[2], spacing),
            _to_point(corners_mm[3], spacing),
        ),
        rotation_deg=round(math.degrees(theta), 2),
        area_mm2=round((bottom - top) * (v_post - v_ant), 2),
    )
    return BodyGeometry(trapezoid, lines["anterior"], lines["middle"], lines["posterior"])


def line_points_mm(line: HeightLine, spacing: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A HeightLine's ends back in mm (x, y)."""
    return (
        np.array([line.start.x * spacing[1], line.start.y * spacing[0]]),
        np.array([line.end.x * spacing[1], line.end.y * spacing[0]]),
    )
