"""Per-project membership on every endpoint: an annotator (or supervisor, or ML staff member) of one
project sees nothing of another. Two projects: the default lumbar one (open: global role groups apply)
and a members-only metastasis project whose members hold no global role."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from annotator.models import Assignment, ProjectMembership
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_human_mask
from annotator.services.projects import create_project

# alice: global annotator; sam: global supervisor; mia: global ML staff (all three: lumbar only).
# lena, otto, max: annotator, supervisor and ML staff members of the metastasis project only.
USERS = ["alice", "sam", "mia", "lena", "otto", "max"]
MEMBERS = {"lena": "annotator", "otto": "supervisor", "max": "ml_staff"}


@pytest.fixture
def two_projects(make_slices, users, project):
    mets = create_project(
        "mets",
        "Metastases",
        ["background", "lytic lesion", "sclerotic lesion"],
        members_only=True,
        lesion_classes=["lytic lesion", "sclerotic lesion"],
    )
    for name, role in MEMBERS.items():
        member = User.objects.create_user(name, password=f"{name}-pass-123")
        ProjectMembership.objects.create(project=mets, user=member, role=role)
        users[name] = member
    l1, l2 = make_slices(2, subject="L01")
    m1, m2 = make_slices(2, subject="M01", proj=mets)
    Assignment.objects.create(slice=l1, annotator=users["alice"], assigned_by=users["sam"])
    Assignment.objects.create(slice=m1, annotator=users["lena"], assigned_by=users["otto"])
    png = encode_mask(np.zeros((32, 40), dtype=np.uint8))
    mrev = save_human_mask(slice_id=m1.pk, user=users["lena"], png=png, base_revision_id=None).revision
    return {
        "lumbar": project.pk,
        "mets": mets.pk,
        "l1": l1.pk,
        "m1": m1.pk,
        "m2": m2.pk,
        "mrev": mrev.pk,
        "mseries": m1.series_id,
        "msubject": m1.series.session.subject_id,
        "lena": users["lena"].pk,
    }


@pytest.fixture
def client_of(users):
    def make(name: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(users[name])
        return client

    return make


OTHERS_404 = [404, 404, 404]  # alice, sam, mia: roles only in the lumbar project

# (name, method, url, body, expected for alice, sam, mia, lena, otto, max)
TABLE = [
    ("project", "get", "/api/projects/{mets}/", None, [*OTHERS_404, 200, 200, 200]),
    ("lumbar project", "get", "/api/projects/{lumbar}/", None, [200, 200, 200, 404, 404, 404]),
    ("members", "get", "/api/projects/{mets}/members/", None, [*OTHERS_404, 403, 200, 403]),
    ("patch project", "patch", "/api/projects/{mets}/", {"name": "x"}, [403, 403, 403, 403, 403, 403]),
    ("subject", "get", "/api/subjects/{msubject}/", None, [*OTHERS_404, 200, 200, 200]),
    ("series", "get", "/api/series/{mseries}/", None, [*OTHERS_404, 200, 200, 200]),
    ("slice", "get", "/api/slices/{m1}/", None, [*OTHERS_404, 200, 200, 200]),
    ("unassigned slice", "get", "/api/slices/{m2}/", None, [*OTHERS_404, 404, 200, 200]),
    ("lumbar slice", "get", "/api/slices/{l1}/", None, [200, 200, 200, 404, 404, 404]),
    ("image", "get", "/api/slices/{m1}/image/", None, [*OTHERS_404, 200, 200, 200]),
    ("mask", "get", "/api/slices/{m1}/mask/", None, [*OTHERS_404, 200, 200, 200]),
    ("save mask", "put", "/api/slices/{m1}/mask/", "png", [*OTHERS_404, 201, 201, 403]),
    ("submit", "post", "/api/slices/{m1}/submit/", None, [*OTHERS_404, 200, 200, 403]),
    ("history", "get", "/api/slices/{m1}/revisions/", None, [*OTHERS_404, 200, 200, 200]),
    ("revision", "get", "/api/revisions/{mrev}/", None, [*OTHERS_404, 200, 200, 200]),
    ("next slice", "post", "/api/slices/next/", {"project": "{mets}"}, [404, 403, 403, 200, 403, 403]),
    (
        "assign",
        "post",
        "/api/assignments/",
        {"annotator": "{lena}", "slices": ["{m2}"]},
        [403, 404, 403, 403, 201, 403],
    ),
    ("import", "post", "/api/imports/", "zip", [403, 404, 403, 403, 400, 403]),
    ("rounds", "get", "/api/rounds/?project=mets", None, [403, 404, 404, 403, 200, 200]),
    ("launch round", "post", "/api/rounds/", {"project": "mets"}, [403, 403, 404, 403, 403, 400]),
    ("models", "get", "/api/models/?project=mets", None, [403, 404, 404, 403, 200, 200]),
    ("dashboard", "get", "/api/dashboard/?project=mets", None, [403, 404, 404, 403, 200, 200]),
    ("simulations", "get", "/api/simulations/?project=mets", None, [403, 404, 404, 403, 200, 200]),
    ("review queue", "get", "/api/review/queue/?project={mets}", None, [403, 404, 404, 403, 200, 200]),
    ("review", "post", "/api/slices/{m1}/review/", {"decision": "accept"}, [403, 404, 403, 403, 409, 403]),
    ("review history", "get", "/api/slices/{m1}/reviews/", None, [*OTHERS_404, 200, 200, 200]),
    ("review diff", "get", "/api/slices/{m1}/review-diff/", None, [*OTHERS_404, 200, 200, 200]),
    ("agreement", "get", "/api/agreement/?project=mets", None, [403, 404, 404, 403, 200, 200]),
    ("annotator stats", "get", "/api/annotator-stats/?project=mets", None, [403, 404, 404, 403, 200, 200]),
    (
        "double annotation",
        "post",
        "/api/double-annotation/",
        {"project": "mets", "annotator": "lena", "share": 0.5},
        [403, 404, 403, 403, 201, 403],
    ),
    ("gold", "post", "/api/slices/{m1}/gold/", {"from": "accepted_head"}, [403, 404, 403, 403, 409, 403]),
    (
        "export",
        "post",
        "/api/exports/",
        {"project": "{mets}", "format": "png", "state": "labelled"},
        [403, 404, 404, 403, 202, 202],
    ),
    ("slice measurements", "get", "/api/slices/{m1}/measurements/", None, [*OTHERS_404, 400, 400, 400]),
    ("series measurements", "get", "/api/series/{mseries}/measurements/", None, [*OTHERS_404, 400, 400, 400]),
]


def fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    return value


def junk_zip() -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "no images here")
    buffer.seek(0)
    buffer.name = "cases.zip"
    return buffer


@pytest.mark.parametrize("who", USERS)
@pytest.mark.parametrize(("name", "method", "url", "body", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_each_endpoint_keeps_a_project_to_its_members(
    two_projects, client_of, who, name, method, url, body, expected
):
    client = client_of(who)
    target = url.format(**two_projects)
    if body == "png":
        response = client.put(
            target,
            data=encode_mask(np.ones((32, 40), dtype=np.uint8)),
            content_type="image/png",
            HTTP_X_BASE_REVISION=str(two_projects["mrev"]),
        )
    elif body == "zip":
        response = client.post(
            target, {"file": junk_zip(), "project": two_projects["mets"]}, format="multipart"
        )
    elif body is not None:
        response = getattr(client, method)(target, fill(body, two_projects), format="json")
    else:
        response = getattr(client, method)(target)
    want = expected[USERS.index(who)]
    assert response.status_code == want, (name, who, response.status_code, response.content[:300])
    if want >= 400:
        assert "detail" in response.json()


def test_lists_show_only_the_projects_a_user_belongs_to(two_projects, client_of):
    slugs = {
        who: [p["slug"] for p in client_of(who).get("/api/projects/").json()["results"]] for who in USERS
    }
    assert slugs["alice"] == slugs["sam"] == ["lumbar"]
    assert slugs["lena"] == slugs["otto"] == ["mets"]
    sam_slices = {s["id"] for s in client_of("sam").get("/api/slices/").json()["results"]}
    assert len(sam_slices) == 2 and two_projects["l1"] in sam_slices
    assert not sam_slices & {two_projects["m1"], two_projects["m2"]}
    otto_slices = {s["id"] for s in client_of("otto").get("/api/slices/").json()["results"]}
    assert otto_slices == {two_projects["m1"], two_projects["m2"]}
    assert [s["id"] for s in client_of("lena").get("/api/slices/").json()["results"]] == [two_projects["m1"]]
    assert client_of("lena").get("/api/subjects/").json()["count"] == 1
    assert client_of("sam").get("/api/assignments/").json()["count"] == 1  # alice's lumbar one only
    assert client_of("otto").get("/api/assignments/").json()["count"] == 1  # lena's


def test_the_queue_never_hands_an_annotator_a_slice_of_another_project(two_projects, client_of):
    claimed = {client_of("alice").post("/api/slices/next/").json().get("slice") for _ in range(3)}
    assert two_projects["m1"] not in claimed and two_projects["m2"] not in claimed
    lena = client_of("lena")
    first = lena.post("/api/slices/next/").json()["slice"]
    assert first == two_projects["m1"]  # her own open slice first


def test_jobs_of_a_members_only_project_stay_with_its_members(two_projects, client_of, users):
    from annotator.models import Job

    mets_job = Job.objects.create(
        kind="import", params={"project": two_projects["mets"]}, created_by=users["otto"]
    )
    lumbar_job = Job.objects.create(kind="import", params={"project": two_projects["lumbar"]})
    seen = {who: {j["id"] for j in client_of(who).get("/api/jobs/").json()["results"]} for who in USERS}
    assert mets_job.pk in seen["otto"] and mets_job.pk in seen["max"]
    assert mets_job.pk not in seen["sam"] and mets_job.pk not in seen["mia"]
    assert lumbar_job.pk in seen["sam"] and lumbar_job.pk not in seen["otto"]
    assert client_of("mia").get(f"/api/jobs/{mets_job.pk}/").status_code == 404


def test_removing_a_member_takes_their_access_away(two_projects, client_of, users):
    ada = client_of("ada")
    assert client_of("lena").get(f"/api/slices/{two_projects['m1']}/").status_code == 200
    gone = ada.delete(
        f"/api/projects/{two_projects['mets']}/members/", {"user": "lena", "role": "annotator"}, format="json"
    )
    assert gone.status_code == 200 and gone.json()["removed"] == 1
    assert client_of("lena").get(f"/api/slices/{two_projects['m1']}/").status_code == 404
    added = ada.post(
        f"/api/projects/{two_projects['mets']}/members/",
        {"user": "alice", "role": "annotator"},
        format="json",
    )
    assert added.status_code == 201
    assert {"username": "alice", "user": users["alice"].pk, "roles": ["annotator"]} in added.json()["members"]
    assert [p["slug"] for p in client_of("alice").get("/api/projects/").json()["results"]] == [
        "lumbar",
        "mets",
    ]
    bad = ada.post(f"/api/projects/{two_projects['mets']}/members/", {"user": "nobody", "role": "annotator"})
    assert bad.status_code == 400 and "nobody" in bad.json()["detail"]
    bad = ada.post(f"/api/projects/{two_projects['mets']}/members/", {"user": "alice", "role": "boss"})
    assert bad.status_code == 400 and "role" in bad.json()["detail"]


def test_work_is_handed_only_to_annotators_of_the_project(two_projects, client_of, users):
    otto = client_of("otto")
    assign = otto.post(
        "/api/assignments/", {"annotator": users["alice"].pk, "slices": [two_projects["m2"]]}, format="json"
    )
    assert assign.status_code == 400 and "not an annotator of project 'mets'" in assign.json()["detail"]
    double = otto.post(
        "/api/double-annotation/", {"project": "mets", "annotator": "alice", "share": 1}, format="json"
    )
    assert double.status_code == 400 and "not an annotator of project 'mets'" in double.json()["detail"]


PAGES = [
    # (url, expected for alice, sam, mia, lena, otto, max)
    ("/slices/{m1}/edit/", [404, 404, 404, 200, 200, 200]),
    ("/review/{m1}/", [404, 404, 404, 403, 200, 200]),
    ("/review/agreement/?project={mets}", [404, 404, 404, 403, 200, 200]),
    ("/rounds/?project=mets", [403, 404, 404, 403, 200, 200]),
    ("/rounds/new?project=mets", [403, 403, 404, 403, 403, 200]),
    ("/exports/?project=mets", [403, 404, 404, 403, 200, 200]),
    ("/series/{mseries}/measurements/", [404, 404, 404, 400, 400, 400]),
    ("/projects/", [403, 403, 403, 403, 403, 403]),
]


@pytest.mark.parametrize(("url", "expected"), PAGES, ids=[p[0] for p in PAGES])
def test_each_page_keeps_a_project_to_its_members(two_projects, users, url, expected):
    from django.test import Client

    for who, want in zip(USERS, expected, strict=True):
        browser = Client()
        browser.force_login(users[who])
        got = browser.get(url.format(**two_projects)).status_code
        assert got == want, (url, who, got)


def test_the_case_list_shows_only_the_users_projects(two_projects, users):
    from django.test import Client

    sam = Client()
    sam.force_login(users["sam"])
    html = sam.get("/").content.decode()
    assert "Metastases" not in html and "sub-M01" not in html and "M01" not in html
    otto = Client()
    otto.force_login(users["otto"])
    html = otto.get("/").content.decode()
    assert "Metastases" in html and "L01" not in html


def test_my_queue_drops_the_slices_of_a_project_the_annotator_left(two_projects, client_of):
    lena = client_of("lena")
    assert [r["slice"] for r in lena.get("/api/my-queue/").json()["results"]] == [two_projects["m1"]]
    ProjectMembership.objects.filter(user__username="lena").delete()
    assert lena.get("/api/my-queue/").json()["results"] == []
