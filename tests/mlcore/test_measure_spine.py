"""mlcore.measure on whole synthetic slices: separating, ordering and naming bodies, neighbour ratios
(crush), disc distances, and bad input reported as not measurable."""

from __future__ import annotations

import numpy as np
import pytest

from mlcore.measure import MeasureClasses, measure_instances, measure_slice, separate_bodies
from mlcore.phantom import LUMBAR_CLASSES
from tests.mlcore.measure_shapes import Body, draw, spine

SPACING = (0.6, 0.9)
NORMAL = Body(depth=36, ant=26, post=26)
SACRUM = LUMBAR_CLASSES.index("sacrum")


def test_classes_are_found_by_name_in_any_schema():
    assert MeasureClasses.from_names(LUMBAR_CLASSES) == MeasureClasses(vertebra=1, sacrum=2, disc=3)
    assert MeasureClasses.from_names(["background", "vertebrae", "discs"]) == MeasureClasses(1, None, 2)
    with pytest.raises(ValueError, match="no vertebra class"):
        MeasureClasses.from_names(["background", "lytic", "sclerotic"])


def test_five_bodies_above_the_sacrum_are_named_l1_to_l5_from_top_to_bottom():
    labels = spine([NORMAL] * 5, SPACING, sacrum=SACRUM)
    result = measure_slice(labels, SPACING, LUMBAR_CLASSES)
    assert result.levels_named
    assert [b.label for b in result.bodies] == ["L1", "L2", "L3", "L4", "L5"]
    assert [b.centroid.y for b in result.bodies] == sorted(b.centroid.y for b in result.bodies)
    assert all(b.measurable and b.grade.grade == 0 for b in result.bodies)


def test_posterior_elements_beside_the_bodies_are_left_out_of_the_levels():
    labels = spine([NORMAL] * 3, SPACING, sacrum=SACRUM)
    rows = np.nonzero(labels.any(axis=1))[0]
    for body_rows in np.array_split(np.arange(rows[0], rows[0] + 3 * 58), 3):
        top = body_rows[0] + 8  # a spinous process behind each body, 12 x 14 mm
        labels[top : top + 20, 80:96] = 1
    result = measure_slice(labels, SPACING, LUMBAR_CLASSES)
    assert result.posterior_elements == 3
    assert [b.label for b in result.bodies] == ["L3", "L4", "L5"]


def test_the_phantom_slice_gives_five_lumbar_levels_above_its_sacrum():
    from mlcore.phantom import generate_slice

    for seed in range(3):
        _, mask = generate_slice(np.random.default_rng(seed), size=(256, 256))
        result = measure_slice(mask, (1.0, 1.0), LUMBAR_CLASSES)
        assert result.posterior_elements >= 3, "the phantom paints arches behind the bodies"
        assert [b.label for b in result.bodies] == ["L1", "L2", "L3", "L4", "L5"]
        assert all(b.measurable for b in result.bodies)


def test_without_a_sacrum_the_bodies_are_numbered_and_the_result_says_so():
    labels = spine([NORMAL] * 3, SPACING)
    result = measure_slice(labels, SPACING, ["background", "vertebrae", "discs"])
    assert not result.levels_named
    assert [b.label for b in result.bodies] == ["V1", "V2", "V3"]
    assert "not named" in result.naming and "no sacrum class" in result.naming
    named = measure_slice(labels, SPACING, ["background", "vertebrae", "discs"], lowest_level="L5")
    assert [b.label for b in named.bodies] == ["L3", "L4", "L5"]


def test_disc_distances_are_measured_between_the_anchor_points_of_neighbours():
    labels = spine([NORMAL] * 3, SPACING, gap_mm=9.0, tilt_deg=10.0)
    result = measure_slice(labels, SPACING, ["background", "vertebrae"])
    assert [(d.upper, d.lower) for d in result.discs] == [("V1", "V2"), ("V2", "V3")]
    for disc in result.discs:
        # bodies stacked 9 mm apart along the image's vertical; each body tilted by 10 degrees, so
        # the gap along the body's height axis near the walls is 9 mm give or take the tilt's offset
        assert 6.0 < disc.anterior.mm < 12.0 and 6.0 < disc.posterior.mm < 12.0
        upper = next(b for b in result.bodies if b.label == disc.upper)
        assert disc.anterior.start == upper.anterior.end


def test_disc_distance_equals_the_gap_for_upright_bodies():
    labels = spine([NORMAL] * 2, SPACING, gap_mm=8.4)
    result = measure_slice(labels, SPACING, ["background", "vertebrae"])
    (disc,) = result.discs
    assert disc.anterior.mm == pytest.approx(8.4, abs=2 * SPACING[0])
    assert disc.posterior.mm == pytest.approx(8.4, abs=2 * SPACING[0])


def test_a_body_a_third_lower_than_its_neighbours_is_a_moderate_crush():
    crushed = Body(depth=36, ant=17, post=17)  # 1 - 17/26 = 35 % lower than the neighbours
    labels = spine([NORMAL, NORMAL, crushed, NORMAL, NORMAL], SPACING, sacrum=SACRUM)
    result = measure_slice(labels, SPACING, LUMBAR_CLASSES)
    l3 = next(b for b in result.bodies if b.label == "L3")
    assert l3.loss_own.anterior == pytest.approx(0, abs=0.05)  # its own shape is normal
    assert l3.loss_vs_neighbours.posterior == pytest.approx(1 - 17 / 26, abs=0.04)
    assert (l3.grade.shape, l3.grade.grade, l3.grade.label) == ("crush", 2, "moderate")
    others = [b for b in result.bodies if b.label != "L3"]
    assert all(b.grade.grade == 0 for b in others)


