"""Demo data and one user per role, for `scripts/demo`. Safe to run again: nothing is duplicated.

- Users: anna + ben (annotators), mila (ML staff), sofia (supervisor), admin. Passwords are made once,
  kept in SPINELAB_VAR_DIR/demo-credentials.json and printed every time.
- Project "lumbar" (12 classes): a synthetic phantom written as a BIMCV/MIDS tree; the first subjects
  come with reference masks (accepted, the first training set), the rest are unlabelled (the pool that
  active learning ranks). Some unlabelled slices are assigned to anna and ben.
- The recorded active-learning simulations in fixtures/simulations/ (random vs uncertainty selection on
  the phantom, `python -m mlcore simulate`) appear as learning curves on the lumbar rounds dashboard.
- Project "mets-phantom" (background, lytic lesion, sclerotic lesion; members only; channels STIR
  and T1w): the synthetic metastasis phantom (mlcore.phantom_lesions), the first subjects labelled.
  Members: mila (ML staff), sofia (supervisor), anna (annotator); ben, not a member, sees nothing of it.
- Project "mids-real" (background, vertebrae, intervertebral discs): the real volumes of
  ../shared/data/mids-lumbar and mids-multisite when present, with their reference masks.
"""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from annotator.env import knob
from annotator.models import Assignment, Project, Slice, SliceState
from annotator.rounds.dashboard import import_simulation
from annotator.services.projects import create_project, default_project, do_add_member
from annotator.services.roles import ensure_groups

DEMO_USERS = [
    ("anna", "annotator"),
    ("ben", "annotator"),
    ("mila", "ml_staff"),
    ("sofia", "supervisor"),
    ("admin", "admin"),
]
# Labelled phantom subjects: 6 of the default 10 (3 per fold of the CPU preset's 2-fold round), the
# rest is the pool the round pre-labels and ranks.
LABELLED_SUBJECTS = 6
SIMULATIONS = Path(settings.BASE_DIR) / "fixtures" / "simulations"


