"""Vertebral body measurements and Genant grading from sagittal segmentations (numpy + scipy only).

After the Fraunhofer IAIS / evidia method (docs/ARCHITECTURE.md, /work/shared/REFERENCE.md section 2):
per body the smallest bounding trapezoid, anterior / middle / posterior heights, the distances to the
neighbouring bodies, height-loss ratios and the Genant grade. No torch import: web processes use it.
"""

from mlcore.measure.bodies import MeasureClasses, separate_bodies
from mlcore.measure.grading import genant_grade_of_loss
from mlcore.measure.spine import measure_instances, measure_slice
from mlcore.measure.types import (
    BodyMeasurement,
    DiscMeasurement,
    Grade,
    HeightLine,
    Heights,
    Point,
    SliceMeasurement,
    Trapezoid,
)

__all__ = [
    "BodyMeasurement",
    "DiscMeasurement",
    "Grade",
    "HeightLine",
    "Heights",
    "MeasureClasses",
    "Point",
    "SliceMeasurement",
    "Trapezoid",
    "genant_grade_of_loss",
    "measure_instances",
    "measure_slice",
    "separate_bodies",
]
