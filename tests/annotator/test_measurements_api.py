"""Measurement endpoints, used as the editor overlay and the report page use them:
GET /api/slices/{id}/measurements/ and GET /api/series/{id}/measurements/ (+ CSV/JSON download)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotator.models import Assignment
from annotator.services.maskcodec import encode_mask
from annotator.services.masks import save_model_prelabel
from annotator.services.projects import create_project
from mlcore.phantom import LUMBAR_CLASSES
from tests.mlcore.measure_shapes import Body, spine

SPACING = (0.6, 0.9)  # (row, col) mm: the series stores (plane, row, col)
NORMAL = Body(depth=36, ant=26, post=26)
CRUSHED = Body(depth=36, ant=17, post=17)
SACRUM = LUMBAR_CLASSES.index("sacrum")


def spine_labels(bodies=None) -> np.ndarray:
    return spine(
        bodies or [NORMAL, NORMAL, CRUSHED, NORMAL, NORMAL], SPACING, size_mm=(230.0, 80.0), sacrum=SACRUM
    )


SHAPE = spine_labels().shape


def put_mask(client, slice_id: int, labels: np.ndarray, base: int | None = None):
    return client.put(
        f"/api/slices/{slice_id}/mask/",
        data=encode_mask(labels.astype(np.uint8)),
        content_type="image/png",
        HTTP_X_BASE_REVISION="" if base is None else str(base),
    )


@pytest.fixture
def world(make_slices, users):
    """Three slices of one series (anisotropic spacing), all assigned to alice; none has a mask yet."""
    slices = make_slices(3, height=SHAPE[0], width=SHAPE[1])
    series = slices[0].series
    series.spacing = [3.0, *SPACING]
    series.save()
    for s in slices:
        Assignment.objects.create(slice=s, annotator=users["alice"], assigned_by=users["sam"])
    return slices


def test_an_annotator_measures_the_mask_she_just_saved(world, client_for):
    alice = client_for("alice")
    saved = put_mask(alice, world[1].pk, spine_labels())
    assert saved.status_code == 201, saved.content
    got = alice.get(f"/api/slices/{world[1].pk}/measurements/")
    assert got.status_code == 200, got.content
    data = got.json()
    assert data["revision"] == {**data["revision"], "id": saved.json()["revision"], "prelabel": False}
    assert data["revision"]["source"] == "human"
    assert data["spacing_mm"] == list(SPACING) and data["spacing_assumed"] is None
    assert [b["label"] for b in data["bodies"]] == ["L1", "L2", "L3", "L4", "L5"]
    l1 = data["bodies"][0]
    # 26 mm = 43 rows of 0.6 mm: the heights are in millimetres of this series, not pixels
    assert l1["anterior"]["mm"] == pytest.approx(26, abs=1.1)
    l3 = data["bodies"][2]
    assert l3["grade"] == {"grade": 2, "label": "moderate", "shape": "crush", "loss": l3["grade"]["loss"]}
    assert len(data["discs"]) == 4 and data["measurable"] is True


def test_the_measurements_follow_a_new_save(world, client_for):
    alice = client_for("alice")
    first = put_mask(alice, world[0].pk, spine_labels()).json()["revision"]
    put_mask(alice, world[0].pk, spine_labels([NORMAL] * 5), base=first)
    data = alice.get(f"/api/slices/{world[0].pk}/measurements/").json()
    assert all(b["grade"]["grade"] == 0 for b in data["bodies"])


def test_a_slice_without_a_mask_is_404_and_a_mask_without_vertebrae_says_why(world, client_for):
    alice = client_for("alice")
    missing = alice.get(f"/api/slices/{world[0].pk}/measurements/")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found" and "no head mask" in missing.json()["detail"]
    labels = np.zeros(SHAPE, dtype=np.uint8)
    labels[40:60, 20:50] = 3  # a disc only
    put_mask(alice, world[0].pk, labels)
    data = alice.get(f"/api/slices/{world[0].pk}/measurements/").json()
    assert data["measurable"] is False and data["bodies"] == []
    assert data["reason"] == "no vertebra pixels in this mask"


def test_the_model_prelabel_is_measured_on_request_and_marked_as_such(world, client_for):
    mia = client_for("mia")
    assert mia.get(f"/api/slices/{world[2].pk}/measurements/?revision=prelabel").status_code == 404
    save_model_prelabel(world[2], spine_labels(), {"model_version": 7, "label": "UVD r1"})
    got = mia.get(f"/api/slices/{world[2].pk}/measurements/?revision=prelabel")
    assert got.status_code == 200
    revision = got.json()["revision"]
    assert revision["prelabel"] is True and revision["source"] == "model"
    assert (revision["model_version"], revision["model_label"]) == (7, "UVD r1")
    # the head is still empty: the pre-label never counts as the head mask
    assert mia.get(f"/api/slices/{world[2].pk}/measurements/").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"), [("alice", 200), ("bob", 404), ("mia", 200), ("sam", 200), ("ada", 200)]
)
def test_whoever_may_see_the_slice_may_see_its_measurements(world, client_for, role, status):
    put_mask(client_for("alice"), world[0].pk, spine_labels())
    response = client_for(role).get(f"/api/slices/{world[0].pk}/measurements/")
    assert response.status_code == status, response.content[:200]
    report = client_for(role).get(f"/api/series/{world[0].series_id}/measurements/")
    assert report.status_code == status
    if status >= 400:
        assert "does not exist" in response.json()["detail"]


def test_anonymous_users_are_refused(world):
    response = APIClient().get(f"/api/slices/{world[0].pk}/measurements/")
    assert response.status_code in (401, 403)


def test_a_blind_second_annotator_gets_no_measurements_of_the_main_mask(world, client_for, users):
    put_mask(client_for("alice"), world[0].pk, spine_labels())
    save_model_prelabel(world[0], spine_labels(), {})
    Assignment.objects.create(
        slice=world[0], annotator=users["bob"], assigned_by=users["sam"], purpose=Assignment.Purpose.DOUBLE
    )
    bob = client_for("bob")
    hidden = bob.get(f"/api/slices/{world[0].pk}/measurements/")
    assert hidden.status_code == 403 and "blind" in hidden.json()["detail"]
    assert bob.get(f"/api/slices/{world[0].pk}/measurements/?revision=prelabel").status_code == 200


def test_bad_parameters_are_400_naming_the_parameter(world, client_for):
    sam = client_for("sam")
    bad = sam.get(f"/api/slices/{world[0].pk}/measurements/?revision=latest")
    assert bad.status_code == 400 and "revision" in bad.json()["detail"]
    bad = sam.get(f"/api/series/{world[0].series_id}/measurements/?slice=abc")
    assert bad.status_code == 400 and "slice" in bad.json()["detail"]
    bad = sam.get(f"/api/series/{world[0].series_id}/measurements/?download=xlsx")
    assert bad.status_code == 400 and "download" in bad.json()["detail"]


def test_a_project_without_a_vertebra_class_cannot_be_measured(make_slices, client_for):
    lesions = create_project("mets", "Metastases", ["background", "lytic lesion", "sclerotic lesion"])
    (slice_,) = make_slices(1, height=64, width=64, subject="M01", proj=lesions)
    sam = client_for("sam")
    labels = np.zeros((64, 64), dtype=np.uint8)
    labels[10:30, 10:30] = 1
    assert put_mask(sam, slice_.pk, labels).status_code == 201
    got = sam.get(f"/api/slices/{slice_.pk}/measurements/")
    assert got.status_code == 400 and "no vertebra class" in got.json()["detail"]


def test_the_series_report_picks_the_mid_sagittal_slice_and_downloads_as_csv_and_json(world, client_for):
    alice = client_for("alice")
    partial = spine_labels()
    partial[: SHAPE[0] // 2] = 0  # fewer vertebra pixels than the full column
    put_mask(alice, world[0].pk, partial)
    put_mask(alice, world[1].pk, spine_labels())
    sam = client_for("sam")
    report = sam.get(f"/api/series/{world[0].series_id}/measurements/").json()
    assert report["slice"] == world[1].pk
    assert [s["id"] for s in report["slices_with_masks"]] == [world[0].pk, world[1].pk]
    chosen = sam.get(f"/api/series/{world[0].series_id}/measurements/?slice={world[0].pk}").json()
    assert chosen["slice"] == world[0].pk
    assert sam.get(f"/api/series/{world[0].series_id}/measurements/?slice=999999").status_code == 404

    as_csv = sam.get(f"/api/series/{world[0].series_id}/measurements/?download=csv")
    assert as_csv.status_code == 200 and as_csv["Content-Type"].startswith("text/csv")
    assert "attachment" in as_csv["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert [r["level"] for r in rows] == ["L1", "L2", "L3", "L4", "L5"]
    assert rows[2]["genant_label"] == "moderate" and rows[2]["shape"] == "crush"
    assert float(rows[0]["disc_below_anterior_mm"]) == pytest.approx(9.0, abs=1.5)
    assert rows[4]["disc_below_anterior_mm"] == ""
    as_json = sam.get(f"/api/series/{world[0].series_id}/measurements/?download=json")
    assert as_json["Content-Type"] == "application/json" and as_json.json()["slice"] == world[1].pk


def test_a_series_stored_posterior_to_anterior_is_measured_the_right_way_round(world, client_for):
    """A DICOM series keeps the scanner's in-plane order: here columns run posterior -> anterior (the
    affine's column axis points to +y, anterior in RAS+). The wedge's short anterior wall is on the
    right of the stored image, and must still be reported as the anterior height."""
    series = world[0].series
    series.affine = [[1, 0, 0, 0], [0, 0, 0.9, 0], [0, -0.6, 0, 0], [0, 0, 0, 1]]  # rows S->I, cols P->A
    series.save()
    wedge = Body(depth=36, ant=16, post=26)
    labels = spine([NORMAL, wedge, NORMAL], SPACING, size_mm=(230.0, 80.0), sacrum=SACRUM)[:, ::-1]
    alice = client_for("alice")
    put_mask(alice, world[0].pk, labels)
    data = alice.get(f"/api/slices/{world[0].pk}/measurements/").json()
    assert data["flipped_to_canonical"] == {"rows": False, "columns": True}
    l4 = next(b for b in data["bodies"] if b["label"] == "L4")
    assert l4["anterior"]["mm"] < l4["posterior"]["mm"] - 5
    assert (l4["grade"]["shape"], l4["grade"]["label"]) == ("wedge", "moderate")
    # points come back in the stored image: the anterior line lies right of the posterior one
    assert l4["anterior"]["start"]["x"] > l4["posterior"]["start"]["x"]


def test_an_axial_series_is_refused_with_a_reason(world, client_for):
    series = world[0].series
    series.view = "ax"
    series.save()
    put_mask(client_for("alice"), world[0].pk, spine_labels())
    got = client_for("alice").get(f"/api/slices/{world[0].pk}/measurements/")
    assert got.status_code == 400 and "sagittal" in got.json()["detail"]


@pytest.mark.parametrize(
    "bad", ["99999999999999999999", "9223372036854775808", "²", "١٢", "-1", "NaN", "x" * 300]
)
def test_odd_ids_and_values_are_answered_4xx_never_5xx(world, client_for, bad):
    sam = client_for("sam")
    series = world[0].series_id
    urls = [
        f"/api/series/{series}/measurements/?slice={bad}",
        f"/api/series/{series}/measurements/?revision={bad}",
        f"/api/slices/{world[0].pk}/measurements/?revision={bad}",
        f"/api/series/{series}/measurements/?download={bad}",
    ]
    if bad.isascii() and bad.isdigit():
        urls += [f"/api/slices/{bad}/measurements/", f"/api/series/{bad}/measurements/"]
    for url in urls:
        response = sam.get(url)
        assert 400 <= response.status_code < 500, (url, response.status_code)
        assert "detail" in response.json()
    if bad.isascii() and bad.isdigit():
        from django.test import Client

        page = Client()
        page.force_login(world[0].assignments.first().assigned_by)
        assert page.get(f"/series/{bad}/measurements/").status_code == 404
        assert page.get(f"/series/{series}/measurements/?slice={bad}").status_code in (400, 404)


def test_without_a_sacrum_class_the_user_may_name_the_lowest_body(make_slices, client_for):
    spine3 = create_project("spine3", "Spine, 3 classes", ["background", "vertebrae", "discs"])
    (slice_,) = make_slices(1, height=SHAPE[0], width=SHAPE[1], subject="R01", proj=spine3)
    sam = client_for("sam")
    assert put_mask(sam, slice_.pk, spine([NORMAL] * 5, SPACING, size_mm=(230.0, 80.0))).status_code == 201
    numbered = sam.get(f"/api/slices/{slice_.pk}/measurements/").json()
    assert [b["label"] for b in numbered["bodies"]] == ["V1", "V2", "V3", "V4", "V5"]
    assert numbered["levels_named"] is False and "no sacrum class" in numbered["naming"]
    named = sam.get(f"/api/slices/{slice_.pk}/measurements/?lowest=L5").json()
    assert [b["label"] for b in named["bodies"]] == ["L1", "L2", "L3", "L4", "L5"]
    report = sam.get(f"/api/series/{slice_.series_id}/measurements/?lowest=L4&download=csv")
    assert [line.split(",")[5] for line in report.content.decode().splitlines()[1:]] == [
        "T12",
        "L1",
        "L2",
        "L3",
        "L4",
    ]
    bad = sam.get(f"/api/slices/{slice_.pk}/measurements/?lowest=Z9")
    assert bad.status_code == 400 and "lowest" in bad.json()["detail"]
