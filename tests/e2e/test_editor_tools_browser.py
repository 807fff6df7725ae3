"""The editor's other tools in real (Debian) Chromium against a live server: flood fill and lasso,
protection rules, window/level, T2w/T1w, pre-label accept/compare, pen and touch, leaving a slice
with unsaved strokes, wheel zoom / fit and the true-size brush cursor. Expected masks and greys are
computed independently in the script (tests/e2e/lib.mjs) and compared pixel for pixel."""

from __future__ import annotations

import json

import pytest

from tests.e2e.editor_server import editor_server
from tests.e2e.node import require_browser_tools, run_script

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def run() -> dict:
    require_browser_tools()
    with editor_server() as server:
        env = {"SPINELAB_URL": server["url"], "SPINELAB_IDS": json.dumps(server["ids"])}
        return run_script("editor_tools.e2e.mjs", env=env)


def part(run: dict, name: str) -> dict:
    """One section's results; a section that threw fails its test with the browser-side error."""
    assert name not in run["errors"], f"the {name!r} steps failed in the browser:\n{run['errors'][name]}"
    return run[name]


def test_the_editor_pages_throw_no_javascript_errors(run):
    assert run["pageErrors"] == [], run["pageErrors"]


def test_flood_fill_and_lasso_fill_exactly_the_expected_pixels_and_are_saved(run):
    fill = part(run, "fill")
    assert fill["filled"] > 1000 and fill["lassoed"] > 1000, "both tools had a region to fill"
    assert fill["afterFillDiff"] == 0, "flood fill from the toolbar filled the inside of the ring only"
    assert fill["afterLassoDiff"] == 0, "the L-key lasso filled the pixels whose centres are inside it"
    assert fill["storedDiff"] == 0, "the saved mask (through the API) equals the expectation"


def test_paint_only_over_background_leaves_painted_pixels_alone(run):
    p = part(run, "protect")
    assert p["onlyBg"]["class2Kept"], "a stroke across class 2 with 'only over background' changed it"
    assert p["onlyBg"]["diff"] == 0, "background pixels under the stroke took the new class"


def test_a_protected_class_survives_the_eraser_and_other_classes(run):
    p = part(run, "protect")
    assert p["lockedInEditor"] == [2], "ticking the lock box protects class 2"
    assert p["class2Kept"], "erasing or painting across protected class 2 changed it"
    assert p["erased"] > 0 and p["class6"] > 100, "the strokes did act outside the protected class"
    assert p["lockedDiff"] == 0
    assert p["storedDiff"] == 0, "the saved mask equals the expectation pixel for pixel"


def test_leaving_a_slice_with_the_keyboard_saves_unsaved_strokes(run):
    leave = part(run, "leave")
    assert leave["stateBeforeLeaving"] == "unsaved"
    assert leave["url"].endswith("/edit/"), "',' opened the previous slice"
    assert leave["after"] > leave["before"], "the API shows a new revision of the slice that was left"
    assert leave["storedDiff"] == 0, "the new revision holds exactly the mask on screen when leaving"


def test_a_window_level_drag_changes_the_displayed_greys_accordingly(run):
    wl = part(run, "wl")
    assert wl["startMatches"] == 0, "the first image is drawn with the auto window"
    assert wl["dragged"]["window"] > wl["start"]["window"], "dragging right widens the window"
    assert wl["dragged"]["level"] < wl["start"]["level"], "dragging down lowers the level"
    assert wl["readout"] == f"W {wl['dragged']['window']:.0f} / L {wl['dragged']['level']:.0f}"
    assert wl["draggedChanged"] > wl["pixels"] // 2, "most displayed greys changed"
    assert wl["draggedMatches"] == 0, "every grey follows the dragged window on the full bit depth"
    assert wl["maskPainted"] == 0, "a W/L drag paints nothing"


def test_a_window_preset_applies_its_values_and_auto_can_be_picked_again(run):
    wl = part(run, "wl")
    assert wl["presetAfterDrag"] == -1, "after a drag the preset box no longer claims a preset"
    assert wl["full"] == pytest.approx(wl["fullExpected"]), "'Full range' is the channel's min..max"
    assert wl["fullMatches"] == 0, "the canvas shows the preset's greys"
    assert wl["auto"] == pytest.approx(wl["start"]), "picking Auto again restores the first window"


def test_keys_work_after_using_a_select_or_clicking_the_image(run):
    wl = part(run, "wl")
    assert wl["brushAfterPreset"] == 12, "']' right after picking a preset grows the brush"
    assert wl["brushAfterClick"] == 10, "'[' works after a click on the image, wherever focus was"
    assert part(run, "channel")["classAfterSwitch"] == 5, "a class key works right after a channel switch"


