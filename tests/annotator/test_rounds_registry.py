"""The model registry: promotion gate, manual promotion and rollback, correction effort, simulations
and the rounds pages (no worker: versions are made directly)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from django.core.management import call_command

from annotator.models import Job, ModelVersion, ProjectSplit, Promotion, SimulationRun, TrainingRound
from annotator.rounds.versions import gate_decision, quality_problem, summarise
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_human_mask, save_model_prelabel

CLASSES = 12


def make_round(project, number: int) -> TrainingRound:
    split, _ = ProjectSplit.objects.get_or_create(
        project=project, k=2, defaults={"assignment": {"A": 0, "B": 1}}
    )
    job = Job.objects.create(kind="round", state="succeeded")
    return TrainingRound.objects.create(
        project=project,
        number=number,
        job=job,
        split=split,
        folds=[["A"], ["B"]],
        config={"architectures": ["UD", "FCN8"], "channels": "T2w"},
        num_slices=4 * number,
    )


def make_version(project, rnd: TrainingRound, arch: str, score: float) -> ModelVersion:
    fold_iou = [[0.9] + [score] * (CLASSES - 1), [0.9] + [score] * (CLASSES - 1)]
    report = summarise(fold_iou, project.class_names())
    return ModelVersion.objects.create(
        project=project,
        training_round=rnd,
        label=f"r{rnd.number}-{arch}",
        architecture=arch,
        fold_iou=fold_iou,
        report=report,
        mean_iou=report["mean_iou_fg"]["mean"],
        mean_iou_bg=report["mean_iou_all"]["mean"],
        weights=[f"models/x/{arch}/fold0.pt", f"models/x/{arch}/fold1.pt"],
    )


def test_summary_gives_per_class_mean_and_std_and_both_mean_rows(project):
    report = summarise([[1.0, 0.5, None], [0.8, 0.7, None]], ["bg", "a", "b"])
    assert report["classes"][1]["mean"] == pytest.approx(0.6) and report["classes"][1][
        "std"
    ] == pytest.approx(0.1)
    assert report["classes"][2]["mean"] is None  # absent in every fold
    assert report["mean_iou_fg"]["mean"] == pytest.approx(0.6)
    assert report["mean_iou_all"]["mean"] == pytest.approx(0.75)


def test_the_gate_promotes_only_a_winner_that_beats_the_live_model_on_the_same_folds(project):
    rnd = make_round(project, 1)
    live, weak, strong = (
        make_version(project, rnd, a, s) for a, s in [("UD", 0.5), ("FCN8", 0.4), ("UVD", 0.7)]
    )
    names = project.class_names()
    same_folds_live = [[0.9] + [0.55] * 11] * 2
    assert gate_decision([weak], None, None, None, names)["promote"] is True
    kept = gate_decision([weak], live, live, same_folds_live, names)
    assert kept["promote"] is False and "does not beat" in kept["reason"]
    won = gate_decision([weak, strong], live, live, same_folds_live, names)
    assert won["promote"] is True and won["best"] == strong.pk
    changed = gate_decision([strong], live, weak, same_folds_live, names)
    assert changed["promote"] is False and "changed during the round" in changed["reason"]


def test_the_quality_floor_refuses_a_model_worse_than_predicting_background_everywhere():
    # 3 classes; truth: 70 % background. The noisy model paints foreground everywhere.
    noise = [[100, 300, 300], [10, 80, 10], [10, 10, 80]]
    assert "below the quality floor of 25 %" in quality_problem([noise, noise], 0.25)
    # a model that does fine on foreground but wipes out half the background is still refused
    greedy = [[350, 300, 50], [0, 100, 0], [0, 0, 100]]
    assert "predicting background everywhere" in quality_problem([greedy], 0.25)
    good = [[680, 10, 10], [5, 90, 5], [5, 5, 90]]
    assert quality_problem([good], 0.25) is None
    assert "no validation pixels" in quality_problem([[[0, 0], [0, 0]]], 0.25)


def test_the_gate_never_promotes_a_degenerate_model_and_says_why(project):
    rnd = make_round(project, 1)
    bad, fine = make_version(project, rnd, "UD", 0.02), make_version(project, rnd, "FCN8", 0.6)
    names = project.class_names()
    refused = gate_decision(
        [bad], None, None, None, names, {bad.pk: "its mean foreground IoU (2.0 %) is low"}
    )
    assert refused["promote"] is False and "not promoted automatically" in refused["reason"]
    assert "ML staff may still promote it by hand" in refused["reason"]
    # a passing candidate wins even when a refused one scores higher on paper
    mixed = gate_decision([bad, fine], None, None, None, names, {bad.pk: "worse than trivial"})
    assert (
        mixed["promote"] is True
        and mixed["best"] == fine.pk
        and mixed["refused"] == {bad.label: "worse than trivial"}
    )


def test_ml_staff_promote_and_roll_back_with_exactly_one_live_model_and_a_record(client_for, project, users):
    rnd1, rnd2 = make_round(project, 1), make_round(project, 2)
    old, new = make_version(project, rnd1, "UD", 0.5), make_version(project, rnd2, "UD", 0.6)
    mia = client_for("mia")
    assert mia.post(f"/api/models/{old.pk}/promote/", {"note": "first"}, format="json").status_code == 200
    assert mia.post(f"/api/models/{new.pk}/promote/", {}, format="json").status_code == 200
    back = mia.post(f"/api/models/{old.pk}/promote/", {"note": "new one is worse on L5"}, format="json")
    assert back.status_code == 200 and back.json()["promotion"]["reason"] == "rollback"
    assert list(ModelVersion.objects.filter(status="live")) == [old]
    assert [p.reason for p in Promotion.objects.order_by("id")] == ["manual", "manual", "rollback"]
    assert Promotion.objects.order_by("id").last().created_by == users["mia"]
    assert mia.post(f"/api/models/{old.pk}/promote/", {}, format="json").status_code == 400  # already live
    assert client_for("sam").post(f"/api/models/{new.pk}/promote/", {}, format="json").status_code == 403
    assert client_for("mia").post("/api/models/999/promote/", {}, format="json").status_code == 404


def test_prelabel_on_demand_queues_a_gpu_job_for_ml_staff_only(client_for, project):
    version = make_version(project, make_round(project, 1), "UD", 0.5)
    assert (
        client_for("alice").post(f"/api/models/{version.pk}/prelabel/", {}, format="json").status_code == 403
    )
    bad = client_for("mia").post(f"/api/models/{version.pk}/prelabel/", {"strategy": "coin"}, format="json")
    assert bad.status_code == 400 and "coin" in bad.json()["detail"]
    ok = client_for("mia").post(f"/api/models/{version.pk}/prelabel/", {"strategy": "margin"}, format="json")
    assert ok.status_code == 202
    job = Job.objects.get(pk=ok.json()["id"])
    assert job.kind == "prelabel" and job.queue == "gpu" and job.params["strategy"] == "margin"


def test_correction_effort_counts_changed_pixels_per_class_and_edit_time(
    client_for, project, users, make_slices
):
    version = make_version(project, make_round(project, 1), "UD", 0.5)
    slice_ = make_slices(1, height=10, width=10)[0]
    pre = np.zeros((10, 10), np.uint8)
    pre[:, :5] = 1  # 50 pixels of class 1
    model_rev = save_model_prelabel(slice_, pre, {"model_version": version.pk})
    fixed = pre.copy()
    fixed[:2, :5] = 3  # the annotator changed 10 of the 50 class-1 pixels
    colours = list(project.classes.order_by("index").values_list("colour", flat=True))
    save_human_mask(
        slice_id=slice_.pk,
        user=users["ada"],
        png=encode_mask(fixed, colours),
        base_revision_id=model_rev.pk,
        meta={"edit_seconds": 30},
    )
    board = client_for("sam").get("/api/dashboard/").json()
    row = next(r for r in board["effort"] if r["version"] == version.pk)
    assert row["round"] == 1 and row["slices"] == 1
    assert row["changed_share"] == pytest.approx(0.1)
    assert row["per_class"][1]["changed_share"] == pytest.approx(0.2)
    assert row["per_class"][0]["changed_share"] == 0.0
    assert row["edit_seconds_per_slice"] == 30


def test_simulation_results_import_by_api_and_command_and_reach_the_dashboard(client_for, project, tmp_path):
    result = {
        "curves": {
            "random": [
                {"round": 0, "labelled": 4, "mean_iou": 0.3, "mean_iou_std": 0.01},
                {"round": 1, "labelled": 8, "mean_iou": 0.4, "mean_iou_std": 0.02},
            ],
            "entropy": [
                {"round": 0, "labelled": 4, "mean_iou": 0.3},
                {"round": 1, "labelled": 8, "mean_iou": 0.45},
            ],
        },
        "strategies": ["random", "entropy"],
        "seeds": [0],
    }
    response = client_for("mia").post("/api/simulations/", {**result, "name": "phantom AL"}, format="json")
    assert response.status_code == 201 and set(response.json()["curves"]) == {"random", "entropy"}
    assert (
        client_for("mia")
        .post("/api/simulations/", {"curves": {"random": [{"x": 1}]}}, format="json")
        .status_code
        == 400
    )
    assert client_for("alice").post("/api/simulations/", result, format="json").status_code == 403
    path = tmp_path / "sim.json"
    path.write_text(json.dumps(result))
    call_command("import_simulation", str(path), "--name", "from CLI")
    names = [s["name"] for s in client_for("sam").get("/api/dashboard/").json()["simulations"]]
    assert names == ["from CLI", "phantom AL"] and SimulationRun.objects.count() == 2


def test_rounds_pages_show_the_table_to_readers_and_the_form_to_ml_staff(client, users, project):
    rnd = make_round(project, 1)
    version = make_version(project, rnd, "UD", 0.6)
    rnd.report = {"UD": {**version.report, "version": version.pk}, "FCN8": {"error": "fold 0 failed: boom"}}
    rnd.save()
    client.force_login(users["sam"])
    page = client.get("/rounds/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "vertebrae" in html and "60.0 ± 0.0" in html and "mean IoU with background" in html
    assert "fold 0 failed: boom" in html
    assert client.get("/rounds/new").status_code == 403
    assert client.get(f"/rounds/{rnd.pk}/").status_code == 200
    client.force_login(users["alice"])
    assert client.get("/rounds/").status_code == 403
    client.force_login(users["mia"])
    form = client.get("/rounds/new")
    assert form.status_code == 200 and "UVAD" in form.content.decode()
    refused = client.post("/rounds/new", {"architectures": ["UD"], "folds": "2", "epochs": "1"})
    assert refused.status_code == 400 and "0 subjects" in refused.content.decode()
