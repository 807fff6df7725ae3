"""Blind double annotation: nothing of the first annotator's work reaches the second one, through
any endpoint (revision metadata, revision lists, slice lists and details)."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.models import Assignment
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_model_prelabel


@pytest.fixture
def double(client_for, users, make_slices):
    """alice holds the main assignment and saved a mask; bob annotates the same slice blind."""
    slice_ = make_slices(1, height=8, width=8)[0]
    prelabel = save_model_prelabel(slice_, np.ones((8, 8), np.uint8), {"model_version": None})
    Assignment.objects.create(slice=slice_, annotator=users["alice"], purpose="main")
    Assignment.objects.create(slice=slice_, annotator=users["bob"], purpose="double")
    labels = np.zeros((8, 8), dtype=np.uint8)
    labels[2:5, 2:5] = 1
    saved = client_for("alice").put(
        f"/api/slices/{slice_.pk}/mask/",
        data=encode_mask(labels),
        content_type="image/png",
        HTTP_X_BASE_REVISION=str(prelabel.pk),
    )
    assert saved.status_code == 201, saved.content
    return slice_, saved.json()["revision"], prelabel.pk


def test_the_second_annotator_sees_no_trace_of_the_first_annotators_revision(client_for, double):
    slice_, first, prelabel = double
    bob = client_for("bob")
    assert bob.get(f"/api/revisions/{first}/").status_code == 404
    listed = bob.get(f"/api/slices/{slice_.pk}/revisions/").json()["results"]
    assert [r["id"] for r in listed] == [prelabel], "only the model's pre-label, never alice's work"
    for body in (bob.get("/api/slices/").json()["results"][0], bob.get(f"/api/slices/{slice_.pk}/").json()):
        text = str(body)
        assert body["head_revision"] is None and "alice" not in text, body
        assert body["prelabel_revision"] == prelabel, "the pre-label stays available to start from"


def test_the_blind_annotators_own_revisions_stay_visible_to_them(client_for, double):
    slice_, first, _ = double
    bob = client_for("bob")
    labels = np.zeros((8, 8), dtype=np.uint8)
    mine = bob.put(
        f"/api/slices/{slice_.pk}/mask/?track=double",
        data=encode_mask(labels),
        content_type="image/png",
        HTTP_X_BASE_REVISION="",
    )
    assert mine.status_code == 201, mine.content
    assert bob.get(f"/api/revisions/{mine.json()['revision']}/").json()["author_name"] == "bob"


def test_the_main_annotator_and_supervisors_still_see_everything(client_for, double):
    slice_, first, _ = double
    for name in ("alice", "sam"):
        client = client_for(name)
        assert client.get(f"/api/revisions/{first}/").json()["author_name"] == "alice"
        assert client.get(f"/api/slices/{slice_.pk}/").json()["head_revision"] == first
    assert client_for("sam").get("/api/slices/").json()["results"][0]["assigned_to"] == "alice"
