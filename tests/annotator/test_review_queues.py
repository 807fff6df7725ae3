"""The supervisor's review queue, the annotator's own queue, the diff and the training set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from annotator.models import Assignment, MaskRevision, Slice
from annotator.rounds.training_set import accepted_training_set
from annotator.services.access import can_view_main_mask
from tests.annotator.test_review_support import submitted_slice

pytestmark = pytest.mark.django_db


def ids(response):
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


def test_review_queue_lists_submitted_slices_oldest_first_with_filters(
    users, client_for, make_slices, project
):
    old = submitted_slice(make_slices, users, author="alice", subject="S01")
    new = submitted_slice(make_slices, users, author="bob", subject="S02")
    make_slices(1, subject="S03")  # never submitted
    five_hours_ago = timezone.now() - timedelta(hours=5)
    MaskRevision.objects.filter(pk=old.head_revision_id).update(created_at=five_hours_ago)
    Slice.objects.filter(pk=old.pk).update(head_at=five_hours_ago)  # the head's time, as saving keeps it
    sam = client_for("sam")
    assert ids(sam.get("/api/review/queue/")) == [old.pk, new.pk]
    assert ids(sam.get("/api/review/queue/?annotator=bob")) == [new.pk]
    assert ids(sam.get(f"/api/review/queue/?annotator={users['alice'].pk}")) == [old.pk]
    assert ids(sam.get("/api/review/queue/?subject=S02")) == [new.pk]
    assert ids(sam.get(f"/api/review/queue/?series={old.series_id}")) == [old.pk]
    assert ids(sam.get("/api/review/queue/?older_than_hours=2")) == [old.pk]
    assert ids(sam.get("/api/review/queue/?class=4")) == [old.pk, new.pk]  # spinal cavity painted
    assert ids(sam.get("/api/review/queue/?class=9")) == []  # nerve roots: nowhere
    row = sam.get("/api/review/queue/").json()["results"][0]
    assert row["annotator"] == "alice" and row["classes_present"] == [0, 1, 3, 4]
    assert sam.get("/api/review/queue/?class=x").status_code == 400
    assert sam.get("/api/review/queue/?older_than_hours=soon").status_code == 400
    assert client_for("alice").get("/api/review/queue/").status_code == 403


def test_rejected_slices_come_first_in_my_queue_with_their_comments(users, client_for, make_slices):
    rejected = submitted_slice(make_slices, users, author="alice")
    (open_,) = make_slices(1)
    Assignment.objects.create(slice=open_, annotator=users["alice"], purpose="main")
    open_.rank = 0
    open_.save()
    client_for("sam").post(
        f"/api/slices/{rejected.pk}/review/",
        {"decision": "reject", "comment": "discs", "pins": [{"x": 3, "y": 1, "text": "here"}]},
        format="json",
    )
    rows = client_for("alice").get("/api/my-queue/").json()["results"]
    assert [r["slice"] for r in rows] == [rejected.pk, open_.pk]
    assert rows[0]["state"] == "rejected"
    assert rows[0]["review"]["comment"] == "discs" and rows[0]["review"]["pins"][0]["text"] == "here"
    assert rows[1]["review"] is None
    assert client_for("bob").get("/api/my-queue/").json()["results"] == []


def test_review_diff_counts_changes_against_the_prelabel_and_serves_overlays(users, client_for, make_slices):
    s = submitted_slice(make_slices, users)
    sam = client_for("sam")
    body = sam.get(f"/api/slices/{s.pk}/review-diff/").json()
    assert body["prelabel_revision"] == s.prelabel_revision_id
    assert body["changed_pixels"] == 26  # 20 vertebra -> disc, 6 background -> spinal cavity
    by_class = {c["name"]: (c["added"], c["removed"]) for c in body["classes"]}
    assert by_class == {
        "background": (0, 6),
        "vertebrae": (0, 20),
        "intervertebral discs": (20, 0),
        "spinal cavity": (6, 0),
    }
    for layer in ("diff", "head", "prelabel"):
        r = sam.get(f"/api/slices/{s.pk}/review-diff/?layer={layer}")
        assert r.status_code == 200 and r["Content-Type"] == "image/png" and r.content[:4] == b"\x89PNG"
    assert sam.get(f"/api/slices/{s.pk}/review-diff/?layer=bogus").status_code == 400
    (empty,) = make_slices(1)
    assert sam.get(f"/api/slices/{empty.pk}/review-diff/").status_code == 404


def test_only_accepted_head_revisions_enter_the_training_set(users, client_for, make_slices, project):
    accepted, rejected = submitted_slice(make_slices, users), submitted_slice(make_slices, users)
    pending = submitted_slice(make_slices, users)
    client_for("sam").post(f"/api/slices/{accepted.pk}/review/", {"decision": "accept"}, format="json")
    client_for("sam").post(
        f"/api/slices/{rejected.pk}/review/", {"decision": "reject", "comment": "no"}, format="json"
    )
    assert [r.pk for r in accepted_training_set(project)] == [accepted.head_revision_id]
    assert pending.head_revision_id not in [r.pk for r in accepted_training_set(project)]


def test_annotators_do_not_see_others_unassigned_slices_or_their_reviews(users, client_for, make_slices):
    s = submitted_slice(make_slices, users, author="alice")
    assert client_for("bob").get(f"/api/slices/{s.pk}/reviews/").status_code == 404
    assert client_for("bob").get(f"/api/slices/{s.pk}/review-diff/").status_code == 404
    assert client_for("alice").get(f"/api/slices/{s.pk}/reviews/").status_code == 200
    assert client_for("mia").get(f"/api/slices/{s.pk}/review-diff/").status_code == 200
    assert can_view_main_mask(users["alice"], s) and not can_view_main_mask(users["bob"], s)
