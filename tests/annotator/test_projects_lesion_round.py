"""A metastasis project end to end on the synthetic lesion phantom: two channels (STIR, T1w) drive
import matching, the editor's channel order and the training inputs; a round by a real worker reports
lesion metrics next to the pixel IoU; a slice lacking a channel refuses the round."""

from __future__ import annotations

import pytest
from django.test import Client

from annotator.imports.service import import_path
from annotator.models import Job, ProjectMembership, Slice, SliceState
from annotator.services.projects import create_project
from mlcore.phantom_lesions import LESION_CLASSES, write_lesion_mids
from tests.conftest import wait_for_job

TINY = {
    "architectures": ["UD"],
    "folds": 2,
    "epochs": 1,
    "steps_per_epoch": 3,
    "filters": 4,
    "batch_size": 4,
    "promotion_floor": 0,
    "next_batch": 2,
    "augment": False,
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def mets(users, media, tmp_path):
    project = create_project(
        "mets",
        "Spinal metastases (phantom)",
        list(LESION_CLASSES),
        members_only=True,
        channels=["STIR", "T1w"],
        lesion_classes=["lytic lesion", "sclerotic lesion"],
    )
    ProjectMembership.objects.create(project=project, user=users["mia"], role="ml_staff")
    write_lesion_mids(tmp_path / "mids", n_subjects=3, n_slices=3, size=(64, 64), seed=1)
    import_path(tmp_path / "mids", project, kind="mids")
    return project


def test_import_stacks_the_project_channels_on_one_slice_in_the_project_order(mets, users, client_for):
    slices = Slice.objects.filter(series__session__subject__project=mets)
    assert slices.count() == 9  # the T1w series is resampled onto the STIR one: no slices of its own
    assert all(set(s.channels) == {"STIR", "T1w"} for s in slices)
    accepted = slices.filter(state=SliceState.ACCEPTED)
    assert accepted.exists() and all(s.head_revision.labelled_pixels[1:] for s in accepted)
    ProjectMembership.objects.create(project=mets, user=users["sam"], role="supervisor")
    detail = client_for("sam").get(f"/api/slices/{slices.first().pk}/").json()
    assert detail["channels"] == ["STIR", "T1w"]  # the editor's channel switch, STIR first


def test_a_round_refuses_accepted_slices_lacking_a_channel_and_names_them(mets, client_for):
    lacking = Slice.objects.filter(series__session__subject__project=mets, state=SliceState.ACCEPTED).first()
    Slice.objects.filter(pk=lacking.pk).update(channels={"STIR": lacking.channels["STIR"]})
    response = client_for("mia").post("/api/rounds/", {**TINY, "project": "mets"}, format="json")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "STIR+T1w" in detail and "lack T1w" in detail and str(lacking.pk) in detail
    assert Job.objects.filter(kind="round").count() == 0
    other = client_for("mia").post(
        "/api/rounds/", {**TINY, "project": "mets", "channels": "STIR+"}, format="json"
    )
    assert other.status_code == 400 and "channels" in other.json()["detail"]


@pytest.mark.worker
@pytest.mark.slow
def test_a_lesion_round_trains_on_both_channels_and_reports_lesion_metrics(
    mets, celery_worker, client_for, users
):
    mia = client_for("mia")
    launched = mia.post("/api/rounds/", {**TINY, "project": "mets"}, format="json")
    assert launched.status_code == 201, launched.content
    body = launched.json()
    done = wait_for_job(body["job"], timeout=240)
    assert done.state == "succeeded", (done.message, celery_worker.log_path.read_text()[-3000:])
    rnd = mia.get(f"/api/rounds/{body['id']}/").json()
    assert rnd["config"]["channels"] == "STIR+T1w"
    version = rnd["versions"][0]
    lesions = version["report"]["lesions"]
    assert set(lesions["classes"]) == {"1", "2"} and lesions["images"] > 0
    assert lesions["volumes"] == 3  # every validation volume of the 2 folds, counted once
    for row in lesions["classes"].values():
        assert 0 <= row["detected"] <= row["lesions"] and row["false_positives"] >= 0
        assert row["fp_per_volume"] == pytest.approx(row["false_positives"] / 3)
    table = mia.get(f"/api/rounds/{body['id']}/report/").json()
    assert [r["class"] for r in table["lesions"]] == ["lytic lesion", "sclerotic lesion"]
    browser = Client()
    browser.force_login(users["mia"])
    html = browser.get(f"/rounds/{body['id']}/").content.decode()
    assert "lesion Dice" in html and "lytic lesion" in html and "FP/volume" in html
    assert "lesion Dice" in browser.get("/rounds/?project=mets").content.decode()  # the dashboard
    # The live model pre-labels the unlabelled slices of this project only.
    prelabelled = Slice.objects.filter(series__session__subject__project=mets, state=SliceState.PRELABELLED)
    unlabelled_before = (
        9 - Slice.objects.filter(series__session__subject__project=mets, state="accepted").count()
    )
    assert prelabelled.count() == unlabelled_before
