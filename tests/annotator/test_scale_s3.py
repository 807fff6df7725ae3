"""S3 storage, for real: an S3-compatible server (moto's server mode) on loopback holds uploads,
slice arrays and model weights; nothing lands in the local media folder. The web side in this
process; a background import and a training round through a worker process configured only by the
SPINELAB_STORAGE=s3 / AWS_* environment, as a deployment would be."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import boto3
import pytest

from annotator.models import Job, ModelVersion, Slice, SourceFile
from tests.annotator.test_api_imports import upload
from tests.annotator.test_rounds_worker import explain
from tests.conftest import wait_for_job
from tests.servers import celery_worker_process, s3_server, worker_env

BUCKET = "spinelab-test"


@pytest.fixture
def s3(settings, tmp_path, monkeypatch):
    """The default storage on a fresh bucket of a loopback S3 server; yields the worker's env."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    credentials = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    for name, value in credentials.items():
        monkeypatch.setenv(name, value)
    with s3_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": BUCKET,
                    "endpoint_url": endpoint,
                    "region_name": "us-east-1",
                    "file_overwrite": False,
                    "default_acl": None,
                },
            },
        }
        yield {
            **credentials,
            "SPINELAB_STORAGE": "s3",
            "AWS_STORAGE_BUCKET_NAME": BUCKET,
            "AWS_S3_ENDPOINT_URL": endpoint,
            "endpoint": endpoint,
        }


def zipped(root: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(root).as_posix())
    return buffer.getvalue()


def phantom_zip(tmp_path: Path, subjects: int) -> bytes:
    from mlcore.phantom import write_mids

    root = tmp_path / "mids"
    write_mids(root, n_subjects=subjects, n_slices=2, size=(48, 48), seed=3)
    return zipped(root)


def bucket_keys(endpoint: str) -> list[str]:
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def local_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_an_import_lands_in_the_bucket_and_its_slices_are_served_from_there(
    s3, settings, client_for, project, tmp_path
):
    sam = client_for("sam")
    response = upload(sam, project, phantom_zip(tmp_path, 1), kind="mids")
    assert response.status_code == 201, response.content
    keys = bucket_keys(s3["endpoint"])
    slice_ = Slice.objects.filter(series__in=response.json()["series"]).order_by("index").first()
    assert slice_ is not None and slice_.channels["T2w"] in keys
    assert all(str(f.file.name) in keys for f in SourceFile.objects.all())
    assert local_files(settings) == []
    image = sam.get(f"/api/slices/{slice_.pk}/image/?channel=T2w")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


@pytest.mark.worker
@pytest.mark.slow
def test_a_background_import_and_a_round_run_on_a_worker_that_uses_the_bucket(
    transactional_db, s3, settings, client_for, project, tmp_path
):
    env = worker_env(settings, **{k: v for k, v in s3.items() if k != "endpoint"})
    with celery_worker_process(env) as worker:
        sam = client_for("sam")
        queued = upload(sam, project, phantom_zip(tmp_path, 3), kind="mids", background="true")
        assert queued.status_code == 202, queued.content
        imported = wait_for_job(queued.json()["id"], timeout=180)
        assert imported.state == "succeeded", imported.error
        launch = client_for("mia").post(
            "/api/rounds/",
            {
                "architectures": ["UD"],
                "folds": 2,
                "epochs": 1,
                "steps_per_epoch": 2,
                "filters": 4,
                "batch_size": 2,
                "promotion_floor": 0,
                "augment": False,
            },
            format="json",
        )
        assert launch.status_code == 201, launch.content
        done = wait_for_job(launch.json()["job"], timeout=300)
        assert done.state == "succeeded", explain(done.pk, worker)
    keys = bucket_keys(s3["endpoint"])
    version = ModelVersion.objects.get(training_round=launch.json()["id"])
    weights = [w for w in keys if w.endswith(".pt")]
    assert len(weights) >= 2, keys  # one checkpoint per fold, written by the worker into the bucket
    assert not any(k.startswith("imports/pending/") for k in keys)  # the upload is gone once imported
    assert Job.objects.get(parent=done.pk, kind=Job.Kind.PRELABEL).state == "succeeded", version.label
    assert local_files(settings) == []
