"""`manage.py seed_demo` (what `scripts/demo` runs): one user per role who can log in, a phantom project
with labelled and unlabelled cases, the recorded simulation curves, and nothing duplicated on a re-run."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from annotator.models import Project, SimulationRun, Slice, SliceState


@pytest.fixture
def demo_var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return tmp_path


def seed() -> None:
    call_command("seed_demo", subjects=5, slices=2, size=32, no_real=True, stdout=io.StringIO())


def test_seed_demo_gives_every_role_a_login_and_the_phantom_cases(db, demo_var):
    seed()
    credentials = json.loads((demo_var / "demo-credentials.json").read_text())
    for name, role in (("anna", "annotator"), ("mila", "ml_staff"), ("sofia", "supervisor")):
        user = authenticate(username=name, password=credentials[name])
        assert user is not None and user.groups.filter(name=role).exists(), name
    assert authenticate(username="admin", password=credentials["admin"]).is_superuser
    lumbar = Project.objects.get(slug="lumbar")
    slices = Slice.objects.filter(series__session__subject__project=lumbar)
    assert slices.filter(state=SliceState.ACCEPTED).exists(), "labelled phantom subjects come accepted"
    assert slices.filter(state=SliceState.UNLABELLED).exists(), "the rest is the pool to rank"


def test_seed_demo_shows_the_recorded_simulation_and_does_not_duplicate_on_rerun(db, demo_var):
    seed()
    first = {(s.name, tuple(sorted(s.curves))) for s in SimulationRun.objects.all()}
    assert any({"random", "entropy", "bald"} <= set(strategies) for _, strategies in first)
    slices = Slice.objects.count()
    seed()
    assert {(s.name, tuple(sorted(s.curves))) for s in SimulationRun.objects.all()} == first
    assert Slice.objects.count() == slices
