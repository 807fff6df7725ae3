"""The review pages render for supervisors, ML staff and admins, and refuse annotators."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from tests.annotator.test_review_support import submitted_slice

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_supervisor_sees_queue_review_agreement_and_stats_pages(users, make_slices):
    s = submitted_slice(make_slices, users)
    sam = browser(users["sam"])
    queue = sam.get("/review/?annotator=alice")
    assert queue.status_code == 200 and f'href="/review/{s.pk}/"' in queue.content.decode()
    assert "bad filter" in sam.get("/review/?class=x").content.decode()
    page = sam.get(f"/review/{s.pk}/").content.decode()
    config = json.loads(page.split('id="review-config" type="application/json">')[1].split("</script>")[0])
    assert config["sliceId"] == s.pk and config["headRevision"] == s.head_revision_id and config["canReview"]
    assert 'id="review-reject"' in page
    assert "alice" in sam.get("/review/stats/").content.decode()
    assert sam.get("/review/agreement/").status_code == 200
    assert sam.get("/review/999999/").status_code == 404


def test_ml_staff_see_review_pages_without_decision_buttons_and_annotators_are_refused(users, make_slices):
    s = submitted_slice(make_slices, users)
    assert 'id="review-reject"' not in browser(users["mia"]).get(f"/review/{s.pk}/").content.decode()
    for url in ("/review/", f"/review/{s.pk}/", "/review/stats/", "/review/agreement/"):
        assert browser(users["alice"]).get(url).status_code == 403, url
    assert Client().get("/review/").status_code == 302  # to the login page
