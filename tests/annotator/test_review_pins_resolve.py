"""The "resolved" tick of a review pin, stored on the server: POST /api/review/pins/<id>/resolve/."""

from __future__ import annotations

import pytest

from annotator.models import Assignment, ReviewComment
from annotator.services.review import do_review
from tests.annotator.test_review_support import submitted_slice

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected(users, make_slices):
    """alice's slice, rejected by sam with two pins; returns (slice, [pin ids])."""
    s = submitted_slice(make_slices, users, author="alice")
    decision = do_review(
        slice_id=s.pk,
        reviewer=users["sam"],
        decision="reject",
        comment="see pins",
        pins=[{"x": 5, "y": 1, "text": "vertebra, not disc"}, {"x": 30, "y": 20, "text": "too wide"}],
    )
    return s, list(decision.pins.order_by("id").values_list("pk", flat=True))


def tick(client, pin_id, body):
    return client.post(f"/api/review/pins/{pin_id}/resolve/", body, format="json")


def test_the_assigned_annotator_ticks_a_pin_and_the_history_says_who_and_when(rejected, client_for):
    s, (first, second) = rejected
    r = tick(client_for("alice"), first, {"resolved": True})
    assert r.status_code == 200, r.json()
    assert r.json()["id"] == first and r.json()["resolved"] is True
    assert r.json()["resolved_by"] == "alice" and r.json()["resolved_at"]
    pins = client_for("sam").get(f"/api/slices/{s.pk}/reviews/").json()["results"][0]["pins"]
    assert [(p["id"], p["resolved"], p["resolved_by"]) for p in pins] == [
        (first, True, "alice"),
        (second, False, None),
    ]
    assert pins[1]["resolved_at"] is None


def test_clearing_the_tick_opens_the_pin_again(rejected, client_for):
    _, (first, _) = rejected
    alice = client_for("alice")
    assert tick(alice, first, {"resolved": True}).status_code == 200
    r = tick(alice, first, {"resolved": False})
    assert r.status_code == 200
    assert (r.json()["resolved"], r.json()["resolved_at"], r.json()["resolved_by"]) == (False, None, None)
    assert ReviewComment.objects.get(pk=first).resolved_at is None


def test_ticking_a_ticked_pin_again_keeps_who_ticked_it_first(rejected, client_for):
    _, (first, _) = rejected
    when = tick(client_for("alice"), first, {"resolved": True}).json()["resolved_at"]
    again = tick(client_for("sam"), first, {"resolved": True}).json()
    assert (again["resolved_by"], again["resolved_at"]) == ("alice", when)


@pytest.mark.parametrize("who", ["sam", "mia", "ada"])
def test_project_staff_may_tick_pins(rejected, client_for, who):
    _, (first, _) = rejected
    r = tick(client_for(who), first, {"resolved": True})
    assert r.status_code == 200, r.json()
    assert r.json()["resolved_by"] == who


def test_an_annotator_without_the_slice_does_not_learn_the_pin_exists(rejected, client_for):
    _, (first, _) = rejected
    r = tick(client_for("bob"), first, {"resolved": True})
    assert r.status_code == 404
    assert ReviewComment.objects.get(pk=first).resolved_at is None


def test_the_annotator_whose_assignment_ended_sees_the_pin_but_may_not_tick_it(rejected, users, client_for):
    s, (first, _) = rejected
    Assignment.objects.filter(slice=s, annotator=users["alice"]).update(active=False)
    r = tick(client_for("alice"), first, {"resolved": True})
    assert r.status_code == 403
    assert "assigned" in r.json()["detail"]


def test_a_signed_out_visitor_is_refused(rejected):
    from rest_framework.test import APIClient

    _, (first, _) = rejected
    assert tick(APIClient(), first, {"resolved": True}).status_code in (401, 403)


@pytest.mark.parametrize("pin_id", ["999999", "99999999999999999999999"])
def test_an_unknown_pin_is_a_404(rejected, client_for, pin_id):
    r = client_for("sam").post(f"/api/review/pins/{pin_id}/resolve/", {"resolved": True}, format="json")
    assert r.status_code == 404
    assert "pin" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "resolved"),
        ({"resolved": "yes"}, "true or false"),
        ({"resolved": 1}, "true or false"),
        ({"resolved": None}, "resolved"),
        ([True], "resolved"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_problem(rejected, client_for, body, says):
    _, (first, _) = rejected
    r = tick(client_for("alice"), first, body)
    assert r.status_code == 400, r.json()
    assert says in r.json()["detail"]
    assert ReviewComment.objects.get(pk=first).resolved_at is None


def test_a_body_that_is_not_json_is_refused_with_a_4xx(rejected, client_for):
    _, (first, _) = rejected
    alice = client_for("alice")
    r = alice.post(f"/api/review/pins/{first}/resolve/", "{not json", content_type="application/json")
    assert r.status_code == 400
    r = alice.post(f"/api/review/pins/{first}/resolve/", "resolved=1", content_type="text/plain")
    assert r.status_code == 415
