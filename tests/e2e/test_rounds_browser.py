"""A real training round from the browser on the embedded default (SQLite, filesystem broker, a real
Celery worker, CPU): ML staff launch a small round on /rounds/new, the round page's progress bars
move while it trains, the dashboard shows its IoU table with the best architecture marked, the
unlabelled slices get model pre-labels and ranks; a long round is cancelled from its page.
The dashboard after the round is saved to var/rounds-e2e.png (the README's screenshot comes from a
longer round on the demo data instead)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.editor_server import ROOT
from tests.e2e.node import require_browser_tools, run_script
from tests.e2e.rounds_server import rounds_server

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.slow]

EPOCHS = 200  # enough for the page (polling every 2 s) to show several values even when training is fast


@pytest.fixture(scope="module")
def e2e() -> dict:
    require_browser_tools()
    shot = ROOT / "var" / "rounds-e2e.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    with rounds_server() as server:
        env = {
            "SPINELAB_URL": server["url"],
            "SPINELAB_USER": server["username"],
            "SPINELAB_PASSWORD": server["password"],
            "SPINELAB_SCREENSHOT": str(shot),
            "ROUND_EPOCHS": str(EPOCHS),
        }
        log = Path(server["worker_log"])
        result = run_script("rounds.mjs", env=env, timeout=420, diagnostics=lambda: log.read_text()[-3000:])
        worker_log = log.read_text()[-3000:]
        models = Path(server["var"]) / "media" / "models"
        weights = sorted(str(p.relative_to(models)) for p in models.rglob("*") if p.is_file())
    assert "error" not in result, f"{result['error']}\nworker log:\n{worker_log}"
    assert "pageErrors" not in result, result["pageErrors"]
    return {**result, "weights": weights}


def running(samples: list[dict]) -> list[dict]:
    return [s for s in samples if s["state"] == "running"]


def test_the_round_progress_bar_moves_while_the_round_trains(e2e):
    bar = [s["progress"] for s in running(e2e["samples"])]
    moved = [(a, b) for a, b in zip(bar, bar[1:], strict=False) if 0 < a < b < 1]
    assert moved, f"the round bar never moved between 0 and 1: {bar}"
    assert bar == sorted(bar), f"the round bar went backwards: {bar}"


def test_a_training_jobs_epoch_cell_advances_while_it_trains(e2e):
    epochs: dict[str, list[str]] = {}
    for sample in e2e["samples"]:
        for job in sample["jobs"]:
            if job["task"].startswith("train_fold") and job["epoch"] and job["state"] == "running":
                seen = epochs.setdefault(job["task"], [])
                if not seen or seen[-1] != job["epoch"]:
                    seen.append(job["epoch"])
    # The page polls every 2 s: a fold that trains faster than that may only be seen queued and done.
    assert set(epochs) <= {"train_fold UD fold 0", "train_fold UD fold 1"}
    assert any(len(seen) >= 2 for seen in epochs.values()), epochs
    assert all(e.endswith(f"/{EPOCHS}") for seen in epochs.values() for e in seen)


def test_the_round_succeeds_in_minutes_with_every_job_done(e2e):
    final = e2e["final"]
    assert final["state"] == "succeeded" and final["progress"] == 1
    assert {j["task"].split()[0]: j["state"] for j in final["jobs"]} == {
        "train_fold": "succeeded",
        "finalize_round": "succeeded",
        "prelabel": "succeeded",
    }
    assert [j["epoch"] for j in final["jobs"] if j["task"].startswith("train_fold")] == [
        f"{EPOCHS}/{EPOCHS}"
    ] * 2


def test_the_round_page_shows_its_results_when_the_round_ends_without_a_manual_reload(e2e):
    page = e2e["roundPage"]
    assert page["tables"] == 1 and page["best"] == ["UD ★"]
    assert len(page["versions"]) == 1 and page["versions"][0].startswith("r1-UD — live")


def test_the_dashboard_shows_the_per_class_iou_table_with_the_best_architecture_marked(e2e):
    table = e2e["table"]
    assert (
        table["caption"].startswith("Round 1: IoU % per class") and "12 labelled slices" in table["caption"]
    )
    assert table["best"] == ["UD ★"]
    assert table["classes"][:2] == ["background", "vertebrae"] and len(table["classes"]) == 12
    # the CV's post-processing choice for the pre-labels, with both figures, under the means
    (choice,) = table["postprocess"]
    assert choice.startswith(("largest foreground component (", "none (")) and "without" in choice
    assert "±" in table["firstRow"][0]
    assert e2e["liveModel"].startswith("r1-UD")
    (version,) = e2e["round"]["versions"]
    assert version["status"] == "live" and len(version["fold_iou"]) == 2
    assert e2e["simulations"] >= 1, "seed_demo shows the recorded simulation's learning curves"


def test_unlabelled_slices_get_model_prelabels_and_ranks(e2e):
    pool = [s for s in e2e["slices"] if s["subject"] in ("P0005", "P0006")]
    labelled = [s for s in e2e["slices"] if s not in pool]
    assert len(pool) == 6 and len(labelled) == 12
    assert sorted(s["rank"] for s in pool) == [1, 2, 3, 4, 5, 6]
    assert all(s["state"] == "prelabelled" and s["prelabel"] for s in pool)
    assert all(s["state"] == "accepted" and s["rank"] is None and not s["prelabel"] for s in labelled)
    revision = e2e["prelabelRevision"]
    assert revision["source"] == "model" and revision["meta"]["label"] == "r1-UD"


def test_cancelling_a_round_from_its_page_stops_it_and_leaves_no_model_version(e2e):
    before = e2e["beforeCancel"]
    assert before["state"] == "running" and any(j["epoch"] for j in before["jobs"])
    final = e2e["cancelFinal"]
    assert final["state"] == "cancelled"
    assert {j["state"] for j in final["jobs"] if j["task"].startswith("train_fold")} == {"cancelled"}
    stopped_at = [int(j["epoch"].split("/")[0]) for j in final["jobs"] if j["epoch"]]
    assert stopped_at and max(stopped_at) < 500
    assert e2e["cancelSeconds"] < 60
    assert e2e["cancelRound"]["versions"] == []
    assert [m["round"] for m in e2e["models"]] == [1]
    assert all(w.startswith("lumbar/r1-UD/") for w in e2e["weights"]), e2e["weights"]
