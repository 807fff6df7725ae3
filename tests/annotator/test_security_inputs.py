"""The inputs that used to answer 500 (issue 15, item 4) are each a 400 naming the field."""

from __future__ import annotations

import pytest


@pytest.fixture
def one_slice(make_slices):
    return make_slices(1)[0]


def assert_names(response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.content)
    assert field in response.content.decode(), response.content


def test_assigning_a_slice_id_beyond_the_database_range_names_slices(client_for, users, one_slice):
    answer = client_for("sam").post(
        "/api/assignments/", {"slices": [2**70], "annotator": users["alice"].pk}, format="json"
    )
    assert_names(answer, "slices")


def test_a_series_filter_beyond_the_database_range_names_series(client_for, one_slice):
    assert_names(client_for("sam").get("/api/slices/?series=99999999999999999999"), "series")


@pytest.mark.parametrize("project", ["²", {"x": 1}])
@pytest.mark.parametrize("url", ["/api/double-annotation/", "/api/rounds/"])
def test_a_project_that_is_no_id_or_slug_names_project(client_for, users, url, project):
    body = {"project": project, "annotator": "bob", "share": 0.5}
    assert_names(client_for("ada").post(url, body, format="json"), "project")


def test_channels_as_a_list_names_channels(client_for):
    answer = client_for("mia").post("/api/rounds/", {"channels": ["T2w"]}, format="json")
    assert_names(answer, "channels")


def test_fractional_folds_are_refused_not_truncated(client_for):
    assert_names(client_for("mia").post("/api/rounds/", {"folds": 2.5}, format="json"), "folds")


@pytest.mark.parametrize("hours", ["NaN", "inf", "1e308", "-1e308"])
def test_a_non_finite_or_huge_age_names_older_than_hours(client_for, hours):
    assert_names(client_for("sam").get(f"/api/review/queue/?older_than_hours={hours}"), "older_than_hours")


@pytest.mark.parametrize("url", ["/api/rounds/", "/api/dashboard/", "/api/models/", "/api/agreement/"])
def test_a_unicode_digit_project_names_project(client_for, url):
    assert_names(client_for("ada").get(f"{url}?project=²"), "project")


def test_the_rounds_page_with_a_unicode_digit_project_shows_the_default_project(client_for, users):
    from django.test import Client

    browser = Client()
    browser.force_login(users["mia"])
    assert browser.get("/rounds/?project=²").status_code == 200


def test_a_vanishing_window_names_window(client_for, users, one_slice):
    from annotator.models import Assignment

    Assignment.objects.create(slice=one_slice, annotator=users["alice"], assigned_by=users["sam"])
    answer = client_for("alice").get(f"/api/slices/{one_slice.pk}/image/?window=1e-320&level=5")
    assert_names(answer, "window")
    good = client_for("alice").get(f"/api/slices/{one_slice.pk}/image/?window=400&level=200")
    assert good.status_code == 200 and good["Content-Type"] == "image/png"
