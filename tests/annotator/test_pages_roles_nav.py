"""Issue 13 item 5: each role sees only the links it may follow, and a refused or missing page is a
page in the site's layout that says what the user's role may do instead (JSON under /api/)."""

from __future__ import annotations

import re

import pytest

from tests.annotator.test_api_pages import browser

ALL_LINKS = {
    "Cases": "/",
    "Review": "/review/",
    "Rounds": "/rounds/",
    "Exports": "/exports/",
    "Projects": "/projects/",
    "API docs": "/api/docs/",
}
EXPECTED = {
    "alice": {"Cases", "API docs"},
    "mia": {"Cases", "Review", "Rounds", "Exports", "API docs"},
    "sam": {"Cases", "Review", "Rounds", "Exports", "API docs"},
    "ada": set(ALL_LINKS),
}


def nav_links(html: str) -> dict[str, str]:
    nav = re.search(r"<nav>(.*?)</nav>", html, re.S)
    assert nav, "the page has the site's navigation"
    return {label: href for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', nav.group(1))}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_role_sees_exactly_the_links_it_may_follow_and_every_one_opens(users, name):
    client = browser(users[name])
    links = nav_links(client.get("/").content.decode())
    assert set(links) == EXPECTED[name]
    for label, href in links.items():
        assert links[label] == ALL_LINKS[label]
        if href != "/api/docs/":
            assert client.get(href).status_code == 200, f"{name} follows {label}"


@pytest.mark.parametrize("hidden", ["/review/", "/rounds/", "/exports/", "/projects/"])
def test_an_annotators_403_is_the_styled_page_naming_their_queue(users, hidden):
    response = browser(users["alice"]).get(hidden)
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Not allowed</h1>" in html and 'class="topbar"' in html
    assert 'Annotators can open their queue of assigned slices at <a href="/">/</a>' in html
    assert set(nav_links(html)) == EXPECTED["alice"]


def test_the_403_page_says_why(users):
    html = browser(users["alice"]).get("/rounds/").content.decode()
    assert "Training rounds are for ML staff, supervisors and admins." in html


def test_a_supervisor_refused_a_launch_is_told_what_supervisors_do(users):
    response = browser(users["sam"]).get("/rounds/new")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Only ML staff can launch a training round." in html
    assert 'Supervisors can review submitted slices at <a href="/review/">' in html


def test_a_missing_page_is_a_styled_404(users):
    response = browser(users["alice"]).get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "<h1>Not found</h1>" in html and "Annotators can" in html
    assert "/no/such/page/" in html


def test_a_missing_round_says_so_in_the_layout(users):
    response = browser(users["mia"]).get("/rounds/999999/ranking/")
    assert response.status_code == 404 and "<h1>Not found</h1>" in response.content.decode()


def test_api_refusals_and_unknown_api_urls_stay_json(client_for):
    alice = client_for("alice")
    refused = alice.get("/api/dashboard/")
    assert refused.status_code == 403 and "detail" in refused.json()
    missing = alice.get("/api/no-such-endpoint/")
    assert missing.status_code == 404 and missing["Content-Type"].startswith("application/json")
    assert missing.json()["code"] == "not_found"


def test_a_user_with_no_role_is_told_to_ask_an_admin(db):
    from django.contrib.auth.models import User

    response = browser(User.objects.create_user("nobody", password="nobody-pass-123")).get("/rounds/")
    assert response.status_code == 403
    assert "ask a site admin" in response.content.decode()
