"""Projects and label schemas."""

from __future__ import annotations

from django.db import transaction

from annotator.errors import InvalidInput
from annotator.models import LabelClass, Project
from annotator.models.schema import EDITOR_KEYS, LUMBAR_CLASSES

DEFAULT_PALETTE = [
    "#000000",
    "#e6194b",
    "#3cb44b",
    "#ffe119",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#fabed4",
    "#469990",
]


def default_project() -> Project:
    project, created = Project.objects.get_or_create(
        slug="lumbar", defaults={"name": "Lumbar spine (12 classes)"}
    )
    if created:
        define_schema(project, [name for name, _ in LUMBAR_CLASSES], [c for _, c in LUMBAR_CLASSES])
    return project


@transaction.atomic
def create_project(slug: str, name: str, class_names: list[str], colours: list[str] | None = None) -> Project:
    """A project with its own schema, e.g. ["background", "lytic lesion", "sclerotic lesion"]."""
    if Project.objects.filter(slug=slug).exists():
        raise InvalidInput(f"a project with slug {slug!r} already exists")
    project = Project.objects.create(slug=slug, name=name)
    define_schema(project, class_names, colours)
    return project


def define_schema(project: Project, class_names: list[str], colours: list[str] | None = None) -> None:
    if not 2 <= len(class_names) <= 256:
        raise InvalidInput(f"a schema needs 2..256 classes (background first), got {len(class_names)}")
    if len(set(class_names)) != len(class_names):
        raise InvalidInput("class names must be unique")
    palette = colours or [DEFAULT_PALETTE[i % len(DEFAULT_PALETTE)] for i in range(len(class_names))]
    for index, name in enumerate(class_names):
        LabelClass.objects.create(
            project=project,
            index=index,
            name=name,
            colour=palette[index],
            key=EDITOR_KEYS[index] if index < len(EDITOR_KEYS) else "",
        )
