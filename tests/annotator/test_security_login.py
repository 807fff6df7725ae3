"""Login throttling (django-axes) on /login/, /admin/login/ and POST /api/auth/token/: after the
failure limit, even the right password is refused (429) for that username from that address, until
the cool-off passes; other users and other addresses are not affected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def token(client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post("/api/auth/token/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_the_token_endpoint_refuses_even_the_right_password_after_the_limit(users):
    api = APIClient()
    for _ in range(2):
        assert token(api, "alice", "wrong").status_code == 400
    assert token(api, "alice", "wrong").status_code == 429, "the failure that reaches the limit locks"
    locked = token(api, "alice", "alice-pass-123")
    assert locked.status_code == 429, locked.content
    assert locked.json()["code"] == "locked_out" and "try again" in locked.json()["detail"]
    assert int(locked["Retry-After"]) > 0
    assert token(api, "bob", "bob-pass-123").status_code == 200, "other users are not locked out"
    assert token(api, "alice", "alice-pass-123", ip="10.0.0.2").status_code == 200, "nor other addresses"


def test_the_login_page_refuses_even_the_right_password_after_the_limit(users):
    browser = Client(REMOTE_ADDR="10.0.0.3")
    for _ in range(2):
        assert browser.post("/login/", {"username": "sam", "password": "nope"}).status_code == 200
    assert browser.post("/login/", {"username": "sam", "password": "nope"}).status_code == 429
    locked = browser.post("/login/", {"username": "sam", "password": "sam-pass-123"})
    assert locked.status_code == 429 and b"too many failed logins" in locked.content
    assert "_auth_user_id" not in browser.session


def test_the_admin_login_refuses_even_the_right_password_after_the_limit(users):
    browser = Client(REMOTE_ADDR="10.0.0.4")
    for _ in range(3):
        browser.post("/admin/login/", {"username": "ada", "password": "nope", "next": "/admin/"})
    locked = browser.post("/admin/login/", {"username": "ada", "password": "ada-pass-123", "next": "/admin/"})
    assert locked.status_code == 429
    assert browser.get("/admin/").status_code == 302, "still not logged in"


def test_the_lock_ends_after_the_cool_off(users, settings):
    api = APIClient()
    for _ in range(3):
        token(api, "alice", "wrong")
    assert token(api, "alice", "alice-pass-123").status_code == 429
    from axes.models import AccessAttempt

    # The cool-off (15 minutes by default) has passed: the failures are older than that.
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert token(api, "alice", "alice-pass-123").status_code == 200


def test_a_success_resets_the_count(users):
    api = APIClient()
    for _ in range(2):
        token(api, "alice", "wrong")
    assert token(api, "alice", "alice-pass-123").status_code == 200
    for _ in range(2):
        token(api, "alice", "wrong")
    assert token(api, "alice", "alice-pass-123").status_code == 200
