"""Project management over the API (site admins): PATCH settings and schema, with the same rules as
the pages; every bad value is a 400 naming it and changes nothing."""

from __future__ import annotations

import numpy as np

from annotator.models import Project
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_human_mask
from annotator.services.projects import create_project

CLASSES = [{"name": "background"}, {"name": "lytic lesion"}, {"name": "sclerotic lesion"}]


def test_an_admin_creates_and_patches_a_project(client_for, users, db):
    ada = client_for("ada")
    made = ada.post(
        "/api/projects/", {"slug": "mets", "name": "Metastases", "classes": CLASSES}, format="json"
    )
    assert made.status_code == 201
    pk = made.json()["id"]
    patched = ada.patch(
        f"/api/projects/{pk}/",
        {
            "channels": ["STIR", "T1c"],
            "members_only": True,
            "classes": [
                {"name": "background"},
                {"name": "lytic lesion", "is_lesion": True, "colour": "#ff0000", "key": "l"},
                {"name": "sclerotic lesion", "is_lesion": True},
                {"name": "fracture"},
            ],
        },
        format="json",
    )
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert body["channels"] == ["STIR", "T1c"] and body["members_only"] is True
    assert [(c["index"], c["name"], c["is_lesion"]) for c in body["classes"]] == [
        (0, "background", False),
        (1, "lytic lesion", True),
        (2, "sclerotic lesion", True),
        (3, "fracture", False),
    ]
    assert body["classes"][1]["colour"] == "#ff0000" and body["classes"][1]["key"] == "l"
    # ada is a superuser: members-only projects stay visible to her; sam (global supervisor) loses it.
    assert client_for("sam").get(f"/api/projects/{pk}/").status_code == 404


def test_bad_patches_are_400s_that_change_nothing(client_for, users, make_slices):
    mets = create_project("mets", "Metastases", [c["name"] for c in CLASSES], channels=["STIR"])
    (slice_,) = make_slices(1, proj=mets)
    labels = np.zeros((32, 40), np.uint8)
    labels[3:8, 3:8] = 2
    save_human_mask(slice_id=slice_.pk, user=users["ada"], png=encode_mask(labels), base_revision_id=None)
    ada = client_for("ada")
    for bad, reason in (
        ({"channels": ["ST IR"]}, "channel names"),
        ({"channels": ["STIR", "STIR"]}, "twice"),
        ({"classes": [{"name": "background"}, {"name": "lytic lesion"}]}, "cannot be removed"),
        ({"classes": [{"name": "background"}, {"name": "a"}, {"name": "a"}]}, "unique"),
        ({"classes": [{"name": "background"}, {"name": "a", "key": "x"}, {"name": "b", "key": "x"}]}, "keys"),
        ({"classes": [{"name": "background"}, {"name": "a", "colour": "red"}, {"name": "b"}]}, "colour"),
        ({"name": ""}, "name"),
    ):
        response = ada.patch(f"/api/projects/{mets.pk}/", bad, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert reason in response.json()["detail"], (reason, response.json()["detail"])
    mets.refresh_from_db()
    assert mets.channels == ["STIR"] and mets.class_names() == [c["name"] for c in CLASSES]
    assert (
        client_for("mia").patch(f"/api/projects/{mets.pk}/", {"name": "x"}, format="json").status_code == 403
    )
    assert Project.objects.get(pk=mets.pk).name == "Metastases"
