"""A spinal-metastasis project end to end in the browser (tests/e2e/projects.mjs) on the embedded
default with a real Celery worker: a 3-class lesion project with two channels (STIR, T1w) is created on
/projects/, the lesion phantom imported, a slice annotated in the editor and accepted on the review
page, a round trained by the worker, the unlabelled slices pre-labelled, and the lesion metrics shown
on the round page and the dashboard; a user who is no member sees none of it. The project page after
the import is saved as docs/screenshots/projects.png."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlcore.phantom_lesions import write_lesion_mids
from tests.e2e.editor_server import ROOT
from tests.e2e.node import require_browser_tools, run_script
from tests.e2e.rounds_server import rounds_server

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]

# A small lumbar demo project besides (seed_demo), no seeded lesion project: the test makes its own.
SEED = ["--subjects", "3", "--slices", "2", "--size", "32", "--no-real", "--no-lesions"]


def lesion_zip(folder: Path) -> Path:
    """3 labelled subjects and 1 without masks, 3 slices of 64 x 64, zipped as a MIDS tree."""
    root = folder / "mids"
    write_lesion_mids(root, n_subjects=4, n_slices=3, size=(64, 64), seed=5)
    shutil.rmtree(root / "derivatives" / "phantom-lesions" / "sub-M0004")
    return Path(shutil.make_archive(str(folder / "lesions"), "zip", root))


@pytest.fixture(scope="module")
def e2e(tmp_path_factory) -> dict:
    require_browser_tools()
    archive = lesion_zip(tmp_path_factory.mktemp("lesions"))
    shot = ROOT / "docs" / "screenshots" / "projects.png"
    with rounds_server(SEED) as server:
        env = {
            "SPINELAB_URL": server["url"],
            "SPINELAB_CREDENTIALS": json.dumps(server["credentials"]),
            "LESION_ZIP": str(archive),
            "SPINELAB_SCREENSHOT": str(shot),
        }
        log = Path(server["worker_log"])
        result = run_script("projects.mjs", env=env, timeout=540, diagnostics=lambda: log.read_text()[-3000:])
        worker_log = log.read_text()[-3000:]
    assert "error" not in result, f"{result['error']}\nworker log:\n{worker_log}"
    assert "pageErrors" not in result, result["pageErrors"]
    return result


def test_the_admin_creates_the_lesion_project_with_its_channels_and_members(e2e):
    assert e2e["schema"] == [
        {"name": "background", "lesion": False},
        {"name": "lytic lesion", "lesion": True},
        {"name": "sclerotic lesion", "lesion": True},
    ]
    assert e2e["project"]["channels"] == ["STIR", "T1w"] and e2e["project"]["members_only"] is True
    assert any(m.startswith("mila ml_staff") for m in e2e["members"])
    assert any(m.startswith("anna annotator") for m in e2e["members"])


def test_the_import_stacks_both_channels_and_the_editor_offers_them_stir_first(e2e):
    assert e2e["importResult"].startswith("Imported"), e2e["importResult"]
    assert len(e2e["imported"]) == 12 and "accepted" in e2e["imported"] and "unlabelled" in e2e["imported"]
    assert e2e["assignStatus"] == 201
    assert e2e["editorChannels"] == ["STIR", "T1w"]
    assert "mets" in e2e["annaProjects"]


def test_a_real_worker_trains_a_round_on_both_channels_and_the_pages_show_lesion_metrics(e2e):
    assert e2e["channelChoice"] == "STIR+T1w"
    round_ = e2e["round"]
    assert round_["state"] == "succeeded", round_["message"]
    assert round_["channels"] == "STIR+T1w"
    (lesions,) = round_["lesions"]
    assert set(lesions["classes"]) == {"1", "2"} and lesions["images"] > 0
    assert [row[0] for row in e2e["lesionTable"]] == ["lytic lesion", "sclerotic lesion"]
    assert all("found" in cell and "lesion Dice" in cell for row in e2e["lesionTable"] for cell in row[1:])
    assert e2e["dashboardLesionTables"] >= 1


def test_the_unlabelled_slices_of_the_project_are_prelabelled_and_ranked(e2e):
    pool = [s for s in e2e["afterRound"] if s["state"] == "prelabelled"]
    assert pool and all(s["rank"] for s in pool)
    assert not [s for s in e2e["afterRound"] if s["state"] == "unlabelled"]


def test_a_user_who_is_no_member_sees_nothing_of_the_project(e2e):
    assert "mets" not in e2e["benProjects"]
    assert e2e["benSlice"] == 404 and e2e["benEditor"] == 404
