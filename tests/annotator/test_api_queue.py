"""The annotator's queue (next slice), supervisors' assignments, slice browsing and jobs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotator.models import Assignment, Job, SliceState
from tests.annotator.slice_support import set_slice


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The role users are made with real password hashing otherwise (seconds per test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def claim(client) -> int | None:
    response = client.post("/api/slices/next/")
    if response.status_code == 404:
        assert response.json()["code"] == "not_found"
        return None
    assert response.status_code == 200, response.content
    return response.json()["slice"]


def test_next_slice_never_hands_the_same_slice_to_two_annotators(make_slices, client_for):
    make_slices(5)
    alice, bob = client_for("alice"), client_for("bob")
    got: dict[str, set[int]] = {"alice": set(), "bob": set()}
    for _ in range(3):
        for name, client in (("alice", alice), ("bob", bob)):
            slice_id = claim(client)
            if slice_id is not None:
                got[name].add(slice_id)
                # Submit-like: mark it done so the next call moves on to a fresh slice.
                set_slice(slice_id, state=SliceState.SUBMITTED)
    assert not got["alice"] & got["bob"]
    assert len(got["alice"] | got["bob"]) == 5
    assert claim(alice) is None and claim(bob) is None


def test_next_slice_follows_rank_nulls_last_then_id(make_slices, client_for):
    a, b, c = make_slices(3)
    set_slice(c.pk, rank=1)
    set_slice(b.pk, rank=2)
    alice = client_for("alice")
    order = []
    for _ in range(3):
        order.append(claim(alice))
        set_slice(order[-1], state=SliceState.SUBMITTED)
    assert order == [c.pk, b.pk, a.pk]


def test_next_slice_returns_my_rejected_work_first_then_my_open_work(make_slices, client_for, users):
    open_one, rejected, free = make_slices(3)
    for slice_ in (open_one, rejected):
        Assignment.objects.create(slice=slice_, annotator=users["alice"])
    set_slice(rejected.pk, state=SliceState.REJECTED)
    alice = client_for("alice")
    assert claim(alice) == rejected.pk
    set_slice(rejected.pk, state=SliceState.SUBMITTED)
    assert claim(alice) == open_one.pk
    assert claim(alice) == open_one.pk  # still open: the same slice again, no new claim
    assert not Assignment.objects.filter(slice=free).exists()


def test_supervisor_assigns_a_whole_series_and_held_slices_are_skipped(make_slices, client_for, users):
    slices = make_slices(3)
    Assignment.objects.create(slice=slices[0], annotator=users["bob"])
    response = client_for("sam").post(
        "/api/assignments/", {"annotator": users["alice"].pk, "series": slices[0].series_id}, format="json"
    )
    assert response.status_code == 201
    assert sorted(a["slice"] for a in response.json()["created"]) == [s.pk for s in slices[1:]]
    assert response.json()["skipped"] == [{"slice": slices[0].pk, "reason": "held by bob"}]
    listed = client_for("alice").get("/api/slices/?assigned_to_me=1").json()
    assert sorted(s["id"] for s in listed["results"]) == [s.pk for s in slices[1:]]
    moved = client_for("sam").post(
        "/api/assignments/",
        {"annotator": users["alice"].pk, "slices": [slices[0].pk], "reassign": True},
        format="json",
    )
    assert len(moved.json()["created"]) == 1
    assert client_for("bob").get(f"/api/slices/{slices[0].pk}/").status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"annotator": 0, "slices": [1]}, 400, "does not exist"),
        ({"annotator": "{alice}"}, 400, "give `slices`"),
        ({"annotator": "{alice}", "slices": [999999]}, 404, "999999"),
        ({"annotator": "{mia}", "slices": ["{slice}"]}, 400, "not an annotator"),
    ],
)
def test_bad_assignments_are_refused_naming_the_problem(make_slices, client_for, users, body, status, needle):
    (slice_,) = make_slices(1)
    ids = {"{alice}": users["alice"].pk, "{mia}": users["mia"].pk, "{slice}": slice_.pk}
    filled = {
        k: ids.get(v, v) if not isinstance(v, list) else [ids.get(x, x) for x in v] for k, v in body.items()
    }
    response = client_for("sam").post("/api/assignments/", filled, format="json")
    assert response.status_code == status
    assert needle in response.json()["detail"]


def test_slice_detail_links_neighbours_and_shows_my_assignment(make_slices, client_for, users):
    a, b, c = make_slices(3)
    mine = Assignment.objects.create(slice=b, annotator=users["alice"])
    detail = client_for("alice").get(f"/api/slices/{b.pk}/").json()
    assert detail["assignment"] == {"id": mine.pk, "annotator": users["alice"].pk, "purpose": "main"}
    assert detail["previous_slice"] is None and detail["next_slice"] is None  # alice sees only b
    seen = client_for("sam").get(f"/api/slices/{b.pk}/").json()
    assert (seen["previous_slice"], seen["next_slice"], seen["assignment"]) == (a.pk, c.pk, None)
    assert seen["channels"] == ["T2w"] and set(seen["stats"]["T2w"]) == {"min", "max", "p1", "p99"}
    assert seen["project"] == a.series.session.subject.project_id


def test_slice_list_filters_by_state_subject_and_orders_by_rank(make_slices, client_for):
    first = make_slices(2, subject="S01")
    second = make_slices(2, subject="S02")
    set_slice(second[1].pk, state=SliceState.SUBMITTED, rank=0)
    sam = client_for("sam")
    assert sam.get("/api/slices/?state=submitted").json()["count"] == 1
    subject = first[0].series.session.subject_id
    assert {s["id"] for s in sam.get(f"/api/slices/?subject={subject}").json()["results"]} == {
        s.pk for s in first
    }
    ranked = sam.get("/api/slices/?ordering=rank").json()["results"]
    assert ranked[0]["id"] == second[1].pk
    assert sam.get("/api/slices/?state=nonsense").status_code == 400


def test_silent_running_jobs_are_failed_by_the_job_watch_and_can_be_retried(db, client_for, users):
    from annotator.tasks.watch import watch_once

    stale = Job.objects.create(
        kind="train",
        state=Job.State.RUNNING,
        created_by=users["mia"],
        heartbeat_at=timezone.now() - timedelta(hours=2),
        params={"_task": "x.y"},
    )
    mia = client_for("mia")
    assert mia.get("/api/jobs/").json()["results"][0]["state"] == "running", "a read changes nothing"
    watch_once()  # every worker's timer
    listed = mia.get("/api/jobs/").json()["results"]
    assert [(j["id"], j["state"]) for j in listed] == [(stale.pk, "failed")]
    retried = mia.post(f"/api/jobs/{stale.pk}/retry/")
    assert retried.status_code == 200 and retried.json()["state"] == "queued"
    assert mia.post(f"/api/jobs/{stale.pk}/retry/").status_code == 409
    assert mia.post(f"/api/jobs/{stale.pk}/cancel/").json()["state"] == "cancelled"
    assert mia.post(f"/api/jobs/{stale.pk}/cancel/").status_code == 409
    assert mia.get("/api/jobs/999999/").status_code == 404


def test_job_list_filters_by_parent_to_show_one_rounds_training_jobs(db, client_for, users):
    parent = Job.objects.create(kind="round", created_by=users["mia"])
    children = [Job.objects.create(kind="train", parent=parent, created_by=users["mia"]) for _ in range(2)]
    Job.objects.create(kind="train", created_by=users["mia"])  # another round's job
    mia = client_for("mia")
    listed = mia.get(f"/api/jobs/?parent={parent.pk}").json()["results"]
    assert sorted(j["id"] for j in listed) == sorted(c.pk for c in children)
    assert mia.get("/api/jobs/?parent=999999").json()["results"] == []
    bad = mia.get("/api/jobs/?parent=abc")
    assert bad.status_code == 400 and "parent" in bad.json()  # names the bad filter
    assert client_for("alice").get(f"/api/jobs/?parent={parent.pk}").json()["results"] == []


def test_admin_creates_a_project_with_its_own_schema(db, client_for):
    ada = client_for("ada")
    body = {
        "slug": "mets",
        "name": "Metastases",
        "classes": [{"name": "background"}, {"name": "lytic"}, {"name": "sclerotic", "colour": "#00ff00"}],
    }
    created = ada.post("/api/projects/", body, format="json")
    assert created.status_code == 201
    assert [c["name"] for c in created.json()["classes"]] == ["background", "lytic", "sclerotic"]
    again = ada.post("/api/projects/", body, format="json")
    assert again.status_code == 400 and "already exists" in again.json()["detail"]
    bad = ada.post("/api/projects/", {"slug": "x", "name": "X", "classes": [{"name": "only"}]}, format="json")
    assert bad.status_code == 400 and "2..256 classes" in bad.json()["detail"]


def test_token_auth_and_me(db, users):
    client = APIClient()
    token = client.post("/api/auth/token/", {"username": "alice", "password": "alice-pass-123"}).json()[
        "token"
    ]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/me/").json() == {
        "id": users["alice"].pk,
        "username": "alice",
        "roles": ["annotator"],
    }
    assert APIClient().get("/api/me/").status_code in (401, 403)


def test_the_openapi_schema_is_served(db, client_for):
    response = client_for("sam").get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/slices/{id}/mask/" in paths and "/api/slices/next/" in paths


def test_lists_are_paginated_and_the_page_size_can_be_raised(make_slices, client_for):
    make_slices(60)
    sam = client_for("sam")
    first = sam.get("/api/slices/").json()
    assert (first["count"], len(first["results"])) == (60, 50) and first["next"]
    assert len(sam.get("/api/slices/?page_size=100").json()["results"]) == 60
