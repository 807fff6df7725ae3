"""The project management pages (/projects/): site admins create a project, edit its schema and
training channels, and add members; nobody else may open them."""

from __future__ import annotations

import numpy as np
import pytest
from django.test import Client

from annotator.models import LabelClass, Project, ProjectMembership
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_human_mask


def page(users, name: str) -> Client:
    client = Client()
    client.force_login(users[name])
    return client


CREATE = {
    "slug": "mets",
    "name": "Spinal metastases",
    "classes": "background\nlytic lesion\nsclerotic lesion\n",
    "lesion_classes": "lytic lesion, sclerotic lesion",
    "channels": "STIR, T1c",
    "members_only": "on",
}


def test_only_site_admins_open_the_project_pages(users, project):
    for name in ("alice", "mia", "sam"):
        assert page(users, name).get("/projects/").status_code == 403
        assert page(users, name).post("/projects/", CREATE).status_code == 403
        assert page(users, name).get(f"/projects/{project.slug}/").status_code == 403
    assert not Project.objects.filter(slug="mets").exists()
    assert Client().get("/projects/").status_code == 302  # to the login page


def test_an_admin_creates_a_lesion_project_with_two_channels_and_a_member(users, project):
    ada = page(users, "ada")
    listing = ada.get("/projects/").content.decode()
    assert 'data-slug="lumbar"' in listing
    created = ada.post("/projects/", CREATE)
    assert created.status_code == 302 and created["Location"] == "/projects/mets/"
    mets = Project.objects.get(slug="mets")
    assert mets.members_only and mets.channels == ["STIR", "T1c"]
    assert [(c.name, c.is_lesion) for c in mets.classes.order_by("index")] == [
        ("background", False),
        ("lytic lesion", True),
        ("sclerotic lesion", True),
    ]
    html = ada.get("/projects/mets/").content.decode()
    assert 'value="STIR" checked' in html and "(not imported yet)" in html
    added = ada.post("/projects/mets/", {"action": "add_member", "username": "bob", "role": "annotator"})
    assert added.status_code == 302
    assert ProjectMembership.objects.filter(project=mets, user=users["bob"], role="annotator").exists()
    assert 'data-user="bob"' in ada.get("/projects/mets/").content.decode()
    # bob's global annotator role gave him nothing here before; now the API lists the project.
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(users["bob"])
    assert "mets" in [p["slug"] for p in api.get("/api/projects/").json()["results"]]
    bad = ada.post("/projects/mets/", {"action": "remove_member", "username": "bob", "role": "boss"})
    assert bad.status_code == 400 and "role must be one of" in bad.content.decode()
    bad = ada.post("/projects/mets/", {"action": "add_member", "username": "nobody", "role": "annotator"})
    assert bad.status_code == 400 and "there is no user" in bad.content.decode()
    ada.post("/projects/mets/", {"action": "remove_member", "username": "bob"})
    assert not ProjectMembership.objects.filter(project=mets, user=users["bob"]).exists()


def test_bad_project_input_is_refused_with_the_reason_and_nothing_is_saved(users, project):
    ada = page(users, "ada")
    for bad, reason in (
        ({**CREATE, "classes": "background"}, "2..256 classes"),
        ({**CREATE, "classes": "background\nlesion\nlesion"}, "unique"),
        ({**CREATE, "slug": "lumbar"}, "already exists"),
        ({**CREATE, "channels": "ST IR"}, "channel names"),
        ({**CREATE, "lesion_classes": "tumour"}, "lesion classes must be"),
        ({**CREATE, "classes": "background\n" + "x" * 101}, "1..100 characters"),
        ({**CREATE, "name": "n" * 201}, "1..200 characters"),
    ):
        response = ada.post("/projects/", bad)
        assert response.status_code == 400 and reason in response.content.decode(), reason
    assert list(Project.objects.values_list("slug", flat=True)) == ["lumbar"]


@pytest.fixture
def mets_with_a_mask(users, make_slices):
    ada = page(users, "ada")
    ada.post("/projects/", {**CREATE, "members_only": ""})
    mets = Project.objects.get(slug="mets")
    (slice_,) = make_slices(1, proj=mets)
    labels = np.zeros((32, 40), dtype=np.uint8)
    labels[5:10, 5:10] = 2
    save_human_mask(slice_id=slice_.pk, user=users["ada"], png=encode_mask(labels), base_revision_id=None)
    return mets


def schema_form(mets: Project, **changes: str) -> dict[str, str]:
    form = {"action": "schema"}
    for i, c in enumerate(mets.classes.order_by("index")):
        form.update({f"name_{i}": c.name, f"colour_{i}": c.colour, f"key_{i}": c.key})
        if c.is_lesion:
            form[f"lesion_{i}"] = "on"
    form.update(changes)
    return form


def test_once_masks_exist_classes_are_renamed_and_added_but_never_renumbered(users, mets_with_a_mask):
    ada, mets = page(users, "ada"), mets_with_a_mask
    saved = ada.post(
        "/projects/mets/", schema_form(mets, name_1="osteolytic lesion", new_name="fracture", new_key="f")
    )
    assert saved.status_code == 302
    assert list(mets.classes.order_by("index").values_list("index", "name", "is_lesion")) == [
        (0, "background", False),
        (1, "osteolytic lesion", True),
        (2, "sclerotic lesion", True),
        (3, "fracture", False),
    ]
    refused = ada.post("/projects/mets/", schema_form(mets, remove_1="on"))
    assert refused.status_code == 400 and "cannot be removed or renumbered" in refused.content.decode()
    assert mets.classes.count() == 4
    swapped = ada.post(
        "/projects/mets/", schema_form(mets, name_1="sclerotic lesion", name_2="osteolytic lesion")
    )
    assert swapped.status_code == 302  # names may trade places; the pixel values stay
    assert LabelClass.objects.get(project=mets, index=2).name == "osteolytic lesion"


def test_settings_choose_training_channels_from_the_sequences_present(users, mets_with_a_mask):
    ada, mets = page(users, "ada"), mets_with_a_mask
    html = ada.get("/projects/mets/").content.decode()
    assert 'value="T2w"' in html  # the imported sequence is offered
    saved = ada.post(
        "/projects/mets/",
        {"action": "settings", "name": "Mets", "channel": ["T2w"], "extra_channels": "STIR"},
    )
    assert saved.status_code == 302
    mets.refresh_from_db()
    assert mets.channels == ["T2w", "STIR"] and mets.name == "Mets" and not mets.members_only
    bad = ada.post("/projects/mets/", {"action": "settings", "name": "", "channel": ["T2w"]})
    assert bad.status_code == 400 and "needs a name" in bad.content.decode()
