"""Accept / reject through the API: every transition, every refusal, and the audit trail."""

from __future__ import annotations

import pytest

from annotator.models import ReviewDecision, Slice, SliceState
from annotator.services.masks import save_human_mask
from tests.annotator.test_review_support import painted_of, png, submit, submitted_slice

pytestmark = pytest.mark.django_db


def review(client, slice_id, **body):
    return client.post(f"/api/slices/{slice_id}/review/", body, format="json")


def test_supervisor_accepts_a_submitted_slice_and_the_reviewed_revision_is_recorded(
    users, client_for, make_slices
):
    s = submitted_slice(make_slices, users)
    r = review(client_for("sam"), s.pk, decision="accept", comment="clean")
    assert r.status_code == 201, r.json()
    assert r.json()["state"] == "accepted"
    assert r.json()["revision"] == s.head_revision_id
    assert Slice.objects.get(pk=s.pk).state == SliceState.ACCEPTED
    d = ReviewDecision.objects.get(slice=s)
    assert (d.reviewer.username, d.decision, d.revision_id) == ("sam", "accept", s.head_revision_id)


def test_reject_keeps_comment_and_pins_and_history_lists_every_decision(users, client_for, make_slices):
    s = submitted_slice(make_slices, users)
    sam = client_for("sam")
    pins = [
        {"x": 5, "y": 1, "text": "this is vertebra, not disc"},
        {"x": 30, "y": 20, "radius": 4, "polygon": [[28, 18], [34, 18], [34, 23]], "text": "too wide"},
    ]
    r = review(sam, s.pk, decision="reject", comment="see pins", pins=pins)
    assert r.status_code == 201, r.json()
    assert r.json()["state"] == "rejected"
    assert [p["text"] for p in r.json()["pins"]] == ["this is vertebra, not disc", "too wide"]
    # alice fixes and resubmits; ada (admin) accepts the new revision
    fixed = painted_of(s)
    fixed[:2, :10] = 1
    saved = save_human_mask(
        slice_id=s.pk, user=users["alice"], png=png(fixed), base_revision_id=s.head_revision_id
    )
    assert Slice.objects.get(pk=s.pk).state == SliceState.IN_PROGRESS
    submit(s.pk)
    assert review(client_for("ada"), s.pk, decision="accept").status_code == 201
    history = client_for("sam").get(f"/api/slices/{s.pk}/reviews/").json()
    assert [(h["decision"], h["revision"]) for h in history["results"]] == [
        ("accept", saved.revision.pk),
        ("reject", s.head_revision_id),
    ]
    assert history["results"][1]["pins"][1]["polygon"] == [[28, 18], [34, 18], [34, 23]]
    assert history["state"] == "accepted"


@pytest.mark.parametrize("state", ["unlabelled", "prelabelled", "in_progress", "accepted", "rejected"])
def test_reviewing_a_slice_that_is_not_submitted_is_a_conflict(users, client_for, make_slices, state):
    s = submitted_slice(make_slices, users)
    Slice.objects.filter(pk=s.pk).update(state=state)
    r = review(client_for("sam"), s.pk, decision="accept")
    assert r.status_code == 409
    assert state in r.json()["detail"]
    assert not ReviewDecision.objects.exists()


@pytest.mark.parametrize("who", ["alice", "bob", "mia"])
def test_annotators_and_ml_staff_cannot_review(users, client_for, make_slices, who):
    s = submitted_slice(make_slices, users)
    for decision in ("accept", "reject"):
        r = review(client_for(who), s.pk, decision=decision, comment="x")
        assert r.status_code == 403, r.json()
    assert Slice.objects.get(pk=s.pk).state == SliceState.SUBMITTED


@pytest.mark.parametrize("who", ["sam", "ada"])
def test_nobody_accepts_their_own_work(users, client_for, make_slices, who):
    s = submitted_slice(make_slices, users, author="alice")
    s.head_revision.author = users[who]
    s.head_revision.save()
    r = review(client_for(who), s.pk, decision="accept")
    assert r.status_code == 403
    assert "your own work" in r.json()["detail"]
    assert Slice.objects.get(pk=s.pk).state == SliceState.SUBMITTED


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"decision": "maybe"}, "decision must be"),
        ({"decision": "reject", "comment": "  "}, "needs a comment"),
        ({"decision": "reject", "comment": "x", "pins": [{"x": 500, "y": 1, "text": "t"}]}, "outside"),
        ({"decision": "reject", "comment": "x", "pins": [{"x": "a", "y": 1}]}, "must be a number"),
        ({"decision": "reject", "comment": "x", "pins": [{"x": 1, "y": 1, "polygon": [[1, 2]]}]}, "polygon"),
        ({"decision": "reject", "comment": "x", "pins": {"x": 1}}, "pins must be a list"),
        ({"decision": "accept", "comment": 5}, "comment must be"),
    ],
)
def test_bad_review_bodies_are_400_and_change_nothing(users, client_for, make_slices, body, fragment):
    s = submitted_slice(make_slices, users)
    r = client_for("sam").post(f"/api/slices/{s.pk}/review/", body, format="json")
    assert r.status_code == 400
    assert fragment in r.json()["detail"]
    assert Slice.objects.get(pk=s.pk).state == SliceState.SUBMITTED
    assert not ReviewDecision.objects.exists()


def test_review_of_a_stale_revision_is_a_conflict_and_unknown_slices_are_404(users, client_for, make_slices):
    s = submitted_slice(make_slices, users)
    r = review(client_for("sam"), s.pk, decision="accept", revision=s.head_revision_id - 1)
    assert r.status_code == 409
    assert r.json()["current_revision"] == s.head_revision_id
    assert review(client_for("sam"), 99999, decision="accept").status_code == 404


def test_accepted_slices_cannot_be_edited_by_the_annotator_but_rejected_ones_can(
    users, client_for, make_slices
):
    accepted, rejected = submitted_slice(make_slices, users), submitted_slice(make_slices, users)
    review(client_for("sam"), accepted.pk, decision="accept")
    review(client_for("sam"), rejected.pk, decision="reject", comment="redo")
    from annotator.errors import InvalidTransition

    with pytest.raises(InvalidTransition):
        save_human_mask(
            slice_id=accepted.pk,
            user=users["alice"],
            png=png(painted_of(accepted)),
            base_revision_id=accepted.head_revision_id,
        )
    save_human_mask(
        slice_id=rejected.pk,
        user=users["alice"],
        png=png(painted_of(rejected)),
        base_revision_id=rejected.head_revision_id,
    )
    assert Slice.objects.get(pk=rejected.pk).state == SliceState.IN_PROGRESS
