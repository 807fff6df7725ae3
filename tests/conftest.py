"""Shared fixtures: named users per role, an API client per role, tiny slices with image data.

Tests that need a PostgreSQL server, a Redis server, a Celery worker or Chromium get them from
tests/servers.py; they start their own on loopback / Unix sockets and stop them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(os.environ.get("SPINELAB_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """Path under ../shared/data, or skip the test with a clear reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real MRI data not available at {path} (set SPINELAB_SHARED_DATA)")
    return path


@pytest.fixture
def users(db):
    """One named user per role: alice (annotator), bob (second annotator), mia (ML staff),
    sam (supervisor), ada (admin)."""
    from django.contrib.auth.models import Group, User

    from annotator.services.roles import ensure_groups

    ensure_groups()
    made = {}
    for name, role in [("alice", "annotator"), ("bob", "annotator"), ("mia", "ml_staff"),
                       ("sam", "supervisor"), ("ada", "admin")]:
        user = User.objects.create_user(name, password=f"{name}-pass-123", is_superuser=(role == "admin"),
                                        is_staff=(role == "admin"))
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
            session=ses, modality="T2w", source_format=Series.Format.SYNTHETIC,
            shape=[n, height, width], spacing=[1.0, 1.0, 1.0], content_hash=f"test-{subject}-{counter['n']}",
        )
        rng = np.random.default_rng(counter["n"])
        made = []
        for index in range(n):
            image = rng.integers(0, 1200, size=(height, width)).astype(np.int16)
            path = save_array(f"slices/{series.pk}/{index}_T2w.npy", image)
            made.append(Slice.objects.create(series=series, index=index, height=height, width=width,
                                             channels={"T2w": path}, stats={"T2w": channel_stats(image)}))
        return made

    return make
