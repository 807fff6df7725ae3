"""Issue 17, pages and lists at scale: the review queue read in `(state, head_at, id)` index order, an
annotator's lists counted up to a cap, the cheaper visibility path keeping who sees what, and the
capped counts of the exports and rounds pages saying so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from annotator.api.pagination import CappedCountPagination
from annotator.models import Assignment, ProjectMembership, Slice
from annotator.pages import exports as exports_page
from annotator.pages import rounds as rounds_page
from annotator.services.projects import create_project
from annotator.services.review import review_queue
from tests.annotator.slice_support import query_plan
from tests.annotator.test_review_support import submitted_slice

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(users):
    """browser("sam") -> a Django test Client with a session, for the server-rendered pages."""

    def login(name: str) -> Client:
        client = Client()
        client.force_login(users[name])
        return client

    return login


def ids(response):
    assert response.status_code == 200, response.content[:300]
    return [row["id"] for row in response.json()["results"]]


def test_the_review_queue_is_ordered_and_filtered_by_the_heads_stored_time(users, client_for, make_slices):
    first = submitted_slice(make_slices, users, author="alice", subject="S01")
    second = submitted_slice(make_slices, users, author="bob", subject="S02")
    assert first.head_at is not None and first.head_at == first.head_revision.created_at
    Slice.objects.filter(pk=second.pk).update(head_at=timezone.now() - timedelta(hours=5))
    sam = client_for("sam")
    assert ids(sam.get("/api/review/queue/")) == [second.pk, first.pk]
    assert ids(sam.get("/api/review/queue/?older_than_hours=2")) == [second.pk]
    assert sam.get("/api/review/queue/").json()["count"] == 2


def test_the_review_queue_page_is_read_in_index_order_without_a_sort(users, make_slices):
    submitted_slice(make_slices, users)
    sql, params = review_queue()[:50].query.sql_with_params()
    with transaction.atomic():
        plan = query_plan(sql, params)
    assert "slice_state_head_at" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_an_annotators_long_list_counts_up_to_a_cap_and_still_pages_on(
    users, client_for, make_slices, monkeypatch
):
    monkeypatch.setattr(CappedCountPagination, "count_cap", 2)
    slices = make_slices(6)
    for s in slices:
        Assignment.objects.create(slice=s, annotator=users["alice"], assigned_by=users["sam"])
    alice = client_for("alice")
    first = alice.get("/api/slices/?assigned_to_me=true&page_size=1").json()
    # One page of 1 and 2 more counted: at least 3, and more to come.
    assert (first["count"], first["count_exact"], len(first["results"])) == (3, False, 1)
    assert first["next"] and "page=2" in first["next"]
    last = alice.get("/api/slices/?assigned_to_me=true&page_size=1&page=6").json()
    assert (last["count"], last["count_exact"], last["next"]) == (6, True, None)
    assert [r["id"] for r in last["results"]] == [slices[-1].pk]
    assert alice.get("/api/slices/?assigned_to_me=true&page_size=1&page=7").status_code == 404
    queue = alice.get("/api/my-queue/?page_size=2").json()
    assert (queue["count"], queue["count_exact"], len(queue["results"])) == (4, False, 2)
    # Short lists keep their exact count; staff who see every project are counted exactly.
    assert alice.get("/api/slices/?assigned_to_me=true").json()["count"] == 6
    sam = client_for("sam").get("/api/slices/?page_size=1").json()
    assert sam["count"] == 6 and "count_exact" not in sam


def test_an_assignment_in_a_project_where_the_annotator_holds_no_role_stays_invisible(
    users, client_for, browser, make_slices, project
):
    mets = create_project("mets", "Metastases", ["background", "lesion"], members_only=True)
    (own,) = make_slices(1, subject="L01")
    (foreign,) = make_slices(1, subject="M01", proj=mets)
    for s in (own, foreign):
        Assignment.objects.create(slice=s, annotator=users["alice"], assigned_by=users["sam"])
    alice = client_for("alice")
    assert ids(alice.get("/api/slices/")) == [own.pk]
    assert ids(alice.get("/api/slices/?assigned_to_me=true")) == [own.pk]
    assert [r["slice"] for r in alice.get("/api/my-queue/").json()["results"]] == [own.pk]
    assert alice.get(f"/api/slices/{foreign.pk}/").status_code == 404
    assert f'data-slice="{foreign.pk}"' not in browser("alice").get("/").content.decode()
    ProjectMembership.objects.create(project=mets, user=users["alice"], role="annotator")
    assert ids(alice.get("/api/slices/")) == [own.pk, foreign.pk]
    assert [r["slice"] for r in alice.get("/api/my-queue/").json()["results"]] == [own.pk, foreign.pk]
    assert f'data-slice="{foreign.pk}"' in browser("alice").get("/").content.decode()


def test_the_exports_page_says_when_it_lists_only_the_first_subjects(browser, make_slices, monkeypatch):
    for label in ("S01", "S02", "S03"):
        make_slices(1, subject=label)
    monkeypatch.setattr(exports_page, "LISTED", 2)
    html = browser("sam").get("/exports/").content.decode()
    assert "showing the first 2 of more than 2" in html
    assert html.count('<option value="') >= 2 and ">S03</option>" not in html
    html = browser("sam").get("/exports/?subject=S03").content.decode()
    assert "1 subject" in html and ">S03</option>" in html


def test_the_rounds_dashboard_counts_ranked_slices_up_to_what_it_shows(
    users, client_for, make_slices, monkeypatch
):
    for rank, s in enumerate(make_slices(3), start=1):
        Slice.objects.filter(pk=s.pk).update(rank=rank)
    assert rounds_page.ranked_count(s.project) == 3
    monkeypatch.setattr(rounds_page, "RANKED_SHOWN", 2)
    assert rounds_page.ranked_count(s.project) == 3  # one past what is shown: "more than 2"
