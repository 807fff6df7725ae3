"""`seed_demo` also seeds the second demo project: spinal metastases on the lesion phantom, members
only, two channels, labelled and unlabelled subjects; its members see it, other users do not."""

from __future__ import annotations

import io

from django.contrib.auth.models import User
from django.core.management import call_command

from annotator.models import Project, Slice, SliceState
from annotator.services import roles


def test_seed_demo_adds_a_members_only_metastasis_project(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", subjects=3, slices=2, size=32, no_real=True, stdout=io.StringIO())
    mets = Project.objects.get(slug="mets-phantom")
    assert mets.members_only and mets.channels == ["STIR", "T1w"]
    assert list(mets.classes.filter(is_lesion=True).values_list("name", flat=True)) == [
        "lytic lesion",
        "sclerotic lesion",
    ]
    slices = Slice.objects.filter(series__session__subject__project=mets)
    assert (
        slices.filter(state=SliceState.ACCEPTED).exists()
        and slices.filter(state=SliceState.UNLABELLED).exists()
    )
    assert all(set(s.channels) == {"STIR", "T1w"} for s in slices)
    assert roles.roles_in(User.objects.get(username="anna"), mets) == {"annotator"}
    assert roles.roles_in(User.objects.get(username="ben"), mets) == set()
    count = slices.count()
    call_command("seed_demo", subjects=3, slices=2, size=32, no_real=True, stdout=io.StringIO())
    assert Slice.objects.filter(series__session__subject__project=mets).count() == count
