"""Plain result types of the vertebral body measurements (no numpy inside, so they serialise as they are).

Coordinates are image coordinates of the measured slice: `x` = column, `y` = row, with pixel (r, c)
centred on (x=c, y=r) and covering [c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]. Rows run superior ->
inferior and columns anterior -> posterior (mlcore.io). Lengths are millimetres.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Point:
    x: float  # column
    y: float  # row


@dataclass(frozen=True)
class HeightLine:
    """A measured distance: `start` is the superior (or, for a disc, the upper body's) end."""

    start: Point
    end: Point
    mm: float


@dataclass(frozen=True)
class Trapezoid:
    """The smallest bounding trapezoid: two parallel bases along the endplates, legs along the walls.

    corners: anterior-superior, posterior-superior, posterior-inferior, anterior-inferior.
    rotation_deg: angle of the bases from the image's column axis (in mm), positive when the posterior
    side lies lower (more inferior) than the anterior side."""

    corners: tuple[Point, Point, Point, Point]
    rotation_deg: float
    area_mm2: float


@dataclass(frozen=True)
class Heights:
    """One number per measuring line (a fraction, a ratio or mm)."""

    anterior: float
    middle: float
    posterior: float


@dataclass(frozen=True)
class Grade:
    """Genant semi-quantitative grade: 0 normal (< 20 % loss), 1 mild (20-25 %), 2 moderate (25-40 %),
    3 severe (> 40 %); shape names the deformity that carries the largest loss (None when normal)."""

    grade: int
    label: str
    shape: str | None
    loss: float  # the height loss (0..1) the grade was taken from


@dataclass
class BodyMeasurement:
    label: str  # level name ("L3") or a number ("V2") when levels cannot be named
    order: int  # 0 = most cranial body of the slice
    pixels: int
    area_mm2: float
    centroid: Point
    measurable: bool
    reason: str | None = None  # why not measurable
    fragment: bool = False  # too small to be a level: left out of naming, neighbours and discs
    trapezoid: Trapezoid | None = None
    anterior: HeightLine | None = None
    middle: HeightLine | None = None
    posterior: HeightLine | None = None
    # 1 - height / the largest of the body's three heights (wedge: anterior, biconcave: middle).
    loss_own: Heights | None = None
    # 1 - height / the mean of the same height of the measurable neighbours above and below.
    loss_vs_neighbours: Heights | None = None
    grade: Grade | None = None

    def heights_mm(self) -> Heights | None:
        if self.anterior is None or self.middle is None or self.posterior is None:
            return None
        return Heights(self.anterior.mm, self.middle.mm, self.posterior.mm)


@dataclass(frozen=True)
class DiscMeasurement:
    """Distances between neighbouring bodies from the same anchor points as their heights: the upper
    body's inferior end of a height line to the lower body's superior end of the same line."""

    upper: str
    lower: str
    anterior: HeightLine
    posterior: HeightLine


@dataclass
class SliceMeasurement:
    spacing_mm: tuple[float, float]  # (row, col)
    shape: tuple[int, int]  # (H, W)
    levels_named: bool
    naming: str  # how the levels were named, or why they are only numbered
    bodies: list[BodyMeasurement] = field(default_factory=list)
    discs: list[DiscMeasurement] = field(default_factory=list)
    reason: str | None = None  # set when nothing on the slice is measurable
    ignored_specks: int = 0  # vertebra components under 5 pixels, left out as noise
    posterior_elements: int = 0  # arches / spinous processes beside the bodies, left out

    @property
    def measurable(self) -> bool:
        return any(b.measurable for b in self.bodies)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["measurable"] = self.measurable
        return out
