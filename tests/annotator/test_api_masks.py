"""Mask and image endpoints, used as the editor uses them."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from annotator.models import Assignment, MaskRevision
from annotator.services.maskcodec import encode_mask


def png_of(labels: np.ndarray) -> bytes:
    return encode_mask(labels.astype(np.uint8))


def put_mask(client, slice_id: int, labels_or_png, base: int | None = None, **extra):
    body = labels_or_png if isinstance(labels_or_png, bytes) else png_of(labels_or_png)
    headers = {"HTTP_X_BASE_REVISION": "" if base is None else str(base), **extra}
    query = extra.pop("query", "")
    return client.put(f"/api/slices/{slice_id}/mask/{query}", data=body, content_type="image/png", **headers)


def decode(response) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(response.content)))


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """The role users are made with real password hashing otherwise (seconds per test)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def assigned(make_slices, users):
    """One 32x40 slice assigned to alice."""
    (slice_,) = make_slices(1)
    Assignment.objects.create(slice=slice_, annotator=users["alice"], assigned_by=users["sam"])
    return slice_


def png_claiming_size(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb's header)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR payload starts after signature + len + type
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def blobs(height: int = 32, width: int = 40) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    return ((yy // 8) * 3 + xx // 10) % 12


def test_a_saved_mask_comes_back_pixel_for_pixel(assigned, client_for):
    alice = client_for("alice")
    labels = blobs()
    saved = put_mask(alice, assigned.pk, labels, HTTP_X_EDIT_SECONDS="12.5")
    assert saved.status_code == 201, saved.content
    assert saved.json()["state"] == "in_progress"
    got = alice.get(f"/api/slices/{assigned.pk}/mask/")
    assert got.status_code == 200
    assert got["X-Revision-Id"] == str(saved.json()["revision"])
    assert got["X-Revision-Source"] == "human"
    np.testing.assert_array_equal(decode(got), labels)
    meta = alice.get(f"/api/revisions/{saved.json()['revision']}/").json()
    assert meta["meta"]["edit_seconds"] == 12.5 and meta["author_name"] == "alice"


def test_a_stale_save_answers_409_and_keeps_the_rejected_mask_as_a_revision(assigned, client_for, users):
    alice, sam = client_for("alice"), client_for("sam")
    first = put_mask(alice, assigned.pk, blobs()).json()["revision"]
    newer = put_mask(sam, assigned.pk, np.ones((32, 40)), base=first).json()["revision"]
    stale = put_mask(alice, assigned.pk, np.full((32, 40), 2), base=first)
    assert stale.status_code == 409
    body = stale.json()
    assert body["code"] == "conflict" and body["current_revision"] == newer
    kept = alice.get(f"/api/slices/{assigned.pk}/mask/?revision={body['your_revision']}")
    assert kept.status_code == 200 and (decode(kept) == 2).all()
    assert alice.get(f"/api/revisions/{body['your_revision']}/").json()["is_conflict"] is True
    history = alice.get(f"/api/slices/{assigned.pk}/revisions/").json()
    assert [r["id"] for r in history["results"]] == [body["your_revision"], newer, first]
    assert alice.get(f"/api/slices/{assigned.pk}/").json()["head_revision"] == newer


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (png_of(np.zeros((10, 40))), "10x40 does not match the slice (32x40)"),
        (png_of(np.full((32, 40), 14)), "[14] out of range"),
        (b"GIF89a not a png", "not a readable PNG"),
        (b"", "empty"),
    ],
    ids=["wrong-shape", "class-out-of-range", "not-png", "empty"],
)
def test_a_bad_mask_is_refused_with_400_naming_the_problem(assigned, client_for, body, needle):
    response = put_mask(client_for("alice"), assigned.pk, body)
    assert response.status_code == 400
    assert needle in response.json()["detail"]
    assert MaskRevision.objects.filter(slice=assigned).count() == 0


def test_an_rgb_png_is_refused_naming_the_mode(assigned, client_for):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 32)).save(buffer, format="PNG")
    response = put_mask(client_for("alice"), assigned.pk, buffer.getvalue())
    assert response.status_code == 400 and "mode RGB" in response.json()["detail"]


