"""The volume-aware editor in real (Debian) Chromium: in-place slice navigation that keeps the view
and saves first, the slice strip, the title following the workflow state, submit moving on, and a
refused save during a slice switch losing nothing (tests/e2e/editor_volume.e2e.mjs)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.editor_server import editor_server
from tests.e2e.node import require_browser_tools, run_script
from tests.e2e.volume_seed import volume_seed

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def e2e() -> dict:
    require_browser_tools()
    with editor_server(seed=volume_seed(), prefix="spinelab-volume-") as server:
        env = {"SPINELAB_URL": server["url"], "SPINELAB_IDS": json.dumps(server["ids"])}
        result = run_script("editor_volume.e2e.mjs", env=env, timeout=300)
    result["ids"] = server["ids"]
    return result


def test_no_section_failed_and_no_page_error(e2e):
    assert e2e["errors"] == {}, e2e["errors"]
    assert e2e["pageErrors"] == [], e2e["pageErrors"]


def test_the_strip_shows_every_slice_with_state_prelabel_and_rank(e2e):
    strip = e2e["navigate"]["strip"]
    ids = e2e["ids"]["slices"]
    assert [c["id"] for c in strip] == ids
    assert [c["rank"] for c in strip] == list(range(1, 13))
    assert [c["prelabel"] for c in strip] == [False, True, True] + [False] * 9
    assert strip[1]["state"] == "prelabelled" and strip[3]["state"] == "unlabelled"
    assert [c["current"] for c in strip].index(True) == 3


def test_the_wheel_moves_to_the_next_slice_in_place_keeping_the_view(e2e):
    nav = e2e["navigate"]
    ids = e2e["ids"]["slices"]
    assert nav["after"]["slice"] == ids[4]
    assert nav["after"]["path"] == f"/slices/{ids[4]}/edit/"
    assert nav["after"]["pageLoads"] == nav["before"]["pageLoads"] == 1, "no page load"
    assert nav["after"]["viewport"] == nav["before"]["viewport"], "zoom and pan kept"
    assert nav["after"]["wl"] == nav["before"]["wl"], "window kept"
    assert "slice 4" in nav["title"]


def test_the_slice_left_is_saved_first_and_comes_back_as_saved(e2e):
    nav = e2e["navigate"]
    assert nav["storedDiff"] == 0
    assert nav["backDiff"] == 0


def test_back_and_forward_follow_the_slices_opened(e2e):
    nav = e2e["navigate"]
    ids = e2e["ids"]["slices"]
    assert nav["afterBack"]["slice"] == ids[3] and nav["afterBack"]["pageLoads"] == 1
    assert nav["forwardPath"] == f"/slices/{ids[6]}/edit/"
    assert nav["currentCell"] == ids[6]


def test_the_title_follows_the_workflow_state_and_submit_moves_on(e2e):
    st = e2e["state"]
    assert st["titleBefore"].endswith("prelabelled")
    assert st["apiState"] == "in_progress"
    assert st["titleAfterSave"].endswith("in progress")
    assert st["submittedState"] == "submitted"
    assert st["stripCell"] == "submitted"
    assert "submitted for review" in st["notice"]
    assert st["movedTo"] != e2e["ids"]["slices"][1]


@pytest.mark.parametrize("fault", ["413 too large", "network down"])
def test_a_refused_save_while_switching_says_so_and_keeps_the_mask(e2e, fault):
    f = e2e["faults"][fault]
    ids = e2e["ids"]["slices"]
    assert "is not saved" in f["notice"] and "local draft" in f["notice"]
    assert ("mask too large" if fault == "413 too large" else "cannot be reached") in f["notice"]
    assert f["stayed"] == str(ids[5])
    assert f["onScreenDiff"] == 0
    assert f["saveState"] == "error"
    assert f["draft"]


def test_a_draft_left_by_a_closed_tab_is_restored_and_stored(e2e):
    r = e2e["faults"]["reopened"]
    assert "Restored your unsaved mask" in r["notice"]
    assert r["storedDiff"] == 0 and r["onScreenDiff"] == 0
    assert not r["draftAfterSave"]
    assert e2e["faults"]["movedAfterSave"]


def test_copy_and_interpolation_say_when_a_labelled_neighbour_is_missing(e2e):
    r = e2e["reuse"]
    assert r["noPrevious"] == "No labelled slice before slice 0 to copy from."
    assert r["noInterpolation"].startswith(
        "Interpolation needs a labelled slice on both sides: none before slice 0"
    )


def test_copying_the_previous_labelled_slice_is_one_undoable_change(e2e):
    r = e2e["reuse"]
    assert r["copyPrevDiff"] == 0 and "slice 3" in r["copyNotice"]
    assert r["undoDiff"] == 0


def test_copying_one_class_takes_only_that_class(e2e):
    c = e2e["reuse"]["classOnly"]
    assert c["copied"] == c["want"] > 0
    assert c["others"] == 0


def test_interpolation_fills_the_slices_between_as_proposals_saved_as_interpolated(e2e):
    r = e2e["reuse"]
    assert r["interpolatedHere"] > 0 and r["interpolatedMeta"]["source"] == "interpolate"
    s = r["series"]
    assert "slices 6–10 from slices 5 and 11" in s["notice"]
    assert min(s["ends"]) * 0.5 < s["painted"] < max(s["ends"]) * 1.5
    assert s["proposalOffered"] and not s["offeredAfter"]
    assert s["acceptedPainted"] > 0
    assert s["acceptedMeta"]["source"] == "interpolate"
    assert s["eightMeta"]["source"] == "interpolate"


def test_the_interpolation_proposal_is_previewed_hatched_before_it_is_accepted(e2e):
    r = e2e["reuse"]
    p = r["preview"]
    assert p["maskUnchanged"] and p["layerShown"] and p["actionsShown"]
    # Hatched: outline and diagonals of the proposal, a fraction of its pixels, none outside it.
    assert 0 < p["drawn"] < p["labelled"] and p["outside"] == 0
    assert not r["afterAccept"]["layerShown"]
    assert "Applied the interpolated proposal" in r["afterAccept"]["notice"]
    assert r["acceptUndoDiff"] == 0 and r["acceptRedoDiff"] == 0


def test_a_discarded_proposal_leaves_the_slice_as_it_was(e2e):
    d = e2e["reuse"]["series"]["discarded"]
    assert d["offered"] and not d["layerAfter"] and not d["actionsAfter"]
    assert d["painted"] == 0 and d["stored"] is None
    assert d["notice"].startswith("Discarded the interpolated proposal of slice 10")
