"""Issue 17: an annotator's queue order is stored on each assignment and kept current by the workflow,
so "My slices", `/api/my-queue/` and "Next slice" agree, and a page of the queue is read in index
order whatever the number of slices the annotator ever held."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import transaction
from django.test import Client

from annotator.models import Assignment, Slice
from annotator.rounds.ranking import write_ranks
from annotator.services.review import my_queue
from tests.annotator.slice_support import query_plan
from tests.annotator.test_api_masks import put_mask

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def api_queue(client) -> list[int]:
    response = client.get("/api/my-queue/")
    assert response.status_code == 200, response.content[:300]
    return [row["slice"] for row in response.json()["results"]]


def page_queue(user) -> list[int]:
    browser = Client()
    browser.force_login(user)
    html = browser.get("/").content.decode()
    table = html[html.index('id="queue"') : html.index("</table>", html.index('id="queue"'))]
    return [int(part.split('"', 1)[0]) for part in table.split('data-slice="')[1:]]


def test_the_queue_follows_each_slice_through_save_submit_review_and_ranking(
    users, client_for, make_slices, project
):
    a, b, c, d = make_slices(4)
    sam, alice = client_for("sam"), client_for("alice")
    made = sam.post(
        "/api/assignments/",
        {"annotator": users["alice"].pk, "slices": [s.pk for s in (a, b, c, d)]},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert api_queue(alice) == [a.pk, b.pk, c.pk, d.pk]  # all unlabelled and unranked: slice id
    # A round ranks them: d first, then c; a and b unranked (last).
    write_ranks([d.pk, c.pk], {d.pk: 0.9, c.pk: 0.5}, project.pk)
    assert api_queue(alice) == [d.pk, c.pk, a.pk, b.pk]
    # Painting b puts it in progress: work already started comes before fresh slices.
    assert put_mask(alice, b.pk, np.ones((32, 40), np.uint8)).status_code == 201
    assert api_queue(alice) == [b.pk, d.pk, c.pk, a.pk]
    # Submitting b takes it out of the queue; a rejection brings it back first.
    assert alice.post(f"/api/slices/{b.pk}/submit/").status_code == 200
    assert api_queue(alice) == [d.pk, c.pk, a.pk]
    rejected = sam.post(
        f"/api/slices/{b.pk}/review/", {"decision": "reject", "comment": "disc"}, format="json"
    )
    assert rejected.status_code in (200, 201), rejected.content
    assert api_queue(alice) == [b.pk, d.pk, c.pk, a.pk]
    # The page shows the same order, and "Next slice" opens its first row.
    assert page_queue(users["alice"]) == [b.pk, d.pk, c.pk, a.pk]
    assert alice.post("/api/slices/next/").json()["slice"] == b.pk
    # A new ranking moves a ahead of d and c.
    write_ranks([a.pk, d.pk], {a.pk: 0.8, d.pk: 0.7}, project.pk)
    assert api_queue(alice) == [b.pk, a.pk, d.pk, c.pk]
    # Accepting after a resubmission closes it for good; a reopen by the supervisor brings it back.
    assert alice.post(f"/api/slices/{b.pk}/submit/").status_code == 200
    assert sam.post(f"/api/slices/{b.pk}/review/", {"decision": "accept"}, format="json").status_code in (
        200,
        201,
    )
    assert b.pk not in api_queue(alice) and b.pk not in page_queue(users["alice"])
    # Stored keys equal keys recomputed from scratch (what a bulk writer would call).
    stored = list(Assignment.objects.order_by("pk").values_list("queue_priority", "queue_rank"))
    Assignment.objects.all().refresh_queue_keys()
    assert list(Assignment.objects.order_by("pk").values_list("queue_priority", "queue_rank")) == stored


def test_a_blind_second_annotation_stays_in_the_second_annotators_queue(users, client_for, make_slices):
    (s,) = make_slices(1)
    Assignment.objects.create(slice=s, annotator=users["alice"])
    Assignment.objects.create(slice=s, annotator=users["bob"], purpose="double")
    alice, bob = client_for("alice"), client_for("bob")
    assert put_mask(alice, s.pk, np.ones((32, 40), np.uint8)).status_code == 201
    assert alice.post(f"/api/slices/{s.pk}/submit/").status_code == 200
    assert api_queue(alice) == []
    assert api_queue(bob) == [s.pk] and page_queue(users["bob"]) == [s.pk]


def test_a_page_of_the_queue_is_read_in_index_order_without_a_sort(users, make_slices):
    for s in make_slices(3):
        Assignment.objects.create(slice=s, annotator=users["alice"])
    sql, params = my_queue(users["alice"])[:50].query.sql_with_params()
    with transaction.atomic():
        plan = query_plan(sql, params)
    assert "assignment_queue_order" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    assert Slice.objects.count() == 3
