"""Two active-learning rounds end to end with a real Celery worker (solo pool, filesystem broker) on
a tiny phantom: launch through the API, train (arch x fold jobs), promote, pre-label, rank; plus a
cancelled round and a failing one."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from annotator.models import Job, MaskRevision, ModelVersion, Series, Session, Slice, SliceState, Subject
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_human_mask, save_imported_mask
from annotator.services.slicedata import channel_stats, save_array
from tests.conftest import wait_for_job

pytestmark = [pytest.mark.worker, pytest.mark.slow]
SIZE = 48
SMALL = {
    "architectures": ["UD", "FCN8"],
    "folds": 2,
    "epochs": 1,
    "steps_per_epoch": 3,
    "promotion_floor": 0,  # these tiny models test the plumbing; the floor has its own test
    "filters": 4,
    "batch_size": 4,
    "strategy": "entropy",
    "next_batch": 2,
    "augment": False,
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def worker(media, celery_worker):
    """celery_worker (transactional database) with this test's own media folder."""
    return celery_worker


def phantom_subject(project, label: str, seed: int, n: int, accepted: bool) -> list[Slice]:
    from mlcore.phantom import generate_subject

    subject = generate_subject(seed, n_slices=n, size=(SIZE, SIZE))
    sub = Subject.objects.create(project=project, label=label)
    ses = Session.objects.create(subject=sub, label="E01")
    series = Series.objects.create(
        session=ses,
        modality="T2w",
        source_format=Series.Format.SYNTHETIC,
        shape=[n, SIZE, SIZE],
        spacing=[4.0, 1.0, 1.0],
        content_hash=f"phantom-{label}",
    )
    made = []
    for index in range(n):
        image = subject.t2[index].astype(np.float32)
        path = save_array(f"slices/{series.pk}/{index}_T2w.npy", image)
        slice_ = Slice.objects.create(
            series=series,
            index=index,
            height=SIZE,
            width=SIZE,
            channels={"T2w": path},
            stats={"T2w": channel_stats(image)},
        )
        if accepted:
            save_imported_mask(slice_, subject.masks[index], {"source": "phantom"})
            Slice.objects.filter(pk=slice_.pk).update(state=SliceState.ACCEPTED)
        made.append(Slice.objects.get(pk=slice_.pk))
    return made


def explain(job_id: int, worker) -> str:
    """Children of a round's job and the worker log tail, for a failure message."""
    children = [
        (j.kind, j.params.get("arch"), j.state, j.message, j.error[-300:])
        for j in Job.objects.filter(parent=job_id)
    ]
    parent = Job.objects.get(pk=job_id)
    return f"round job: {parent.state} {parent.message}\n{children}\n{worker.log_path.read_text()[-3000:]}"


