"""Core pages: login, logout and the case list for each role."""

from __future__ import annotations

import pytest
from django.test import Client

from annotator.models import Assignment, SliceState
from tests.annotator.slice_support import set_slice


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The role users are made with real password hashing otherwise (seconds per test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_visitors_are_sent_to_the_login_page_and_can_log_in(users):
    client = Client()
    assert client.get("/").url.startswith("/login/")
    assert b"Log in" in client.get("/login/").content
    wrong = client.post("/login/", {"username": "alice", "password": "nope"})
    assert b"Wrong username or password" in wrong.content
    ok = client.post("/login/", {"username": "alice", "password": "alice-pass-123"})
    assert ok.status_code == 302 and ok.url == "/"
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_an_annotator_sees_her_queue_with_rejected_work_first_and_the_next_button(make_slices, users):
    open_one, rejected, others = make_slices(3)
    for slice_ in (open_one, rejected):
        Assignment.objects.create(slice=slice_, annotator=users["alice"])
    set_slice(rejected.pk, state=SliceState.REJECTED)
    page = browser(users["alice"]).get("/").content.decode()
    assert 'id="next-slice"' in page and 'id="overview"' not in page and 'id="import-form"' not in page
    assert page.index(f'data-slice="{rejected.pk}"') < page.index(f'data-slice="{open_one.pk}"')
    assert f'data-slice="{others.pk}"' not in page
    assert f"/slices/{rejected.pk}/edit/" in page


def test_a_supervisor_sees_every_series_with_counts_by_state_and_the_import_form(make_slices, users):
    slices = make_slices(3)
    set_slice(slices[0].pk, state=SliceState.SUBMITTED)
    page = browser(users["sam"]).get("/").content.decode()
    assert f'data-series="{slices[0].series_id}"' in page and 'id="import-form"' in page
    assert 'id="next-slice"' not in page
    for s in slices:
        assert f"/slices/{s.pk}/edit/" in page
    assert f'title="slice {slices[0].pk}: submitted"' in page


def test_ml_staff_see_the_overview_but_cannot_import(make_slices, users):
    make_slices(1)
    page = browser(users["mia"]).get("/").content.decode()
    assert 'id="overview"' in page and 'id="import-form"' not in page
    assert "csrftoken" in browser(users["mia"]).get("/").cookies
