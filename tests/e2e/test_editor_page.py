"""The editor page: who may open it and what it hands to the JavaScript bundle."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from annotator.models import Assignment


@pytest.fixture
def browser_client(users):
    def make(name: str) -> Client:
        client = Client()
        client.force_login(users[name])
        return client

    return make


def test_anonymous_visitors_are_sent_to_the_login_page(make_slices):
    (slice_,) = make_slices(1)
    response = Client().get(f"/slices/{slice_.pk}/edit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_an_assigned_annotator_gets_the_editor_with_its_config(users, make_slices, browser_client):
    (slice_,) = make_slices(1)
    Assignment.objects.create(slice=slice_, annotator=users["alice"])
    response = browser_client("alice").get(f"/slices/{slice_.pk}/edit/")
    assert response.status_code == 200
    html = response.content.decode()
    config = json.loads(
        re.search(r'<script id="editor-config" type="application/json">(.*?)</script>', html).group(1)
    )
    assert config["sliceId"] == slice_.pk
    assert config["apiBase"] == "/api"
    assert config["csrfToken"]
    assert 'type="module" src="/static/annotator/app/editor.js"' in html


def test_an_annotator_cannot_open_a_slice_assigned_to_someone_else(users, make_slices, browser_client):
    (slice_,) = make_slices(1)
    Assignment.objects.create(slice=slice_, annotator=users["bob"])
    response = browser_client("alice").get(f"/slices/{slice_.pk}/edit/")
    assert response.status_code == 403
    assert "not assigned to you" in response.content.decode()


def test_supervisors_open_any_slice_and_a_missing_slice_is_404(make_slices, browser_client):
    (slice_,) = make_slices(1)
    assert browser_client("sam").get(f"/slices/{slice_.pk}/edit/").status_code == 200
    assert browser_client("sam").get("/slices/999999/edit/").status_code == 404