def run_round(client, worker, timeout: float = 180.0) -> dict:
    response = client.post("/api/rounds/", SMALL, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    try:
        done = wait_for_job(body["job"], timeout=timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{explain(body['job'], worker)}") from None
    assert done.state == "succeeded", explain(done.pk, worker)
    return client.get(f"/api/rounds/{body['id']}/").json()


def test_two_rounds_train_promote_prelabel_and_rank_without_touching_human_work(
    worker, project, users, client_for
):
    for n, label in enumerate(["S01", "S02", "S03"]):
        phantom_subject(project, label, seed=n, n=2, accepted=True)
    pool = phantom_subject(project, "S09", seed=9, n=4, accepted=False)
    mia = client_for("mia")

    first = run_round(mia, worker)
    assert [v["architecture"] for v in first["versions"]] == ["UD", "FCN8"]
    assert all(len(v["fold_iou"]) == 2 and len(v["fold_iou"][0]) == 12 for v in first["versions"])
    assert all(len(v["weights"]) == 2 for v in first["versions"])
    assert first["gate"]["promote"] is True and first["gate"]["reason"] == "no live model yet"
    live = ModelVersion.objects.get(status="live")
    assert live.pk == first["gate"]["best"]
    ranked = Slice.objects.filter(pk__in=[s.pk for s in pool]).order_by("rank")
    assert sorted(s.rank for s in ranked) == [1, 2, 3, 4]
    assert all(s.state == "prelabelled" and s.prelabel_revision.source == "model" for s in ranked)
    assert all(s.prelabel_revision.meta["model_version"] == live.pk for s in ranked)
    # Each version's CV chose its post-processing; the pre-labels got the live version's.
    for version in ModelVersion.objects.all():
        decision = version.report["postprocess"]
        assert set(decision["mean_iou_fg"]) == {"none", "largest_foreground"}
        assert version.config["postprocess"] == decision["chosen"] in {"none", "largest_foreground"}
    assert all(s.prelabel_revision.meta["postprocess"] == live.config["postprocess"] for s in ranked)

    # An annotator corrects one pre-label before round 2; more subjects get accepted.
    human_slice = ranked[0]
    labels = np.zeros((SIZE, SIZE), np.uint8)
    labels[10:30, 10:30] = 1
    png = encode_mask(labels, list(project.classes.order_by("index").values_list("colour", flat=True)))
    saved = save_human_mask(
        slice_id=human_slice.pk,
        user=users["ada"],
        png=png,
        base_revision_id=human_slice.prelabel_revision_id,
        meta={"edit_seconds": 42},
    )
    phantom_subject(project, "S04", seed=4, n=2, accepted=True)

    second = run_round(mia, worker)
    assert second["number"] == 2 and second["num_slices"] == 8
    assert ModelVersion.objects.count() == 4
    assert ModelVersion.objects.filter(status="live").count() == 1
    assert "live_mean_iou" in second["gate"]  # the old live model was scored on the new folds
    human_slice.refresh_from_db()
    assert human_slice.head_revision_id == saved.revision.pk
    assert human_slice.head_revision.source == MaskRevision.Source.HUMAN
    assert human_slice.rank is None  # in progress: no longer a candidate
    others = Slice.objects.filter(pk__in=[s.pk for s in pool]).exclude(pk=human_slice.pk)
    assert sorted(s.rank for s in others) == [1, 2, 3]

    board = mia.get(f"/api/dashboard/?project={project.slug}").json()
    assert [p["labelled"] for p in board["learning_curve"]] == [6, 8]
    assert [t["round"] for t in board["tables"]] == [2, 1]
    table = mia.get(f"/api/rounds/{second['id']}/report/").json()
    assert [r["class"] for r in table["rows"]][:2] == ["background", "vertebrae"]
    assert set(table["architectures"]) == {"UD", "FCN8"} and table["best"] in {"UD", "FCN8"}
    assert set(table["postprocess"]) == {"UD", "FCN8"}
    page = Client()
    page.force_login(users["mia"])
    assert "pre-label post-processing" in page.get(f"/rounds/{second['id']}/").content.decode()
    effort = [r for r in board["effort"] if r["version"] == live.pk]
    assert effort and effort[0]["slices"] == 1 and 0 < effort[0]["changed_share"] <= 1
    assert effort[0]["edit_seconds_per_slice"] == 42
    assert board["promotions"][-1]["reason"] == "gate"


def test_cancelling_a_round_stops_training_and_a_failing_job_shows_its_error(worker, project, client_for):
    slices = []
    for n, label in enumerate(["S01", "S02"]):
        slices += phantom_subject(project, label, seed=n, n=2, accepted=True)
    mia = client_for("mia")

    # A slice whose image vanished from storage: the training job fails and says why.
    from django.core.files.storage import default_storage

    default_storage.delete(slices[0].channels["T2w"])
    failing = mia.post("/api/rounds/", {**SMALL, "architectures": ["UD"]}, format="json").json()
    done = wait_for_job(failing["job"], timeout=240)
    assert done.state == "failed" and "no architecture finished" in done.message
    fold_job = Job.objects.filter(parent=done, kind="train_fold").first()
    assert fold_job.state == "failed" and fold_job.error and fold_job.message

    default_storage.save(slices[0].channels["T2w"], default_storage.open(slices[1].channels["T2w"]))
    long = mia.post("/api/rounds/", {**SMALL, "architectures": ["UD"], "epochs": 500}, format="json").json()
    first_job = Job.objects.filter(parent=long["job"], kind="train_fold").order_by("id").first()
    wait_for_job(first_job.pk, states=("running",), timeout=120)
    import time

    deadline = time.monotonic() + 120
    while "epoch" not in Job.objects.get(pk=first_job.pk).result and time.monotonic() < deadline:
        time.sleep(0.2)
    assert mia.post(f"/api/rounds/{long['id']}/cancel/").status_code == 200
    stopped = wait_for_job(first_job.pk, timeout=60)
    assert stopped.state == "cancelled" and stopped.result["epoch"] < 500
    assert wait_for_job(long["job"], timeout=60).state == "cancelled"
    assert not ModelVersion.objects.filter(training_round_id=long["id"]).exists()


def test_a_final_model_on_every_subject_pre_labels_and_a_model_below_the_floor_is_not_promoted(
    worker, project, client_for, client, users
):
    for n, label in enumerate(["S01", "S02", "S03"]):
        phantom_subject(project, label, seed=n, n=2, accepted=True)
    pool = phantom_subject(project, "S09", seed=9, n=2, accepted=False)
    mia = client_for("mia")
    launched = mia.post(
        "/api/rounds/", {**SMALL, "architectures": ["UD"], "final_model": True}, format="json"
    )
    assert launched.status_code == 201, launched.content
    done = wait_for_job(launched.json()["job"], timeout=180)
    assert done.state == "succeeded", explain(done.pk, worker)
    folds = sorted(j.params["fold"] for j in Job.objects.filter(parent=done.pk, kind="train_fold"))
    assert folds == [-1, 0, 1]  # two CV folds and the final model on every subject
    live = ModelVersion.objects.get(status="live")
    assert live.config["final_weights"].endswith("/foldall.pt") and len(live.weights) == 2
    for slice_ in Slice.objects.filter(pk__in=[s.pk for s in pool]):
        assert slice_.prelabel_revision.meta["model_version"] == live.pk

    # An impossible floor: the candidate is refused, the live model stays, and the round says why.
    strict = mia.post("/api/rounds/", {**SMALL, "architectures": ["UD"], "promotion_floor": 1}, format="json")
    done = wait_for_job(strict.json()["job"], timeout=180)
    detail = mia.get(f"/api/rounds/{strict.json()['id']}/").json()
    assert detail["gate"]["promote"] is False and "quality floor of 100 %" in detail["gate"]["reason"]
    assert ModelVersion.objects.get(status="live").pk == live.pk
    client.force_login(users["mia"])
    page = client.get(f"/rounds/{strict.json()['id']}/")
    assert "quality floor of 100 %" in page.content.decode()
