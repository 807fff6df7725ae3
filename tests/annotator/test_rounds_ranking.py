"""Issue 13 item 5: the ranking, visible. ML staff and supervisors see which slices come next, in rank
order with their scores, pre-label thumbnails, states and assignees, on a page and in the API;
annotators are refused; a page costs the same whatever the number of ranked slices."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from annotator.models import Assignment, Job, Slice
from annotator.rounds.next_slices import PAGE_SIZE
from annotator.services.masks import save_model_prelabel
from tests.annotator.test_api_pages import browser
from tests.annotator.test_rounds_registry import make_round, make_version


@pytest.fixture
def ranked(project, users, make_slices):
    """A round whose pass ranked n slices by margin: slice k (0-based) gets rank n-k and score 1/(k+1);
    the first two carry a pre-label (left half class 1, right half class 2), the first is assigned to
    alice."""

    def make(n: int = 3):
        rnd = make_round(project, 1)
        version = make_version(project, rnd, "UD", 0.5)
        Job.objects.create(
            kind=Job.Kind.PRELABEL,
            state=Job.State.SUCCEEDED,
            params={"version": version.pk, "strategy": "margin"},
            result={"strategy": "margin", "ranked": n},
        )
        slices = make_slices(n, height=20, width=30)
        for slice_ in slices[:2]:
            labels = np.zeros((20, 30), np.uint8)
            labels[:, :15], labels[:, 15:] = 1, 2
            save_model_prelabel(slice_, labels, {"model_version": version.pk})
        for k, slice_ in enumerate(slices):
            Slice.objects.filter(pk=slice_.pk).update(rank=n - k, rank_score=1 / (k + 1))
        Assignment.objects.create(slice=slices[0], annotator=users["alice"], assigned_by=users["sam"])
        return rnd, slices

    return make


def hex_of(rgb: tuple[int, int, int]) -> str:
    return "#" + "".join(f"{c:02x}" for c in rgb)


def test_the_api_lists_the_next_slices_in_rank_order_with_scores_states_and_assignees(ranked, client_for):
    rnd, slices = ranked(3)
    body = client_for("mia").get(f"/api/rounds/{rnd.pk}/ranking/").json()
    assert body["strategy"] == "margin" and body["count"] == 3 and body["num_pages"] == 1
    rows = body["results"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert [r["slice"] for r in rows] == [slices[2].pk, slices[1].pk, slices[0].pk]
    assert rows[0]["score"] == pytest.approx(1 / 3) and rows[2]["score"] == pytest.approx(1.0)
    assert rows[2]["assignee"] == "alice" and rows[0]["assignee"] is None
    assert rows[2]["state"] == "prelabelled" and rows[0]["state"] == "unlabelled"
    assert rows[2]["editor_url"] == f"/slices/{slices[0].pk}/edit/"
    assert rows[0]["thumbnail_url"] is None and rows[2]["thumbnail_url"]
    assert rows[2]["subject"] == "S01" and rows[2]["index"] == 0


def test_a_thumbnail_is_a_small_png_in_the_class_colours(ranked, client_for, project):
    rnd, slices = ranked(3)
    rows = client_for("sam").get(f"/api/rounds/{rnd.pk}/ranking/").json()["results"]
    response = client_for("sam").get(rows[2]["thumbnail_url"] + "?size=16")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and max(image.size) == 16
    rgb = image.convert("RGB")
    colours = list(project.classes.order_by("index").values_list("colour", flat=True))
    left, right = rgb.getpixel((0, 0)), rgb.getpixel((image.size[0] - 1, 0))
    assert hex_of(left) == colours[1].lower() and hex_of(right) == colours[2].lower()


@pytest.mark.parametrize("size", ["0", "9999", "big"])
def test_a_bad_thumbnail_size_is_a_400_naming_it(ranked, client_for, size):
    rnd, slices = ranked(2)
    response = client_for("mia").get(f"/api/slices/{slices[0].pk}/prelabel-thumbnail/?size={size}")
    assert response.status_code == 400 and "size" in response.json()["detail"]


def test_a_slice_without_pre_label_has_no_thumbnail(ranked, client_for):
    rnd, slices = ranked(3)
    response = client_for("mia").get(f"/api/slices/{slices[2].pk}/prelabel-thumbnail/")
    assert response.status_code == 404 and "pre-label" in response.json()["detail"]


def test_the_ranking_page_shows_the_table_with_editor_links_and_thumbnails(ranked, users):
    rnd, slices = ranked(3)
    response = browser(users["sam"]).get(f"/rounds/{rnd.pk}/ranking/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "3 slices ranked by margin" in html
    order = [int(s) for s in re.findall(r'<tr data-slice="(\d+)">', html)]
    assert order == [slices[2].pk, slices[1].pk, slices[0].pk]
    assert f'href="/slices/{slices[0].pk}/edit/"' in html
    assert f'src="/api/slices/{slices[0].pk}/prelabel-thumbnail/"' in html
    assert "alice" in html and "margin 0.3333" in html


def test_the_round_page_and_the_dashboard_link_to_the_ranking(ranked, users):
    rnd, _ = ranked(3)
    mia = browser(users["mia"])
    assert f'href="/rounds/{rnd.pk}/ranking/"' in mia.get(f"/rounds/{rnd.pk}/").content.decode()
    dashboard = mia.get("/rounds/").content.decode()
    assert "3 slices ranked" in dashboard and f'href="/rounds/{rnd.pk}/ranking/"' in dashboard


def test_annotators_are_refused_the_ranking(ranked, users, client_for):
    rnd, _ = ranked(2)
    assert client_for("alice").get(f"/api/rounds/{rnd.pk}/ranking/").status_code == 403
    page = browser(users["alice"]).get(f"/rounds/{rnd.pk}/ranking/")
    assert page.status_code == 403 and "Annotators can" in page.content.decode()


def test_the_ranking_paginates_50_a_page_and_a_page_past_the_end_is_the_last(ranked, client_for, users):
    rnd, slices = ranked(PAGE_SIZE + 3)
    mia = client_for("mia")
    first = mia.get(f"/api/rounds/{rnd.pk}/ranking/").json()
    assert len(first["results"]) == PAGE_SIZE and first["num_pages"] == 2 and first["next"] == 2
    second = mia.get(f"/api/rounds/{rnd.pk}/ranking/?page=2").json()
    assert [r["rank"] for r in second["results"]] == [51, 52, 53] and second["previous"] == 1
    assert mia.get(f"/api/rounds/{rnd.pk}/ranking/?page=99").json()["page"] == 2
    html = browser(users["mia"]).get(f"/rounds/{rnd.pk}/ranking/?page=2").content.decode()
    assert "page 2 of 2" in html and len(re.findall(r"<tr data-slice=", html)) == 3


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.5", "9" * 30])
def test_a_bad_page_number_is_a_400_naming_the_page_never_a_500(ranked, client_for, users, page):
    rnd, _ = ranked(2)
    api = client_for("mia").get(f"/api/rounds/{rnd.pk}/ranking/", {"page": page})
    assert api.status_code in (200, 400)
    if api.status_code == 400:
        assert "page" in api.json()["detail"]
    html = browser(users["mia"]).get(f"/rounds/{rnd.pk}/ranking/", {"page": page})
    assert html.status_code in (200, 400)


def test_a_ranking_page_costs_the_same_queries_for_3_or_60_ranked_slices(ranked, client_for, make_slices):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_for("mia").get(f"/api/rounds/{rnd.pk}/ranking/").status_code == 200
        return len(captured)

    rnd, _ = ranked(3)
    queries()  # the first request also fills per-process caches
    few = queries()
    for k, slice_ in enumerate(make_slices(57, height=8, width=8, subject="S02")):
        Slice.objects.filter(pk=slice_.pk).update(rank=4 + k, rank_score=0.01)
    assert queries() == few
