"""Height-loss ratios and the Genant semi-quantitative grade (Genant et al., J Bone Miner Res 1993).

Loss thresholds: < 20 % normal (0), 20-25 % mild (1), 25-40 % moderate (2), > 40 % severe (3).
Shapes: wedge = the anterior height lost against the body's own largest height, biconcave = the middle
height lost against it, crush = every height lost against the neighbours' mean (the smallest of the
three losses counts, so a body that is merely shorter in one place is never called crushed).
"""

from __future__ import annotations

from mlcore.measure.types import Grade, Heights

GRADE_LABELS = ("normal", "mild", "moderate", "severe")


def genant_grade_of_loss(loss: float) -> int:
    """0..3 for a height loss given as a fraction (0.3 = 30 %)."""
    if loss < 0.20:
        return 0
    if loss < 0.25:
        return 1
    if loss <= 0.40:
        return 2
    return 3


def own_loss(heights: Heights) -> Heights:
    """1 - height / the largest of the body's three heights."""
    top = max(heights.anterior, heights.middle, heights.posterior)
    return Heights(
        anterior=round(1 - heights.anterior / top, 4),
        middle=round(1 - heights.middle / top, 4),
        posterior=round(1 - heights.posterior / top, 4),
    )


def neighbour_loss(heights: Heights, neighbours: list[Heights]) -> Heights | None:
    """1 - height / the neighbours' mean of the same height; None without a measurable neighbour."""
    if not neighbours:
        return None
    n = len(neighbours)
    mean = Heights(
        anterior=sum(h.anterior for h in neighbours) / n,
        middle=sum(h.middle for h in neighbours) / n,
        posterior=sum(h.posterior for h in neighbours) / n,
    )
    return Heights(
        anterior=round(1 - heights.anterior / mean.anterior, 4),
        middle=round(1 - heights.middle / mean.middle, 4),
        posterior=round(1 - heights.posterior / mean.posterior, 4),
    )


def grade(own: Heights, vs_neighbours: Heights | None) -> Grade:
    """The Genant grade from the largest of: wedge (anterior own loss), biconcave (middle own loss) and
    crush (the smallest loss of all three heights against the neighbours)."""
    candidates = [("wedge", own.anterior), ("biconcave", own.middle)]
    if vs_neighbours is not None:
        candidates.append(
            ("crush", min(vs_neighbours.anterior, vs_neighbours.middle, vs_neighbours.posterior))
        )
    shape, loss = max(candidates, key=lambda c: c[1])
    loss = max(loss, 0.0)
    value = genant_grade_of_loss(loss)
    return Grade(
        grade=value, label=GRADE_LABELS[value], shape=shape if value > 0 else None, loss=round(loss, 4)
    )
