"""Offline deployments: the API docs page loads Swagger UI from the project itself (no CDN), and
every page has a favicon."""

from __future__ import annotations

import re

from django.test import Client


def test_the_api_docs_load_swagger_ui_from_the_project_not_a_cdn(users):
    browser = Client()
    browser.force_login(users["ada"])
    page = browser.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
    bundle = [s for s in sources if s.endswith("swagger-ui-bundle.js")]
    assert bundle, sources
    script = browser.get(bundle[0])
    assert script.status_code == 200 and b"SwaggerUI" in b"".join(script.streaming_content)


def test_every_page_names_a_favicon_that_is_served(users):
    browser = Client()
    assert b'rel="icon"' in browser.get("/login/").content
    icon = browser.get("/favicon.ico", follow=True)
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)
