"""Launching a training round through the API: who may, what it freezes, and clear 400s."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.models import Job, Slice, SliceState, TrainingRound
from annotator.rounds.training import train_config
from annotator.rounds.training_set import assign_folds
from annotator.services.masks import save_imported_mask

SMALL = {
    "architectures": ["UD", "FCN8"],
    "folds": 2,
    "epochs": 1,
    "steps_per_epoch": 2,
    "filters": 4,
    "batch_size": 2,
    "promotion_floor": 0,
}


@pytest.fixture
def accepted(make_slices):
    """accepted(subjects=["S01", ...], per_subject=2) -> accepted slices with an imported head mask."""

    def make(subjects: list[str], per_subject: int = 2) -> list[Slice]:
        made = []
        for label in subjects:
            for slice_ in make_slices(per_subject, height=16, width=16, subject=label):
                labels = np.zeros((16, 16), np.uint8)
                labels[4:12, 4:12] = 1
                save_imported_mask(slice_, labels, {})
                Slice.objects.filter(pk=slice_.pk).update(state=SliceState.ACCEPTED)
                made.append(Slice.objects.get(pk=slice_.pk))
        return made

    return make


def test_ml_staff_launch_a_round_that_freezes_accepted_head_revisions(client_for, accepted, make_slices):
    slices = accepted(["S01", "S02", "S03"])
    make_slices(2, height=16, width=16, subject="S04")  # unlabelled: not part of the training set
    response = client_for("mia").post("/api/rounds/", SMALL, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == 1 and body["state"] == "running"
    assert sorted(body["revision_ids"]) == sorted(s.head_revision_id for s in slices)
    assert body["num_subjects"] == 3 and len(body["folds"]) == 2
    assert sorted(sum(body["folds"], [])) == ["S01", "S02", "S03"]
    train_jobs = Job.objects.filter(parent=body["job"], kind="train_fold")
    assert sorted((j.params["arch"], j.params["fold"]) for j in train_jobs) == [
        ("FCN8", 0),
        ("FCN8", 1),
        ("UD", 0),
        ("UD", 1),
    ]
    assert {j.queue for j in train_jobs} == {"gpu"}


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_annotators_and_supervisors_cannot_launch_a_round(client_for, accepted, who):
    accepted(["S01", "S02"])
    response = client_for(who).post("/api/rounds/", SMALL, format="json")
    assert response.status_code == 403
    assert TrainingRound.objects.count() == 0


def test_fewer_subjects_than_folds_is_a_400_naming_both_numbers(client_for, accepted):
    accepted(["S01", "S02"])
    response = client_for("mia").post("/api/rounds/", {**SMALL, "folds": 3}, format="json")
    assert response.status_code == 400
    assert "2 subjects" in response.json()["detail"] and "3 folds" in response.json()["detail"]
    assert Job.objects.count() == 0


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"architectures": ["UNetXXL"]}, "architectures"),
        ({"strategy": "vibes"}, "strategy"),
        ({"epochs": "many"}, "epochs"),
        ({"folds": 1}, "folds"),
        ({"channels": "T3w"}, "T3w"),
        ({"augmentation": "heavy"}, "augmentation"),
    ],
)
def test_bad_launch_options_are_400s_naming_the_problem(client_for, accepted, bad, field):
    accepted(["S01", "S02"])
    response = client_for("mia").post("/api/rounds/", {**SMALL, **bad}, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_a_round_may_train_with_the_multisite_augmentation_chosen_in_the_form(
    client, users, client_for, accepted
):
    accepted(["S01", "S02", "S03"])
    client.force_login(users["mia"])
    form = client.get("/rounds/new").content.decode()
    assert '<select name="augmentation"' in form and "<option>multisite</option>" in form
    response = client_for("mia").post("/api/rounds/", {**SMALL, "augmentation": "multisite"}, format="json")
    assert response.status_code == 201, response.content
    rnd = TrainingRound.objects.get(pk=response.json()["id"])
    page = client.get(f"/rounds/{rnd.pk}/").content.decode()
    assert 'id="round-augmentation">multisite<' in page  # the round's page says how it trained
    cfg = train_config(rnd, "UD")
    assert cfg.augmentation == "multisite" and cfg.augment_config().p_curve > 0
    default = client_for("mia").post("/api/rounds/", SMALL, format="json")
    assert default.status_code == 201, default.content
    plain = train_config(TrainingRound.objects.get(pk=default.json()["id"]), "UD")
    plain_page = client.get(f"/rounds/{default.json()['id']}/").content.decode()
    assert 'id="round-augmentation">nnunet<' in plain_page
    assert plain.augmentation == "nnunet" and plain.augment_config().p_curve == 0


def test_the_split_is_saved_once_and_new_subjects_never_move_old_ones(client_for, accepted):
    accepted(["S01", "S02", "S03"])
    first = client_for("mia").post("/api/rounds/", SMALL, format="json").json()
    accepted(["S04", "S05"])
    second = client_for("mia").post("/api/rounds/", SMALL, format="json").json()
    before = {s: f for f, members in enumerate(first["folds"]) for s in members}
    after = {s: f for f, members in enumerate(second["folds"]) for s in members}
    assert all(after[s] == fold for s, fold in before.items())
    assert set(after) == {"S01", "S02", "S03", "S04", "S05"}
    assert second["number"] == 2 and second["num_slices"] == 10


def test_new_subjects_fill_the_smallest_fold_deterministically():
    old = {"A": 0, "B": 0, "C": 1}
    one = assign_folds(old, ["A", "B", "C", "D", "E"], k=3, seed=7)
    two = assign_folds(old, ["E", "D", "C", "B", "A"], k=3, seed=7)
    assert one == two
    assert {s: one[s] for s in old} == old
    assert sorted(one.values()).count(2) == 1  # the empty fold got a subject first


def test_the_rounds_list_and_detail_are_readable_by_supervisors_not_annotators(client_for, accepted):
    accepted(["S01", "S02"])
    rnd = client_for("mia").post("/api/rounds/", SMALL, format="json").json()
    assert client_for("sam").get("/api/rounds/").json()["count"] == 1
    detail = client_for("sam").get(f"/api/rounds/{rnd['id']}/").json()
    assert len(detail["jobs"]) == 4 and detail["jobs"][0]["state"] == "queued"
    assert client_for("alice").get("/api/rounds/").status_code == 403
    assert client_for("sam").get("/api/rounds/999/").status_code == 404


def test_cancelling_a_round_asks_every_training_job_to_stop(client_for, accepted):
    accepted(["S01", "S02"])
    rnd = client_for("mia").post("/api/rounds/", SMALL, format="json").json()
    assert client_for("sam").post(f"/api/rounds/{rnd['id']}/cancel/").status_code == 403
    response = client_for("mia").post(f"/api/rounds/{rnd['id']}/cancel/")
    assert response.status_code == 200
    assert all(j.cancel_requested for j in Job.objects.filter(parent=rnd["job"]))


def test_a_cancelled_rounds_progress_bar_shows_how_far_training_got_not_full(client_for, accepted):
    accepted(["S01", "S02"])
    rnd = client_for("mia").post("/api/rounds/", SMALL, format="json").json()
    client_for("mia").post(f"/api/rounds/{rnd['id']}/cancel/")
    train = Job.objects.filter(parent=rnd["job"], kind="train_fold").order_by("id")
    Job.objects.filter(pk__in=[j.pk for j in train[:2]]).update(state="succeeded", progress=1.0)
    Job.objects.filter(pk__in=[j.pk for j in train[2:]]).update(state="cancelled", progress=0.3)
    detail = client_for("mia").get(f"/api/rounds/{rnd['id']}/").json()
    assert detail["progress"] == pytest.approx((1 + 1 + 0.3 + 0.3) / 4)


def test_a_round_whose_workers_died_is_reaped_and_finalized_by_the_job_watch(client_for, accepted):
    from django.utils import timezone

    from annotator.tasks.watch import watch_once

    accepted(["S01", "S02"])
    rnd = client_for("mia").post("/api/rounds/", SMALL, format="json").json()
    long_ago = timezone.now().replace(year=2000)
    Job.objects.filter(parent=rnd["job"]).update(state="running", heartbeat_at=long_ago)
    before = client_for("sam").get(f"/api/rounds/{rnd['id']}/").json()
    assert {j["state"] for j in before["jobs"]} == {"running"}, "a read changes nothing"
    watch_once()  # what every worker's timer runs
    detail = client_for("sam").get(f"/api/rounds/{rnd['id']}/").json()
    train = [j for j in detail["jobs"] if j["kind"] == "train_fold"]
    assert train and all(j["state"] == "failed" for j in train)
    assert [j["state"] for j in detail["jobs"] if j["kind"] == "finalize_round"] == ["queued"]
