"""mlcore.measure on the real vertebra masks of ../shared/data/mids-lumbar (L1..L5 labelled 1..5, 1 mm
isotropic), on each subject's mid-sagittal slice (the one with the most vertebra pixels).

Physiological range: adult lumbar vertebral body heights are about 24-30 mm on average (anterior and
posterior, L1-L5; e.g. Zhou et al., Eur Spine J 2000;9:242-248, measured on CT), the middle
height a little less (concave endplates). The test accepts 20-35 mm for every height of every body:
these subjects are healthy volunteers (MyoSegmenTUM), so no height should fall outside it.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlcore.io import find_mids_series, read_label_table, read_sagittal
from mlcore.measure import measure_instances, measure_slice
from tests.conftest import shared_data

HEIGHT_RANGE_MM = (20.0, 35.0)
LEVELS = ["L1", "L2", "L3", "L4", "L5"]


def mid_sagittal_masks() -> list[tuple[str, np.ndarray, tuple[float, float], dict[int, str]]]:
    root = shared_data("mids-lumbar")
    out = []
    for series in find_mids_series(root):
        path = series.masks.get("vertebrae")
        if path is None:
            continue
        stack, affine = read_sagittal(path)  # (N, H, W): rows S->I, columns A->P
        spacing = np.linalg.norm(affine[:3, :3], axis=0)  # (plane, row, col) mm
        index = int(np.argmax((stack > 0).sum(axis=(1, 2))))
        table = read_label_table(str(path).replace(".nii.gz", ".json"))
        names = {k: v for k, v in table.items() if k != 0}
        out.append((series.subject, np.rint(stack[index]).astype(np.int64), (spacing[1], spacing[2]), names))
    if not out:
        pytest.skip("no vertebra masks found under mids-lumbar")
    return out


@pytest.fixture(scope="module")
def masks():
    return mid_sagittal_masks()


def test_every_l1_to_l5_body_has_physiological_heights(masks):
    assert len(masks) >= 5
    low, high = HEIGHT_RANGE_MM
    for subject, instances, spacing, names in masks:
        result = measure_instances(instances, spacing, names=names)
        assert [b.label for b in result.bodies] == LEVELS, subject
        for body in result.bodies:
            assert body.measurable, f"{subject} {body.label}: {body.reason}"
            heights = body.heights_mm()
            assert heights is not None
            for name in ("anterior", "middle", "posterior"):
                value = getattr(heights, name)
                assert low <= value <= high, f"{subject} {body.label} {name} height {value} mm"
            assert abs(body.trapezoid.rotation_deg) <= 35, f"{subject} {body.label}"
        # four discs between five bodies, each a few millimetres to two centimetres high
        assert [(d.upper, d.lower) for d in result.discs] == list(zip(LEVELS, LEVELS[1:], strict=False))
        for disc in result.discs:
            assert 2.0 <= disc.anterior.mm <= 25.0 and 2.0 <= disc.posterior.mm <= 25.0, (subject, disc)


def test_a_class_map_of_the_same_mask_is_split_ordered_and_named_like_the_reference(masks):
    """Without the instance labels: one vertebra class, bodies found by connected components, ordered
    cranio-caudally and named upwards from the lowest body as L5; each name matches the reference
    label under the body, and the heights are the same."""
    for subject, instances, spacing, names in masks:
        classes = (instances > 0).astype(np.uint8)
        result = measure_slice(classes, spacing, ["background", "vertebrae"], lowest_level="L5")
        reference = {b.label: b for b in measure_instances(instances, spacing, names=names).bodies}
        assert [b.label for b in result.bodies] == LEVELS, subject
        for body in result.bodies:
            under = instances[int(round(body.centroid.y)), int(round(body.centroid.x))]
            assert names[int(under)] == body.label, subject
            assert body.heights_mm() == reference[body.label].heights_mm()
