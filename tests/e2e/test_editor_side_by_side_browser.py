"""Side by side (issue 13) in real (Debian) Chromium: two channels of one slice in two panes with
one viewport and one mask (tests/e2e/editor_side.e2e.mjs)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.editor_server import editor_server
from tests.e2e.node import require_browser_tools, run_script

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def e2e() -> dict:
    require_browser_tools()
    with editor_server(prefix="spinelab-side-") as server:
        env = {"SPINELAB_URL": server["url"], "SPINELAB_IDS": json.dumps(server["ids"])}
        return run_script("editor_side.e2e.mjs", env=env, timeout=240)


def test_no_section_failed_and_no_page_error(e2e):
    assert e2e["errors"] == {}, e2e["errors"]
    assert e2e["pageErrors"] == [], e2e["pageErrors"]


def test_a_one_channel_slice_disables_the_toggle_and_says_why(e2e):
    s = e2e["single"]
    assert s["disabled"] and s["paneHidden"]
    assert "needs two channels" in s["title"]


def test_the_two_panes_show_the_two_channels(e2e):
    d = e2e["dual"]
    assert d["channels"] == ["T2w", "T1w"]
    assert d["differ"] > d["pixels"] // 10
    # Each pane fits the image into half the stage.
    assert d["split"]["zoom"] < d["singleViewport"]["zoom"]


def test_zooming_over_the_right_pane_moves_both_and_keeps_the_point_under_the_mouse(e2e):
    d = e2e["dual"]
    assert d["zoomed"]["zoom"] > d["split"]["zoom"] * 1.2
    assert len(set(d["transforms"])) == 1
    scale = float(d["transforms"][0].split("scale(")[1].rstrip(")"))
    assert scale == pytest.approx(d["zoomed"]["zoom"], rel=1e-4)
    assert abs(d["stillAt"]["x"] - d["at"]["x"]) < 1 and abs(d["stillAt"]["y"] - d["at"]["y"]) < 1
    assert 40 <= d["cursor"]["x"] < 41 and 30 <= d["cursor"]["y"] < 31


def test_a_window_drag_on_the_right_pane_sets_that_channels_window_only(e2e):
    w = e2e["dual"]["windowing"]
    assert w["after"]["T2w"] == w["before"]["T2w"]
    assert w["after"]["T1w"] != w["before"].get("T1w")
    assert w["leftUnchanged"] and w["rightChanged"] > 0


def test_a_stroke_on_the_right_pane_edits_the_one_saved_mask_at_its_image_pixels(e2e):
    d = e2e["dual"]
    assert d["paintedCount"] > 40
    assert d["classes"] == [d["cls"]]
    assert d["outside"] == 0 and d["missing"] == 0
    assert d["mirrored"]["same"] and d["mirrored"]["coloured"] == d["paintedCount"]


def test_turning_it_off_gives_the_single_view_back(e2e):
    b = e2e["dual"]["backToSingle"]
    assert b["hidden"]
    assert b["viewport"] == e2e["dual"]["singleViewport"]


def test_review_pins_show_on_both_panes_at_their_image_point(e2e):
    pins = e2e["dual"]["pins"]
    markers, want = pins["markers"], pins["want"]
    assert [m["right"] for m in markers] == [False, True]
    for m, w in zip(markers, want, strict=True):
        assert abs(m["x"] - w["x"]) < 2 and abs(m["y"] - w["y"]) < 2, (m, w)
    (single,) = pins["single"]
    assert abs(single["x"] - pins["singleWant"]["x"]) < 2 and abs(single["y"] - pins["singleWant"]["y"]) < 2
