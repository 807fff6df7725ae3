"""The exports page in real Chromium with a real worker on the io queue: a supervisor exports the
accepted masks as PNG pairs, the page follows the Job and offers the zip, which downloads."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from annotator.models import Job
from tests.annotator.exports_support import accept
from tests.e2e.node import require_browser_tools, run_script

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_an_export_from_the_exports_page_is_followed_until_its_zip_downloads(
    make_slices, live_server, celery_worker, users, project
):
    require_browser_tools()
    for s in make_slices(2, height=16, width=20):
        labels = np.zeros((16, 20), np.uint8)
        labels[3:9, 4:12] = 1
        accept(s, labels)
    result = run_script(
        "exports.mjs", session_of(users["sam"]), "png", env={"SPINELAB_URL": live_server.url}, timeout=150
    )
    assert "error" not in result and "pageErrors" not in result, result
    assert result["seen"][-1] == "succeeded", result
    job = Job.objects.get(kind="export")
    assert result["status"] == f"job #{job.pk} queued"
    assert result["href"] == f"/api/exports/{job.pk}/download/"
    assert result["download"]["status"] == 200 and result["download"]["zip"], result
    assert result["download"]["bytes"] == job.result["size"]
