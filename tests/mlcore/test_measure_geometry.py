"""mlcore.measure on synthetic bodies of known size: rectangles, trapezoids, wedges and biconcave
bodies, rotated up to 30 degrees, drawn at anisotropic pixel spacing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlcore.measure import BodyMeasurement, genant_grade_of_loss, measure_instances
from tests.mlcore.measure_shapes import Body, draw

SPACING = (0.5, 0.8)  # (row_mm, col_mm): anisotropic on purpose
ONE_PIXEL = math.hypot(*SPACING)  # a pixel's diagonal: the tolerance "within one pixel" in any direction
CENTRE = (56.0, 50.0)  # (x, y) mm
TILTS = [0.0, 12.0, -20.0, 30.0, -30.0]

RECTANGLE = Body(depth=35, ant=25, post=25)
WEDGE = Body(depth=36, ant=16, post=26)  # anterior wall 38 % lower than the posterior one
BICONCAVE = Body(depth=36, ant=26, post=26, concavity=4.5)  # middle 17 mm
TRAPEZOID = Body(depth=38, ant=24, post=24, top_depth=30)  # superior endplate shorter


def measure_one(body: Body, tilt: float) -> BodyMeasurement:
    labels = np.zeros((220, 140), dtype=np.uint8)
    draw(labels, body, CENTRE, SPACING, tilt)
    result = measure_instances(labels, SPACING)
    assert len(result.bodies) == 1
    measured = result.bodies[0]
    assert measured.measurable, measured.reason
    return measured


def body_frame(point_xy: tuple[float, float], tilt: float) -> tuple[float, float]:
    """Image point (x=col, y=row) -> (v, u) mm in the synthetic body's own frame."""
    x = point_xy[0] * SPACING[1] - CENTRE[0]
    y = point_xy[1] * SPACING[0] - CENTRE[1]
    th = math.radians(tilt)
    return x * math.cos(th) + y * math.sin(th), -x * math.sin(th) + y * math.cos(th)


def anchor_v(measured: BodyMeasurement, name: str, tilt: float) -> float:
    line = getattr(measured, name)
    a = body_frame((line.start.x, line.start.y), tilt)
    b = body_frame((line.end.x, line.end.y), tilt)
    return (a[0] + b[0]) / 2


@pytest.mark.parametrize("tilt", TILTS)
def test_a_rectangle_gives_three_equal_heights_and_its_rotation(tilt):
    measured = measure_one(RECTANGLE, tilt)
    for name in ("anterior", "middle", "posterior"):
        assert getattr(measured, name).mm == pytest.approx(25, abs=ONE_PIXEL)
    assert measured.trapezoid is not None
    assert measured.trapezoid.rotation_deg == pytest.approx(tilt, abs=1.0)
    assert measured.grade is not None and measured.grade.grade == 0 and measured.grade.shape is None


@pytest.mark.parametrize("tilt", TILTS)
def test_the_height_lines_run_ten_percent_inside_the_walls_perpendicular_to_the_endplates(tilt):
    measured = measure_one(TRAPEZOID, tilt)
    # endplates 30 and 38 mm long: 34 mm wide at mid-height, anchors 3.4 mm inside the walls
    assert anchor_v(measured, "anterior", tilt) == pytest.approx(-13.6, abs=ONE_PIXEL)
    assert anchor_v(measured, "middle", tilt) == pytest.approx(0, abs=ONE_PIXEL)
    assert anchor_v(measured, "posterior", tilt) == pytest.approx(13.6, abs=ONE_PIXEL)
    for name in ("anterior", "middle", "posterior"):
        assert getattr(measured, name).mm == pytest.approx(24, abs=ONE_PIXEL)
    # the lines run along the height axis: both ends share the anchor's v
    line = measured.anterior
    assert line is not None
    assert body_frame((line.start.x, line.start.y), tilt)[1] == pytest.approx(-12, abs=ONE_PIXEL)
    assert body_frame((line.end.x, line.end.y), tilt)[1] == pytest.approx(12, abs=ONE_PIXEL)


@pytest.mark.parametrize("tilt", TILTS)
def test_a_wedge_loses_anterior_height_and_is_graded_as_a_wedge(tilt):
    measured = measure_one(WEDGE, tilt)
    for name in ("anterior", "middle", "posterior"):
        truth = WEDGE.height_at(anchor_v(measured, name, tilt))
        assert getattr(measured, name).mm == pytest.approx(truth, abs=ONE_PIXEL), name
    # 10 % inside the walls: 16 + 1 = 17 mm anterior, 26 - 1 = 25 mm posterior
    assert measured.anterior.mm == pytest.approx(17, abs=ONE_PIXEL)
    assert measured.posterior.mm == pytest.approx(25, abs=ONE_PIXEL)
    expected_loss = 1 - 17 / 25  # 32 %: moderate
    assert measured.loss_own.anterior == pytest.approx(expected_loss, abs=0.04)
    assert measured.grade.shape == "wedge"
    assert measured.grade.grade == genant_grade_of_loss(expected_loss) == 2


@pytest.mark.parametrize("tilt", TILTS)
def test_a_biconcave_body_loses_middle_height(tilt):
    measured = measure_one(BICONCAVE, tilt)
    for name in ("anterior", "middle", "posterior"):
        truth = BICONCAVE.height_at(anchor_v(measured, name, tilt))
        assert getattr(measured, name).mm == pytest.approx(truth, abs=ONE_PIXEL), name
    assert measured.middle.mm == pytest.approx(17, abs=ONE_PIXEL)
    assert measured.grade.shape == "biconcave"
    # middle 17 mm against 26 * (1 - 0.36 * 4.5 * 2 / 26) ~ 22.8 mm at the anchors: ~ 25-30 % loss
    assert measured.grade.grade == genant_grade_of_loss(measured.loss_own.middle)
    assert measured.grade.grade in (1, 2)


def test_anisotropic_spacing_is_honoured_a_square_in_pixels_is_not_square_in_mm():
    labels = np.zeros((120, 120), dtype=np.uint8)
    labels[30:80, 30:80] = 1  # 50 x 50 pixels
    result = measure_instances(labels, (0.5, 0.8))
    body = result.bodies[0]
    assert body.anterior.mm == pytest.approx(25, abs=0.8)  # 50 rows * 0.5 mm
    assert body.area_mm2 == pytest.approx(50 * 50 * 0.4)
    trapezoid = body.trapezoid
    width_px = trapezoid.corners[1].x - trapezoid.corners[0].x
    assert width_px == pytest.approx(50, abs=1)  # corners come back in image coordinates


@pytest.mark.parametrize(
    ("loss", "grade"),
    [(0.0, 0), (0.199, 0), (0.20, 1), (0.249, 1), (0.25, 2), (0.40, 2), (0.401, 3), (0.9, 3)],
)
def test_genant_thresholds(loss, grade):
    assert genant_grade_of_loss(loss) == grade
