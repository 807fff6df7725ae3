"""A mask the editor copied from a neighbour or interpolated is saved with X-Mask-Source, so its
revision's meta tells correction effort apart from painting."""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from annotator.models import Assignment, MaskRevision
from annotator.services.maskcodec import encode_mask


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice_slice(make_slices, users):
    (s,) = make_slices(1)
    Assignment.objects.create(slice=s, annotator=users["alice"])
    client = APIClient()
    client.force_authenticate(users["alice"])
    return client, s


def put(client, slice_id, **headers):
    labels = np.zeros((32, 40), np.uint8)
    labels[4:9, 5:12] = 2
    return client.put(
        f"/api/slices/{slice_id}/mask/",
        data=encode_mask(labels),
        content_type="image/png",
        HTTP_X_BASE_REVISION="",
        **headers,
    )


@pytest.mark.parametrize("source", ["copy", "interpolate"])
def test_an_editor_made_mask_records_its_source_in_the_revision_meta(alice_slice, source):
    client, s = alice_slice
    response = put(client, s.pk, HTTP_X_MASK_SOURCE=source, HTTP_X_EDIT_SECONDS="3")
    assert response.status_code == 201, response.content
    meta = MaskRevision.objects.get(pk=response.json()["revision"]).meta
    assert meta["source"] == source and meta["edit_seconds"] == 3


def test_a_painted_mask_has_no_source(alice_slice):
    client, s = alice_slice
    response = put(client, s.pk)
    assert "source" not in MaskRevision.objects.get(pk=response.json()["revision"]).meta


def test_an_unknown_source_is_refused_with_the_allowed_ones(alice_slice):
    client, s = alice_slice
    response = put(client, s.pk, HTTP_X_MASK_SOURCE="magic")
    assert response.status_code == 400
    assert "copy" in response.json()["detail"] and "interpolate" in response.json()["detail"]
    assert not MaskRevision.objects.filter(slice=s).exists()
