"""The per-series measurement report page /series/{id}/measurements/."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from annotator.models import Assignment
from annotator.services.masks import save_model_prelabel
from tests.annotator.test_measurements_api import SHAPE, SPACING, put_mask, spine_labels


@pytest.fixture
def series_with_mask(make_slices, users, client_for):
    slices = make_slices(2, height=SHAPE[0], width=SHAPE[1])
    series = slices[0].series
    series.spacing = [3.0, *SPACING]
    series.save()
    Assignment.objects.create(slice=slices[1], annotator=users["alice"], assigned_by=users["sam"])
    assert put_mask(client_for("alice"), slices[1].pk, spine_labels()).status_code == 201
    return series, slices


def page_for(users, name: str) -> Client:
    client = Client()
    client.force_login(users[name])
    return client


def test_the_report_shows_a_row_per_level_with_the_crushed_body_highlighted(series_with_mask, users):
    series, slices = series_with_mask
    response = page_for(users, "sam").get(f"/series/{series.pk}/measurements/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r'data-level="([^"]+)"', html) == ["L1", "L2", "L3", "L4", "L5"]
    l3 = html[html.index('data-level="L3"') :]
    l3 = l3[: l3.index("</tr>")]
    assert 'class="grade grade-2"' in l3 and "moderate · crush" in l3
    # the slice with lines drawn over the image, in millimetres
    assert f'href="/api/slices/{slices[1].pk}/image/"' in html
    assert html.count('class="height-line"') == 15 and html.count('class="disc-line"') == 8
    assert (
        f"/api/series/{series.pk}/measurements/?revision=head&amp;slice={slices[1].pk}&amp;download=csv"
        in html
    )


def test_the_report_can_show_the_model_prelabel_marked_as_such(series_with_mask, users):
    series, slices = series_with_mask
    save_model_prelabel(slices[0], spine_labels(), {})
    html = page_for(users, "mia").get(f"/series/{series.pk}/measurements/?revision=prelabel").content.decode()
    assert 'id="prelabel-badge"' in html and "model pre-label" in html


def test_an_annotator_sees_the_report_only_for_series_she_works_on(series_with_mask, users):
    series, _ = series_with_mask
    assert page_for(users, "alice").get(f"/series/{series.pk}/measurements/").status_code == 200
    assert page_for(users, "bob").get(f"/series/{series.pk}/measurements/").status_code == 404
    anonymous = Client().get(f"/series/{series.pk}/measurements/")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


def test_a_series_without_masks_or_with_a_bad_parameter_says_what_is_wrong(make_slices, users):
    (slice_,) = make_slices(1)
    sam = page_for(users, "sam")
    empty = sam.get(f"/series/{slice_.series_id}/measurements/")
    assert empty.status_code == 404 and "has no slice with a head mask" in empty.content.decode()
    bad = sam.get(f"/series/{slice_.series_id}/measurements/?revision=newest")
    assert bad.status_code == 400 and "revision must be one of" in bad.content.decode()


def test_a_schema_without_sacrum_offers_to_name_the_lowest_body(make_slices, users, client_for):
    from annotator.services.projects import create_project
    from tests.annotator.test_measurements_api import NORMAL
    from tests.mlcore.measure_shapes import spine

    spine3 = create_project("spine3", "Spine, 3 classes", ["background", "vertebrae", "discs"])
    (slice_,) = make_slices(1, height=SHAPE[0], width=SHAPE[1], subject="R01", proj=spine3)
    put_mask(client_for("sam"), slice_.pk, spine([NORMAL] * 5, SPACING, size_mm=(230.0, 80.0)))
    sam = page_for(users, "sam")
    html = sam.get(f"/series/{slice_.series_id}/measurements/").content.decode()
    assert 'id="lowest-form"' in html
    assert re.findall(r'data-level="([^"]+)"', html) == ["V1", "V2", "V3", "V4", "V5"]
    html = sam.get(f"/series/{slice_.series_id}/measurements/?lowest=L5").content.decode()
    assert re.findall(r'data-level="([^"]+)"', html) == ["L1", "L2", "L3", "L4", "L5"]
    assert "lowest=L5" in html  # the downloads keep the naming
    assert sam.get(f"/series/{slice_.series_id}/measurements/?lowest=X").status_code == 400