def test_a_decompression_bomb_is_refused_without_decoding_it(assigned, client_for):
    response = put_mask(client_for("alice"), assigned.pk, png_claiming_size(60000, 60000))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_mask"


def test_an_oversize_body_answers_413(assigned, client_for):
    response = put_mask(client_for("alice"), assigned.pk, b"\x89PNG" + b"0" * (16 * 1024 * 1024 + 1))
    assert response.status_code == 413


def test_bad_headers_and_params_answer_400(assigned, client_for):
    alice = client_for("alice")
    assert put_mask(alice, assigned.pk, blobs(), HTTP_X_EDIT_SECONDS="soon").status_code == 400
    assert put_mask(alice, assigned.pk, blobs(), HTTP_X_EDIT_SECONDS="inf").status_code == 400
    bad_base = alice.put(
        f"/api/slices/{assigned.pk}/mask/",
        data=png_of(blobs()),
        content_type="image/png",
        HTTP_X_BASE_REVISION="abc",
    )
    assert bad_base.status_code == 400 and "X-Base-Revision" in bad_base.json()["detail"]
    assert alice.get(f"/api/slices/{assigned.pk}/mask/?revision=latest").status_code == 400
    assert alice.get(f"/api/slices/{assigned.pk}/mask/?track=other").status_code == 400


def test_missing_masks_and_slices_answer_404(assigned, client_for):
    alice = client_for("alice")
    assert alice.get(f"/api/slices/{assigned.pk}/mask/").json()["code"] == "not_found"
    assert alice.get(f"/api/slices/{assigned.pk}/mask/?revision=prelabel").status_code == 404
    assert put_mask(alice, 999999, blobs()).status_code == 404
    assert alice.get("/api/slices/999999/image/").status_code == 404


def test_starting_from_the_prelabel_is_not_a_conflict(assigned, client_for):
    from annotator.services.masks import save_model_prelabel

    pre = save_model_prelabel(assigned, blobs(), {"model": "test"})
    alice = client_for("alice")
    got = alice.get(f"/api/slices/{assigned.pk}/mask/?revision=prelabel")
    assert got["X-Revision-Source"] == "model" and got["X-Revision-Id"] == str(pre.pk)
    saved = put_mask(alice, assigned.pk, blobs(), base=pre.pk)
    assert saved.status_code == 201


def test_double_annotation_is_a_separate_blind_track(assigned, client_for, users):
    Assignment.objects.create(slice=assigned, annotator=users["bob"], purpose="double")
    alice, bob = client_for("alice"), client_for("bob")
    put_mask(alice, assigned.pk, blobs())
    saved = bob.put(
        f"/api/slices/{assigned.pk}/mask/?track=double",
        data=png_of(np.ones((32, 40))),
        content_type="image/png",
        HTTP_X_BASE_REVISION="",
    )
    assert saved.status_code == 201, saved.content
    mine = bob.get(f"/api/slices/{assigned.pk}/mask/?track=double")
    assert mine["X-Revision-Id"] == str(saved.json()["revision"])
    assert alice.get(f"/api/revisions/{saved.json()['revision']}/").status_code == 404


def test_submit_moves_in_progress_to_submitted_and_refuses_other_states(assigned, client_for):
    alice = client_for("alice")
    early = alice.post(f"/api/slices/{assigned.pk}/submit/")
    assert early.status_code == 409 and early.json()["code"] == "invalid_transition"
    put_mask(alice, assigned.pk, blobs())
    done = alice.post(f"/api/slices/{assigned.pk}/submit/")
    assert done.status_code == 200 and done.json()["state"] == "submitted"
    assert alice.post(f"/api/slices/{assigned.pk}/submit/").status_code == 409
    assert put_mask(alice, assigned.pk, blobs(), base=assigned.revisions.get().pk).status_code == 409