def test_two_bodies_touching_through_a_bridge_are_split_at_the_neck():
    labels = spine([NORMAL, NORMAL], SPACING, gap_mm=6.0)
    rows = np.nonzero(labels.any(axis=1))[0]
    gap_rows = [r for r in range(rows[0], rows[-1]) if not labels[r].any()]
    mid_col = labels.shape[1] // 2
    for r in gap_rows:  # a 10 mm wide bridge of bone across the disc space
        labels[r, mid_col - 5 : mid_col + 6] = 1
    instances = separate_bodies(labels, 1, SPACING)
    assert instances.max() == 2
    result = measure_slice(labels, SPACING, ["background", "vertebrae"])
    assert [b.measurable for b in result.bodies] == [True, True]
    for body in result.bodies:
        assert body.posterior.mm == pytest.approx(26, abs=2.5)  # the cut leaves each body whole


def test_a_deeply_biconcave_body_is_not_split_into_two_lobes():
    labels = np.zeros((200, 100), dtype=np.uint8)
    draw(labels, Body(depth=36, ant=26, post=26, concavity=9), (45, 60), SPACING)  # middle 8 mm
    assert separate_bodies(labels, 1, SPACING).max() == 1
    body = measure_slice(labels, SPACING, ["background", "vertebrae"]).bodies[0]
    assert body.measurable and body.grade.shape == "biconcave" and body.grade.grade == 3


def test_a_slice_without_vertebrae_is_not_measurable_and_says_why():
    labels = np.zeros((64, 64), dtype=np.uint8)
    labels[10:20, 10:20] = 3  # a disc, no vertebra
    result = measure_slice(labels, SPACING, LUMBAR_CLASSES)
    assert not result.measurable
    assert result.bodies == [] and result.reason == "no vertebra pixels in this mask"


def test_a_body_cut_by_the_image_border_is_reported_not_measured():
    labels = spine([NORMAL] * 3, SPACING)
    top_rows = np.nonzero(labels.any(axis=1))[0][0]
    labels = labels[top_rows + 10 :]  # the first body now starts at the top edge
    result = measure_slice(labels, SPACING, ["background", "vertebrae"])
    first = result.bodies[0]
    assert not first.measurable and first.anterior is None and first.grade is None
    assert "cut by the image border (top edge)" in (first.reason or "")
    assert [b.measurable for b in result.bodies[1:]] == [True, True]


def test_a_fragment_too_small_is_reported_and_left_out_of_the_levels():
    labels = spine([NORMAL] * 3, SPACING, sacrum=SACRUM)
    labels[150:156, 10:15] = 1  # 30 px = 16 mm^2, far from the column
    labels[2:4, 2:4] = 1  # a 4-pixel speck: noise
    result = measure_slice(labels, SPACING, LUMBAR_CLASSES)
    fragments = [b for b in result.bodies if b.fragment]
    assert len(fragments) == 1 and not fragments[0].measurable
    assert fragments[0].reason.startswith("fragment too small to measure")
    assert [b.label for b in result.bodies if not b.fragment] == ["L3", "L4", "L5"]
    assert result.ignored_specks == 1
    assert len(result.discs) == 2


def test_bodies_merged_without_a_visible_neck_are_not_measured():
    labels = np.zeros((200, 100), dtype=np.uint8)
    draw(labels, Body(depth=36, ant=60, post=60), (45, 60), SPACING)  # two bodies, no disc at all
    body = measure_slice(labels, SPACING, ["background", "vertebrae"]).bodies[0]
    assert not body.measurable and "several bodies merged" in (body.reason or "")


def test_noise_and_rings_are_not_measured_as_bodies():
    rng = np.random.default_rng(0)
    noise = (rng.random((120, 100)) < 0.3).astype(np.uint8)
    result = measure_slice(noise, (1.0, 1.0), ["background", "vertebrae"])
    assert not result.measurable and result.reason.startswith("no measurable vertebral body")
    yy, xx = np.mgrid[:100, :100]
    radius = np.hypot(yy - 50, xx - 50)
    ring = ((radius > 20) & (radius < 25)).astype(np.uint8)
    body = measure_slice(ring, (1.0, 1.0), ["background", "vertebrae"]).bodies[0]
    assert not body.measurable and body.reason.startswith("irregular outline")
    assert body.anterior is None and body.grade is None


def test_bad_arguments_raise_value_errors_that_name_the_problem():
    with pytest.raises(ValueError, match="spacing"):
        measure_slice(np.zeros((8, 8)), (0.0, 1.0), LUMBAR_CLASSES)
    with pytest.raises(ValueError, match="2D"):
        measure_slice(np.zeros((2, 8, 8)), (1.0, 1.0), LUMBAR_CLASSES)
    with pytest.raises(ValueError, match="unknown level"):
        measure_instances(spine([NORMAL], SPACING), SPACING, lowest_level="X9")


def test_the_result_serialises_to_plain_json():
    import json

    result = measure_slice(spine([NORMAL] * 2, SPACING, sacrum=SACRUM), SPACING, LUMBAR_CLASSES)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["measurable"] is True
    assert data["bodies"][0]["anterior"]["start"].keys() == {"x", "y"}
    assert data["bodies"][1]["grade"]["label"] == "normal"


def test_mlcore_measure_runs_without_torch_so_web_processes_stay_lean():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, numpy as np\n"
        "from mlcore.measure import measure_slice\n"
        "labels = np.zeros((80, 60), dtype=np.uint8); labels[20:45, 15:45] = 1\n"
        "assert measure_slice(labels, (1.0, 1.0), ['background', 'vertebrae']).measurable\n"
        "print(','.join(sorted(n for n in sys.modules if n.split('.')[0] in ('torch', 'django'))))\n"
    )
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""
