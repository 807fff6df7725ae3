"""Lean web processes: visiting every page and launching a round never imports PyTorch (a gunicorn
worker would grow from ~130 MB to ~900 MB for good). Checked in a fresh process, since this test
process has long imported torch for other tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.annotator.test_rounds_worker import phantom_subject
from tests.servers import ROOT, worker_env

# Runs in the fresh process: every page of the URL configuration (ids filled from argv's JSON), the
# launch of a round through the API, the new round's page; prints what it saw as JSON.
VISIT = r"""
import json, os, re, sys
import django

django.setup()
from django.contrib.auth.models import User
from django.test import Client
from django.urls import get_resolver
from django.urls.resolvers import URLResolver

ids = json.loads(sys.argv[1])


def pages(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from pages(p.url_patterns, prefix + str(p.pattern))
        else:
            yield prefix + str(p.pattern)


def fill(pattern):
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), pattern)


browser = Client()
browser.force_login(User.objects.get(username="ada"))
seen = {}
for pattern in pages(get_resolver().url_patterns):
    if pattern.startswith(("api/", "admin/", "static/", "media/", "logout")) or "(?P" in pattern:
        continue
    url = fill(pattern)
    seen[url] = browser.get(url).status_code
staff = Client()
staff.force_login(User.objects.get(username="mia"))
launch = staff.post("/api/rounds/", json.dumps(ids["round_options"]), content_type="application/json")
seen["POST /api/rounds/"] = launch.status_code
if launch.status_code == 201:
    rnd = launch.json()["id"]
    seen[f"/rounds/{rnd}/"] = browser.get(f"/rounds/{rnd}/").status_code
    seen[f"/api/rounds/{rnd}/"] = staff.get(f"/api/rounds/{rnd}/").status_code
heavy = sorted(n for n in sys.modules if n.split(".")[0] in ("torch", "segmentation_models_pytorch", "torchvision"))
print(json.dumps({"seen": seen, "heavy": heavy[:20]}))
"""


@pytest.mark.worker  # shares the test database with another process, like the worker tests
def test_visiting_every_page_and_launching_a_round_never_imports_torch(
    transactional_db, settings, tmp_path, users, project
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    slices = phantom_subject(project, "S01", seed=0, n=2, accepted=True)
    phantom_subject(project, "S02", seed=1, n=2, accepted=True)
    ids = {
        "slice_id": slices[0].pk,
        "series_id": slices[0].series_id,
        "slug": project.slug,
        "pk": 1,
        "round_options": {"architectures": ["UD"], "folds": 2, "epochs": 1, "steps_per_epoch": 1},
    }
    env = {**os.environ, **worker_env(settings, DJANGO_SETTINGS_MODULE="annotator.settings")}
    run = subprocess.run(
        [sys.executable, "-c", VISIT, json.dumps(ids)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    seen = result["seen"]
    assert seen["POST /api/rounds/"] == 201, seen
    assert len(seen) >= 15, seen  # every page was reached
    assert all(status < 500 for status in seen.values()), seen
    assert result["heavy"] == [], f"the web process imported {result['heavy']} while serving {sorted(seen)}"
