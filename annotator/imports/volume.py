"""Volume geometry for the importers: the rules live in `mlcore.preprocess` (one home for
orientation, resampling and z-scoring, shared with training); this module only names them for the
import code.

Stored convention (every NIfTI/PNG series, documented in the report): a volume is (P, R, C) with
P = sagittal planes ordered left -> right (index grows toward the patient's right, as +x in NIfTI's
RAS and in mlcore.phantom's MIDS trees), R = rows from superior to inferior, C = columns from anterior
to posterior. Shown as an image, a plane is upright with the anterior side on the left, the way
radiologists read sagittal MRI.
"""

from __future__ import annotations

from mlcore.preprocess import (
    SAGITTAL_CODES,
    axcodes,
    from_sagittal,
    resample_onto,
    spacing_of,
    to_sagittal,
    zscore_stats,
)

__all__ = [
    "SAGITTAL_CODES",
    "axcodes",
    "from_sagittal",
    "resample_onto",
    "spacing_of",
    "to_sagittal",
    "zscore_stats",
]