def test_switching_to_t1w_changes_the_image_and_leaves_the_mask_untouched(run):
    ch = part(run, "channel")
    assert ch["options"] == ["T2w", "T1w"]
    assert ch["t1VsT2Changed"] > ch["pixels"] // 2, "the displayed image changed"
    assert ch["t1Matches"] == 0, "the canvas shows the T1w channel with its auto window"
    assert ch["backMatches"] == 0, "switching back shows T2w again"
    assert ch["maskPainted"] > 100 and ch["maskDiff"] == 0, "the painted mask is untouched"
    assert ch["state"] == "saved" and ch["headAfter"] == ch["head"], "a switch is no edit: nothing to save"


def test_accepting_the_prelabel_then_correcting_stores_prelabel_plus_stroke(run):
    pre = part(run, "prelabel")
    assert pre["acceptVisible"] and pre["emptyBefore"]
    assert pre["acceptedDiff"] == 0, "'Accept pre-label' copies the model's mask"
    assert pre["corrected"] > 100, "the correction stroke changed pixels"
    assert pre["storedDiff"] == 0, "stored mask == pre-label + correction stroke, pixel for pixel"
    assert pre["parent"] == pre["prelabelRevision"], "the saved revision builds on the pre-label"


def test_the_compare_toggle_shows_the_prelabel_without_altering_the_mask(run):
    pre = part(run, "prelabel")
    assert pre["normal"] == {"prelabelShown": False, "maskShown": True, "prelabelLayerOff": 0}
    assert pre["comparing"]["prelabelShown"] and not pre["comparing"]["maskShown"]
    assert pre["comparing"]["prelabelLayerOff"] == 0, "the shown layer is the pre-label in class colours"
    assert pre["maskWhileComparing"] == 0, "comparing does not alter the mask"
    assert pre["back"]["maskShown"] and not pre["back"]["prelabelShown"], "unticking shows the mask again"
    assert pre["holdingP"]["prelabelShown"] and pre["releasedP"]["maskShown"], "holding P compares too"


def test_pen_and_touch_pointers_paint(run):
    p = part(run, "pointers")
    assert p["seen"] == ["pen", "touch"], "the strokes arrived as pen and touch pointer events"
    assert p["pen"] > 100 and p["touch"] > 100
    assert p["penDiff"] == 0, "the pen stroke painted the expected pixels"
    assert p["touchDiff"] == 0, "the touch stroke painted the expected pixels"
    assert p["storedDiff"] == 0


def test_brackets_step_the_brush_size(run):
    z = part(run, "zoom")
    assert z["sizes"] == [12, 14, 12], "']' ']' '[' from 10"
    assert z["fitted"]["out"] == "12", "the size readout follows"


def test_the_wheel_zooms_around_the_pointer_and_fit_restores_the_whole_image(run):
    z = part(run, "zoom")
    fitted, zoomed = z["fitted"], z["zoomed"]
    margin_w = (fitted["stageW"] - fitted["w"] * fitted["zoom"]) / 2
    margin_h = (fitted["stageH"] - fitted["h"] * fitted["zoom"]) / 2
    assert min(margin_w, margin_h) == pytest.approx(8, abs=0.01), (
        "fit leaves the 8 px margin on the tight side"
    )
    assert margin_w >= 7.99 and margin_h >= 7.99, "the whole image is visible"
    assert fitted["imgLeft"] == pytest.approx(margin_w, abs=0.01), "the image is drawn where the view says"
    assert fitted["imgW"] == pytest.approx(fitted["w"] * fitted["zoom"], abs=0.01)
    assert zoomed["zoom"] > 1.2 * fitted["zoom"], "wheel up zooms in"
    assert zoomed["imgW"] == pytest.approx(zoomed["w"] * zoomed["zoom"], abs=0.01)
    moved = max(abs(z["underAfter"][k] - z["under"][k]) for k in ("x", "y"))
    assert moved < 1 / zoomed["zoom"], "the image point under the pointer stays under it"
    for how in ("refitted", "buttonFit"):
        assert z[how]["zoom"] == pytest.approx(fitted["zoom"]), f"fit ({how}) restores the fitted view"
        assert z[how]["offsetX"] == pytest.approx(fitted["offsetX"])


def test_the_brush_cursor_is_drawn_at_its_true_size_at_two_zooms(run):
    z = part(run, "zoom")
    # The outline is a 3 px line centred on the brush radius: its box is the diameter + 3.
    for box, view in ((z["box1"], z["fitted"]), (z["box2"], z["zoomed"])):
        true_size = view["brush"] * view["zoom"]
        assert abs(box["w"] - 3 - true_size) <= 2.5, f"cursor {box['w']} px wide at zoom {view['zoom']:.2f}"
        assert abs(box["h"] - 3 - true_size) <= 2.5
