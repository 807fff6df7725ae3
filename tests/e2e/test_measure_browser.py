"""Measurements in real (Debian) Chromium against a live server: the editor's overlay (M key) shows the
lines and numbers of the stored mask and follows a save; the series report page shows the table, the
slice with its lines and the downloads. Takes the report screenshot (docs/screenshots/measurements.png
when SPINELAB_UPDATE_SCREENSHOT is set, else var/)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.measure_server import ROOT, measure_server
from tests.e2e.node import require_browser_tools, run_script

pytestmark = pytest.mark.browser

SCREENSHOT = ROOT / "docs" / "screenshots" / "measurements.png"


@pytest.fixture(scope="module")
def e2e() -> dict:
    require_browser_tools()
    shot = SCREENSHOT if os.environ.get("SPINELAB_UPDATE_SCREENSHOT") else ROOT / "var" / "measure-e2e.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with measure_server() as server:
        env = {"SPINELAB_URL": server["url"], "SPINELAB_IDS": json.dumps(server["ids"])}
        result = run_script("measure.e2e.mjs", str(shot), env=env)
        result["ids"] = server["ids"]
        return result


def test_the_overlay_is_hidden_until_m_is_pressed_and_then_shows_every_measured_body(e2e):
    assert e2e["hiddenAtStart"] is True
    before = e2e["before"]
    assert before["visible"] and before["insideStage"] and before["pressed"] == "true"
    assert e2e["apiMeasured"] >= 3
    assert before["anteriorLines"] == e2e["apiMeasured"]
    assert before["discLines"] == 2 * e2e["apiDiscs"]
    assert len(before["labels"]) == len(e2e["apiLabels"])
    assert all(label.split(" ")[0] in e2e["apiLabels"] for label in before["labels"])
    assert any(" mm" in label and "grade" in label for label in before["labels"])
    assert before["state"] == f"revision-{e2e['apiRevision']}"


def test_the_lines_sit_on_the_image_where_the_api_says(e2e):
    assert e2e["before"]["transform"] == e2e["before"]["canvasTransform"]
    assert e2e["lineOffsetPx"] < 1.5


def test_the_overlay_follows_a_save(e2e):
    after = e2e["after"]
    assert e2e["afterApiRevision"] != e2e["apiRevision"]
    assert after["state"] == f"revision-{e2e['afterApiRevision']}"
    assert after["labels"] != e2e["before"]["labels"], "erasing the top body's centre changed its numbers"
    assert e2e["hiddenAgain"] is True


def test_before_the_first_save_the_overlay_shows_the_model_prelabel_marked_as_such(e2e):
    assert e2e["prelabelStatus"].startswith("Model pre-label (revision")
    assert e2e["prelabelLines"] >= 3


def test_the_report_page_shows_the_levels_the_lines_and_the_downloads(e2e):
    assert e2e["reportStatus"] == 200
    assert e2e["reportRows"] == len(e2e["apiLabels"])
    assert e2e["reportLines"] == 3 * e2e["apiMeasured"]
    assert e2e["reportImageStatus"] == 200
    assert e2e["csvHead"].startswith("subject,series,slice,revision,source,level,measurable")
    assert Path(e2e["screenshot"]).stat().st_size > 20_000
