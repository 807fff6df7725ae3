"""The cases page's Import form in real Chromium with a real worker: a supervisor ticks "Import in the
background", the page follows the import Job and reports what was imported; a broken zip shows the
job's error naming the file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from django.test import Client

from annotator.models import Series
from tests.e2e.node import require_browser_tools, run_script

pytestmark = [pytest.mark.browser, pytest.mark.worker]


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def phantom_zip(folder: Path) -> Path:
    from mlcore.phantom import write_mids

    write_mids(folder / "mids", n_subjects=1, n_slices=2, size=(32, 32), seed=3)
    target = folder / "phantom.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted((folder / "mids").rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder / "mids").as_posix())
    return target


def import_in_browser(live_server, user, zip_path: Path) -> dict:
    env = {"SPINELAB_URL": live_server.url}
    result = run_script("imports.mjs", session_of(user), str(zip_path), "mids", env=env, timeout=150)
    assert "error" not in result and "pageErrors" not in result, result
    return result


def test_a_background_import_from_the_cases_page_reports_the_imported_slices(
    live_server, celery_worker, users, project, tmp_path
):
    require_browser_tools()
    result = import_in_browser(live_server, users["sam"], phantom_zip(tmp_path))
    assert result["seen"][-1].startswith("Imported 2 slices in"), result["seen"]
    assert any(text.startswith("Import job") for text in result["seen"]), "the page followed the job"
    assert Series.objects.filter(session__subject__project=project).exists()


def test_a_broken_zip_imported_in_the_background_shows_the_error_naming_it(
    live_server, celery_worker, users, project, tmp_path
):
    require_browser_tools()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    result = import_in_browser(live_server, users["sam"], broken)
    assert result["seen"][-1].startswith("Import failed") and "broken.zip" in result["seen"][-1], result
    assert Series.objects.count() == 0
