"""Shared fixtures: named users per role, an API client per role, tiny slices with image data.

Tests that need a PostgreSQL server, a Redis server, a Celery worker or Chromium get them from
tests/servers.py; they start their own on loopback / Unix sockets and stop them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(
    os.environ.get("SPINELAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test with a clear reason when it is absent (fail under
    CI=true, see tests/missing.py)."""
    from tests.missing import missing

    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        missing(f"real MRI data not available at {path} (set SPINELAB_SHARED_DATA)")
    return path


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2 costs seconds per user on this machine; the hasher is not what these tests check."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users(db):
    """One named user per role: alice (annotator), bob (second annotator), mia (ML staff),
    sam (supervisor), ada (admin)."""
    from django.contrib.auth.models import Group, User

    from annotator.services.roles import ensure_groups

    ensure_groups()
    made = {}
    for name, role in [
        ("alice", "annotator"),
        ("bob", "annotator"),
        ("mia", "ml_staff"),
        ("sam", "supervisor"),
        ("ada", "admin"),
    ]:
        user = User.objects.create_user(
            name, password=f"{name}-pass-123", is_superuser=(role == "admin"), is_staff=(role == "admin")
        )
        user.groups.add(Group.objects.get(name=role))
        made[name] = user
    return made


@pytest.fixture
def client_for(users):
    """client_for("alice") -> a DRF APIClient logged in as that user."""
    from rest_framework.test import APIClient

    def make(name: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(users[name])
        return client

    return make


@pytest.fixture
def project(db):
    from annotator.services.projects import default_project

    return default_project()


@pytest.fixture
def make_slices(db, project, settings, tmp_path):
    """make_slices(n, height=32, width=40, subject="S01") -> list of Slice with a T2w channel."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    from annotator.models import Series, Session, Slice, Subject
    from annotator.services.slicedata import channel_stats, save_array

    counter = {"n": 0}

    def make(n: int = 1, height: int = 32, width: int = 40, subject: str = "S01", proj=None):
        counter["n"] += 1
        proj = proj or project
        sub, _ = Subject.objects.get_or_create(project=proj, label=subject)
        ses, _ = Session.objects.get_or_create(subject=sub, label="E01")
        series = Series.objects.create(
            session=ses,
            modality="T2w",
            source_format=Series.Format.SYNTHETIC,
            shape=[n, height, width],
            spacing=[1.0, 1.0, 1.0],
            content_hash=f"test-{subject}-{counter['n']}",
        )
        rng = np.random.default_rng(counter["n"])
        made = []
        for index in range(n):
            image = rng.integers(0, 1200, size=(height, width)).astype(np.int16)
            path = save_array(f"slices/{series.pk}/{index}_T2w.npy", image)
            made.append(
                Slice.objects.create(
                    series=series,
                    index=index,
                    height=height,
                    width=width,
                    channels={"T2w": path},
                    stats={"T2w": channel_stats(image)},
                )
            )
        return made

    return make


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real Celery worker (solo pool, queues default+gpu+io) on the configured broker (filesystem by
    default, Redis when SPINELAB_BROKER_URL says so) against the test database and media folder."""
    from django.db import connection

    from tests.servers import celery_worker_process, database_url_for

    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        # Messages left by earlier tests (whose jobs no longer exist) would only slow the worker down.
        for folder in ("queue", "processed"):
            for leftover in (settings.BROKER_DIR / folder).glob("*"):
                leftover.unlink(missing_ok=True)
    env = {
        "SPINELAB_DATABASE_URL": database_url_for(connection.settings_dict),
        "SPINELAB_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SPINELAB_VAR_DIR": str(settings.VAR_DIR),
        "SPINELAB_BROKER_URL": settings.CELERY_BROKER_URL,
        "SPINELAB_CELERY_EAGER": "0",
    }
    with celery_worker_process(env) as proc:
        yield proc


def wait_for_job(job_id: int, timeout: float = 120.0, states=("succeeded", "failed", "cancelled")):
    """Poll the database until a Job reaches one of `states`; return it (fails the test on timeout)."""
    import time

    from annotator.models import Job

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.state in states:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {Job.objects.get(pk=job_id).state} after {timeout} s")
