"""The round page (/rounds/<id>/) as the server renders it, before rounds.js takes over."""

from __future__ import annotations

import numpy as np
from django.test import Client

from annotator.models import Job, Slice, SliceState
from annotator.services.masks import save_imported_mask


def test_the_round_page_shows_a_training_jobs_epoch_out_of_its_total(client_for, users, make_slices):
    for label in ("S01", "S02"):
        for slice_ in make_slices(2, height=16, width=16, subject=label):
            save_imported_mask(slice_, np.ones((16, 16), np.uint8), {})
            Slice.objects.filter(pk=slice_.pk).update(state=SliceState.ACCEPTED)
    mia = client_for("mia")
    rnd = mia.post(
        "/api/rounds/",
        {"architectures": ["UD"], "folds": 2, "epochs": 8, "steps_per_epoch": 2, "filters": 4},
        format="json",
    ).json()
    fold = Job.objects.filter(parent=rnd["job"], kind="train_fold").order_by("id").first()
    Job.objects.filter(pk=fold.pk).update(state="running", result={"epoch": 3, "epochs": 8, "loss": 0.5})

    browser = Client()
    browser.force_login(users["mia"])
    page = browser.get(f"/rounds/{rnd['id']}/").content.decode()

    assert "<td>3/8</td>" in page
