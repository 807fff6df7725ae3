"""The browser pages take query parameters too: none of them answers 500 to a bad value, for any role."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client

from tests.annotator.test_api_fuzz import BAD_TEXT

PAGES = ["/", "/review/", "/review/agreement/", "/review/stats/", "/rounds/", "/rounds/new/", "/exports/"]
WITH_ID = ["/slices/{}/edit/", "/review/{}/", "/rounds/{}/", "/projects/{}/"]
PARAMS = ["project", "older_than_hours", "class", "series", "annotator", "subject", "round", "page"]


@pytest.mark.parametrize("role", ["alice", "mia", "sam", "ada"])
def test_no_page_answers_500_to_a_bad_query_value(users, make_slices, role):
    make_slices(1)
    browser = Client(raise_request_exception=False)
    browser.force_login(users[role])
    failures = []
    for page in PAGES:
        for param in PARAMS:
            for bad in BAD_TEXT:
                response = browser.get(f"{page}?{param}={quote(bad)}")
                if response.status_code >= 500:
                    failures.append(f"{page}?{param}={bad[:20]}: {response.status_code}")
    for page in WITH_ID:
        for bad in BAD_TEXT:
            response = browser.get(page.format(quote(bad, safe="")))
            if response.status_code >= 500:
                failures.append(f"{page.format(bad[:20])}: {response.status_code}")
    assert not failures, "\n".join(failures)
