"""The brush editor in real (Debian) Chromium against a live server: paint, undo, save, reload and
compare the stored mask pixel for pixel; a forced save conflict; saving before navigating."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.editor_server import ROOT, editor_server
from tests.e2e.node import require_browser_tools, run_script

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs" / "screenshots" / "editor.png"


@pytest.fixture(scope="module")
def e2e() -> dict:
    require_browser_tools()
    # Only refresh the committed screenshot when asked, so test runs leave the tree unchanged.
    shot = (
        SCREENSHOT if os.environ.get("SPINELAB_UPDATE_SCREENSHOT") else Path(ROOT / "var" / "editor-e2e.png")
    )
    shot.parent.mkdir(parents=True, exist_ok=True)
    with editor_server() as server:
        env = {"SPINELAB_URL": server["url"], "SPINELAB_IDS": json.dumps(server["ids"])}
        return run_script("editor.e2e.mjs", str(shot), env=env)


def test_an_annotator_logs_in_through_the_form(e2e):
    assert e2e["loggedIn"] == "/"


def test_the_editor_pages_throw_no_javascript_errors(e2e):
    assert e2e["pageErrors"] == [], e2e["pageErrors"]


def test_painted_strokes_minus_the_undone_one_are_stored_pixel_for_pixel(e2e):
    paint = e2e["paint"]
    assert e2e["stateBeforeSave"] == "unsaved"
    assert e2e["editorMatchesExpected"]
    assert all(n > 100 for n in paint["classes"]), "both classes were painted"
    assert paint["storedSize"] == [128, 96]
    assert paint["storedDiffPixels"] == 0
    assert paint["reloadedDiffPixels"] == 0


def test_a_conflicting_save_shows_the_dialog_and_keeps_both_revisions(e2e):
    c = e2e["conflict"]
    assert c["theirsStatus"] == 201
    assert f"revision {c['theirsRevision']}" in c["dialogText"]
    assert c["keptMineDiff"] == 0, "my rejected save is stored as its own revision"
    assert c["theirsDiff"] == 0, "their revision is intact"
    assert c["headAfterKeepMine"] > c["yourRevision"] > c["theirsRevision"] > c["firstRevision"]
    assert c["headDiff"] == 0, "keep mine puts my mask on top"


def test_moving_to_the_next_slice_saves_first(e2e):
    assert e2e["navigation"]["savedBeforeLeaving"]
    assert e2e["navigation"]["url"].endswith("/edit/")


def test_a_prelabelled_slice_offers_accept_prelabel(e2e):
    assert e2e["acceptVisible"]
    assert Path(e2e["screenshot"]).stat().st_size > 10_000