class Command(BaseCommand):
    help = "Create demo users (one per role) and import demo cases (phantom + shared real data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--subjects", type=int, default=10, help="phantom subjects (default 10)")
        parser.add_argument("--slices", type=int, default=9, help="sagittal slices per subject")
        parser.add_argument("--size", type=int, default=256, help="slice size in pixels")
        parser.add_argument("--no-real", action="store_true", help="skip ../shared/data/mids-lumbar")
        parser.add_argument("--no-lesions", action="store_true", help="skip the metastasis phantom project")

    def handle(self, *args: Any, **opts: Any) -> None:
        ensure_groups()
        credentials = self.ensure_users()
        project = default_project()
        if not project.subjects.exists():
            self.import_phantom(project, opts["subjects"], opts["slices"], opts["size"])
        self.assign_demo_work(project)
        self.import_simulations(project)
        if not opts["no_lesions"]:
            self.import_lesions(size=min(max(opts["size"], 64), 128))
        if not opts["no_real"]:
            self.import_real()
        self.stdout.write(self.style.SUCCESS("Demo users (user / password / role):"))
        for name, role in DEMO_USERS:
            self.stdout.write(f"  {name:6} {credentials[name]:24} {role}")

    def ensure_users(self) -> dict[str, str]:
        path = Path(settings.VAR_DIR) / "demo-credentials.json"
        saved: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        for name, role in DEMO_USERS:
            password = saved.get(name) or f"{name}-{secrets.token_urlsafe(9)}"
            user, _ = User.objects.get_or_create(username=name)
            user.set_password(password)
            user.is_superuser = user.is_staff = role == "admin"
            user.save()
            user.groups.add(Group.objects.get(name=role))
            saved[name] = password
        path.write_text(json.dumps(saved, indent=2))
        path.chmod(0o600)
        return saved

    def import_phantom(self, project: Project, subjects: int, slices: int, size: int) -> None:
        from annotator.imports.service import import_path
        from mlcore.phantom import write_mids

        root = Path(settings.VAR_DIR) / "demo-phantom"
        shutil.rmtree(root, ignore_errors=True)
        labelled, unlabelled = root / "labelled", root / "unlabelled"
        write_mids(labelled, n_subjects=subjects, n_slices=slices, size=(size, size), seed=7)
        # Subjects past the first few become the unlabelled pool: move them out without their masks.
        unlabelled.mkdir(parents=True)
        keep = max(1, min(LABELLED_SUBJECTS, subjects - 2))
        for sub in sorted(p for p in labelled.glob("sub-*") if p.is_dir())[keep:]:
            shutil.move(str(sub), unlabelled / sub.name)
            shutil.rmtree(labelled / "derivatives" / "phantom" / sub.name, ignore_errors=True)
        for tree in (labelled, unlabelled):
            report = import_path(tree, project, kind="mids")
            self.stdout.write(f"phantom {tree.name}: {len(report.series_ids)} series, {report.slices} slices")

    @transaction.atomic
    def assign_demo_work(self, project: Project) -> None:
        pool = list(
            Slice.objects.filter(
                series__session__subject__project=project,
                state__in=[SliceState.UNLABELLED, SliceState.PRELABELLED],
                series__modality="T2w",
                assignments__isnull=True,
            ).order_by("series__session__subject__label", "index")[:6]
        )
        for slice_, name in zip(pool, ["anna", "anna", "anna", "ben", "ben", "ben"], strict=False):
            Assignment.objects.get_or_create(
                slice=slice_,
                annotator=User.objects.get(username=name),
                purpose="main",
                active=True,
                defaults={"assigned_by": User.objects.get(username="sofia")},
            )

    def import_simulations(self, project: Project) -> None:
        for path in sorted(SIMULATIONS.glob("*.json")):
            name = f"{path.name} (recorded, see docs/rounds.md)"
            if not project.simulations.filter(name=name).exists():
                import_simulation(project, json.loads(path.read_text()), name)
                self.stdout.write(f"simulation {path.name}: learning curves on the rounds dashboard")

    def import_lesions(self, size: int, subjects: int = 6, labelled: int = 4) -> None:
        """The second demo project: spinal metastases on STIR + T1w, lesion metrics in its rounds."""
        from annotator.imports.service import import_path
        from mlcore.phantom_lesions import LESION_CLASSES, write_lesion_mids

        project = Project.objects.filter(slug="mets-phantom").first()
        if project is None:
            project = create_project(
                "mets-phantom",
                "Spinal metastases (phantom, STIR + T1w)",
                list(LESION_CLASSES),
                ["#000000", "#f58231", "#4363d8"],
                members_only=True,
                channels=["STIR", "T1w"],
                lesion_classes=["lytic lesion", "sclerotic lesion"],
            )
        for name, role in (("mila", "ml_staff"), ("sofia", "supervisor"), ("anna", "annotator")):
            do_add_member(project, User.objects.get(username=name), role)
        if project.subjects.exists():
            return
        root = Path(settings.VAR_DIR) / "demo-lesions"
        shutil.rmtree(root, ignore_errors=True)
        write_lesion_mids(root / "labelled", n_subjects=subjects, n_slices=5, size=(size, size), seed=14)
        (root / "unlabelled").mkdir()
        for sub in sorted(p for p in (root / "labelled").glob("sub-*") if p.is_dir())[labelled:]:
            shutil.move(str(sub), root / "unlabelled" / sub.name)
            shutil.rmtree(
                root / "labelled" / "derivatives" / "phantom-lesions" / sub.name, ignore_errors=True
            )
        for tree in ("labelled", "unlabelled"):
            report = import_path(root / tree, project, kind="mids")
            self.stdout.write(
                f"lesion phantom {tree}: {len(report.series_ids)} series, {report.slices} slices"
            )

    def import_real(self) -> None:
        from annotator.imports.service import import_path

        source = Path(knob("SHARED_DATA")) / "mids-lumbar"
        if not source.exists():
            self.stdout.write(f"no real data at {source}: skipped")
            return
        project = Project.objects.filter(slug="mids-real").first()
        if project is None:
            project = create_project(
                "mids-real",
                "Real lumbar MRI (vertebrae + discs)",
                ["background", "vertebrae", "intervertebral discs"],
                ["#000000", "#e6194b", "#ffe119"],
            )
        if project.subjects.exists():
            return
        label_map = Path(settings.BASE_DIR) / "fixtures" / "label_maps" / "mids-lumbar.json"
        report = import_path(source, project, kind="mids", label_map=label_map)
        self.stdout.write(f"real mids-lumbar: {len(report.series_ids)} series, {report.slices} slices")
        other_sites = source.parent / "mids-multisite"
        if other_sites.exists():
            # Instance labels ("vertebra instance 7") map onto the vertebra class through their label
            # tables: no hand-made map.
            report = import_path(other_sites, project, kind="mids")
            self.stdout.write(f"real mids-multisite: {len(report.series_ids)} series, {report.slices} slices")
