"""The rounds dashboard reads stored figures (issue 17): its work does not grow with the number of
corrected slices, and the stored correction effort follows every save of a slice."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotator.models import Slice
from annotator.rounds.effort import correction_effort, rebuild
from annotator.services import masks
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_human_mask, save_model_prelabel
from tests.annotator.test_rounds_registry import make_round, make_version


def corrected(project, users, make_slices, version, n: int, seconds: float = 10) -> list[Slice]:
    """n slices pre-labelled by `version` (left half class 1) whose top two rows an annotator repainted."""
    colours = list(project.classes.order_by("index").values_list("colour", flat=True))
    made = []
    for slice_ in make_slices(n, height=10, width=10):
        pre = np.zeros((10, 10), np.uint8)
        pre[:, :5] = 1
        model_rev = save_model_prelabel(slice_, pre, {"model_version": version.pk})
        fixed = pre.copy()
        fixed[:2, :5] = 3
        save_human_mask(
            slice_id=slice_.pk,
            user=users["ada"],
            png=encode_mask(fixed, colours),
            base_revision_id=model_rev.pk,
            meta={"edit_seconds": seconds},
        )
        made.append(slice_)
    return made


def dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/dashboard/").status_code == 200
    return len(queries)


def test_the_dashboard_decodes_no_mask_and_does_the_same_work_for_3_or_15_corrected_slices(
    client_for, project, users, make_slices, monkeypatch
):
    version = make_version(project, make_round(project, 1), "UD", 0.5)
    sam = client_for("sam")
    corrected(project, users, make_slices, version, 3)
    dashboard_queries(sam)  # the first request also fills per-process caches
    few = dashboard_queries(sam)
    corrected(project, users, make_slices, version, 12)
    decoded = []
    real = masks.decode_mask
    monkeypatch.setattr(masks, "decode_mask", lambda png: decoded.append(1) or real(png))
    assert dashboard_queries(sam) == few
    assert decoded == [], "the figures are stored when masks are saved, not recomputed per view"
    row = next(r for r in sam.get("/api/dashboard/").json()["effort"] if r["version"] == version.pk)
    assert row["slices"] == 15 and row["changed_share"] == pytest.approx(0.1)


def test_a_second_save_of_a_slice_replaces_its_share_of_the_effort(client_for, project, users, make_slices):
    version = make_version(project, make_round(project, 1), "UD", 0.5)
    (slice_,) = corrected(project, users, make_slices, version, 1, seconds=30)
    slice_.refresh_from_db()
    colours = list(project.classes.order_by("index").values_list("colour", flat=True))
    again = np.zeros((10, 10), np.uint8)
    again[:, :5] = 1
    again[:5, :5] = 3  # now half of the class-1 pixels were repainted
    save_human_mask(
        slice_id=slice_.pk,
        user=users["ada"],
        png=encode_mask(again, colours),
        base_revision_id=slice_.head_revision_id,
        meta={"edit_seconds": 15},
    )
    (row,) = [r for r in correction_effort(project) if r["version"] == version.pk]
    assert row["slices"] == 1 and row["changed_share"] == pytest.approx(0.25)
    assert row["per_class"][1]["changed_share"] == pytest.approx(0.5)
    assert row["edit_seconds_per_slice"] == 45  # both saves of the chain
    before = correction_effort(project)
    rebuild(project)  # recomputing from the slices gives the stored figures
    assert correction_effort(project) == before
