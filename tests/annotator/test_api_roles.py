"""Every core endpoint, for every role: who is allowed and who is refused (and how)."""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotator.models import Assignment, Job
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_human_mask

ROLES = ["alice", "bob", "mia", "sam", "ada", "anon"]
DENIED = (401, 403)
PUBLIC = {"schema"}  # the OpenAPI document is public, like the docs page


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The role users are made with real password hashing otherwise (seconds per test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(make_slices, users, project):
    """s1 assigned to alice with one saved revision, s2 unassigned, a queued and a failed job of bob's."""
    s1, s2 = make_slices(2)
    Assignment.objects.create(slice=s1, annotator=users["alice"], assigned_by=users["sam"])
    png = encode_mask(np.zeros((32, 40), dtype=np.uint8))
    rev = save_human_mask(slice_id=s1.pk, user=users["alice"], png=png, base_revision_id=None).revision
    queued = Job.objects.create(kind="test", created_by=users["bob"])
    failed = Job.objects.create(
        kind="test", created_by=users["bob"], state=Job.State.FAILED, params={"_task": "annotator.tasks.none"}
    )
    return {
        "s1": s1.pk,
        "s2": s2.pk,
        "rev": rev.pk,
        "queued": queued.pk,
        "failed": failed.pk,
        "project": project.pk,
        "alice": users["alice"].pk,
        "series": s1.series_id,
    }


def mask_body() -> bytes:
    return encode_mask(np.ones((32, 40), dtype=np.uint8))


# (name, method, url, body, expected status for alice, bob, mia, sam, ada); anonymous is always refused.
TABLE = [
    ("me", "get", "/api/me/", None, [200, 200, 200, 200, 200]),
    ("projects", "get", "/api/projects/", None, [200, 200, 200, 200, 200]),
    ("project", "get", "/api/projects/{project}/", None, [200, 200, 200, 200, 200]),
    (
        "create project",
        "post",
        "/api/projects/",
        {"slug": "mets", "name": "Metastases", "classes": [{"name": "background"}, {"name": "lesion"}]},
        [403, 403, 403, 403, 201],
    ),
    ("subjects", "get", "/api/subjects/", None, [200, 200, 200, 200, 200]),
    ("series", "get", "/api/series/", None, [200, 200, 200, 200, 200]),
    ("slices", "get", "/api/slices/", None, [200, 200, 200, 200, 200]),
    ("slice", "get", "/api/slices/{s1}/", None, [200, 404, 200, 200, 200]),
    ("image", "get", "/api/slices/{s1}/image/", None, [200, 404, 200, 200, 200]),
    ("image16", "get", "/api/slices/{s1}/image/?depth=16", None, [200, 404, 200, 200, 200]),
    ("mask", "get", "/api/slices/{s1}/mask/", None, [200, 404, 200, 200, 200]),
    ("save mask", "put", "/api/slices/{s1}/mask/", "png", [201, 403, 403, 201, 201]),
    ("submit", "post", "/api/slices/{s1}/submit/", None, [200, 403, 403, 200, 200]),
    ("history", "get", "/api/slices/{s1}/revisions/", None, [200, 404, 200, 200, 200]),
    ("revision", "get", "/api/revisions/{rev}/", None, [200, 404, 200, 200, 200]),
    ("next slice", "post", "/api/slices/next/", None, [200, 200, 403, 403, 200]),
    ("assignments", "get", "/api/assignments/", None, [200, 200, 200, 200, 200]),
    (
        "assign",
        "post",
        "/api/assignments/",
        {"annotator": "{alice}", "slices": ["{s2}"]},
        [403, 403, 403, 201, 201],
    ),
    ("jobs", "get", "/api/jobs/", None, [200, 200, 200, 200, 200]),
    ("job", "get", "/api/jobs/{queued}/", None, [404, 200, 200, 200, 200]),
    ("cancel job", "post", "/api/jobs/{queued}/cancel/", None, [404, 200, 200, 403, 200]),
    ("retry job", "post", "/api/jobs/{failed}/retry/", None, [404, 403, 200, 403, 200]),
    ("import", "post", "/api/imports/", {}, [403, 403, 403, 400, 400]),
    ("schema", "get", "/api/schema/", None, [200, 200, 200, 200, 200]),
]


def fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "url", "body", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_each_role_is_allowed_or_refused_as_the_table_says(
    world, client_for, role, name, method, url, body, expected
):
    client = APIClient() if role == "anon" else client_for(role)
    target = url.format(**world)
    if body == "png":
        response = client.put(
            target, data=mask_body(), content_type="image/png", HTTP_X_BASE_REVISION=str(world["rev"])
        )
    elif body is not None:
        kind = "multipart" if target == "/api/imports/" else "json"
        response = getattr(client, method)(target, fill(body, world), format=kind)
    else:
        response = getattr(client, method)(target)
    if role == "anon" and name in PUBLIC:
        assert response.status_code == 200
        return
    if role == "anon":
        assert response.status_code in DENIED, (name, response.status_code)
        return
    want = expected[ROLES.index(role)]
    assert response.status_code == want, (name, role, response.status_code, response.content[:300])
    if want >= 400:
        assert "detail" in response.json()


def test_annotators_list_only_their_own_slices(world, client_for):
    assert [s["id"] for s in client_for("alice").get("/api/slices/").json()["results"]] == [world["s1"]]
    assert client_for("bob").get("/api/slices/").json()["count"] == 0
    assert client_for("bob").get("/api/subjects/").json()["count"] == 0
    assert client_for("mia").get("/api/slices/").json()["count"] == 2
