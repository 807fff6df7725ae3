"""POST /api/imports/: a client's `label_map` is a built-in name or an uploaded file, never a path on
the server, and a failed background import shows its uploader no traceback or server path."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile


@pytest.fixture
def mids_zip(tmp_path, settings) -> bytes:
    from mlcore.phantom import write_mids

    settings.MEDIA_ROOT = str(tmp_path / "media")
    root = tmp_path / "mids"
    write_mids(root, n_subjects=1, n_slices=2, size=(32, 32), seed=0)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def upload(client, project, data: bytes, **fields):
    file = SimpleUploadedFile("mids.zip", data, content_type="application/zip")
    return client.post("/api/imports/", {"file": file, "project": project.pk, **fields}, format="multipart")


def test_a_label_map_naming_a_server_file_is_refused_without_opening_it(
    client_for, project, mids_zip, tmp_path
):
    from annotator.models import Series

    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"1": "the-secret-value-xyz"}))
    sam = client_for("sam")
    for name in (
        "/etc/hostname",
        "../../../../etc/passwd",
        str(secret),
        "fixtures/label_maps/mids-lumbar.json",
    ):
        refused = upload(sam, project, mids_zip, label_map=name)
        assert refused.status_code == 400, (name, refused.content)
        body = refused.json()
        assert "label_map" in body["errors"], body
        assert "the-secret-value-xyz" not in refused.content.decode()
        assert "identity" in body["detail"], "the answer lists the maps a client may name"
    assert Series.objects.count() == 0


def test_a_built_in_label_map_or_an_uploaded_one_is_used(client_for, project, mids_zip):
    from annotator.models import MaskRevision

    sam = client_for("sam")
    by_name = upload(sam, project, mids_zip, label_map="identity")
    assert by_name.status_code == 201, by_name.content
    assert MaskRevision.objects.filter(source="import").count() == by_name.json()["slices"]

    MaskRevision.objects.all().delete()
    from annotator.models import Series

    Series.objects.all().delete()
    own = SimpleUploadedFile("mine.json", json.dumps({"*": "identity"}).encode(), "application/json")
    by_file = upload(sam, project, mids_zip, label_map_file=own)
    assert by_file.status_code == 201, by_file.content
    assert MaskRevision.objects.filter(source="import").count() == by_file.json()["slices"]


def test_a_broken_uploaded_label_map_is_named_and_both_kinds_at_once_are_refused(
    client_for, project, mids_zip
):
    sam = client_for("sam")
    broken = SimpleUploadedFile("mine.json", b"[1, 2", "application/json")
    refused = upload(sam, project, mids_zip, label_map_file=broken)
    assert refused.status_code == 400 and "label_map_file" in refused.json()["errors"]
    listed = SimpleUploadedFile("mine.json", b"[1, 2]", "application/json")
    refused = upload(sam, project, mids_zip, label_map_file=listed)
    assert refused.status_code == 400 and "JSON object" in refused.json()["detail"]
    both = SimpleUploadedFile("mine.json", b"{}", "application/json")
    refused = upload(sam, project, mids_zip, label_map="identity", label_map_file=both)
    assert refused.status_code == 400 and "not both" in refused.json()["detail"]
