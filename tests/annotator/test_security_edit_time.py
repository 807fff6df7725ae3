"""Editing time: X-Edit-Seconds has a sane bound at the edge, and the dashboards survive any value
stored before the bound (inf, huge, negative, text)."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.models import Assignment, MaskRevision
from annotator.services.edit_time import MAX_EDIT_SECONDS, stored_edit_seconds
from annotator.services.maskcodec import encode_mask


@pytest.fixture
def assigned(make_slices, users):
    slices = make_slices(2)
    for slice_ in slices:
        Assignment.objects.create(slice=slice_, annotator=users["alice"], assigned_by=users["sam"])
    return slices


def put(client, slice_id: int, seconds: str):
    labels = np.zeros((32, 40), np.uint8)
    labels[4:20, 5:30] = 1
    return client.put(
        f"/api/slices/{slice_id}/mask/",
        data=encode_mask(labels),
        content_type="image/png",
        HTTP_X_BASE_REVISION="",
        HTTP_X_EDIT_SECONDS=seconds,
    )


@pytest.mark.parametrize("seconds", ["1e308", "inf", "nan", "-1", str(MAX_EDIT_SECONDS + 1), "1e-400x"])
def test_an_absurd_edit_time_is_refused_naming_the_header_and_nothing_is_stored(
    client_for, assigned, seconds
):
    response = put(client_for("alice"), assigned[0].pk, seconds)
    assert response.status_code == 400, response.content
    assert "X-Edit-Seconds" in response.json()["detail"]
    assert MaskRevision.objects.count() == 0


def test_a_plausible_edit_time_is_stored(client_for, assigned):
    response = put(client_for("alice"), assigned[0].pk, "93.5")
    assert response.status_code == 201, response.content
    assert MaskRevision.objects.get(pk=response.json()["revision"]).meta["edit_seconds"] == 93.5


@pytest.mark.parametrize("stored", [1e308, 1.7e308, "Infinity", -5, True])
def test_dashboards_survive_absurd_edit_times_stored_before_the_bound(client_for, assigned, stored):
    alice = client_for("alice")
    for slice_ in assigned:
        saved = put(alice, slice_.pk, "10")
        assert saved.status_code == 201
        # What an older server (or a direct database write) may have left behind: two of them sum to inf.
        # Such rows got their stored `edit_seconds` from migration 0010, through the same reader.
        MaskRevision.objects.filter(pk=saved.json()["revision"]).update(
            meta={"edit_seconds": stored}, edit_seconds=stored_edit_seconds({"edit_seconds": stored})
        )
        assert alice.post(f"/api/slices/{slice_.pk}/submit/").status_code == 200
    stats = client_for("sam").get("/api/annotator-stats/")
    assert stats.status_code == 200, stats.content
    (row,) = [r for r in stats.json()["annotators"] if r["username"] == "alice"]
    assert row["mean_seconds_per_slice"] is None, "absurd values are left out, not summed"
    dashboard = client_for("mia").get("/api/dashboard/")
    assert dashboard.status_code == 200, dashboard.content
