"""Projects and label schemas."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.db import transaction

from annotator.errors import InvalidInput
from annotator.models import LabelClass, MaskRevision, Project, ProjectMembership, Series
from annotator.models.schema import EDITOR_KEYS, LUMBAR_CLASSES
from annotator.users import User

SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")
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
def create_project(
    slug: str,
    name: str,
    class_names: list[str],
    colours: list[str] | None = None,
    *,
    members_only: bool = False,
    channels: list[str] | None = None,
    lesion_classes: list[str] | None = None,
) -> Project:
    """A project with its own schema, e.g. ["background", "lytic lesion", "sclerotic lesion"]."""
    if not SLUG.match(slug or ""):
        raise InvalidInput(f"a project slug is 1..50 letters, digits, '-' or '_', got {slug!r}")
    if Project.objects.filter(slug=slug).exists():
        raise InvalidInput(f"a project with slug {slug!r} already exists")
    if not (name or "").strip() or len(name) > 200:
        raise InvalidInput("a project needs a name of 1..200 characters")
    project = Project.objects.create(
        slug=slug, name=name, members_only=members_only, channels=check_channels(channels or [])
    )
    define_schema(project, class_names, colours)
    unknown = sorted(set(lesion_classes or []) - set(class_names[1:]))
    if unknown:
        raise InvalidInput(f"lesion classes must be foreground classes of the schema: {unknown}")
    project.classes.filter(name__in=lesion_classes or []).update(is_lesion=True)
    return project


def define_schema(project: Project, class_names: list[str], colours: list[str] | None = None) -> None:
    if not 2 <= len(class_names) <= 256:
        raise InvalidInput(f"a schema needs 2..256 classes (background first), got {len(class_names)}")
    if len(set(class_names)) != len(class_names):
        raise InvalidInput("class names must be unique")
    if any(not name or len(name) > 100 for name in class_names):
        raise InvalidInput("every class needs a name of 1..100 characters")
    palette = colours or [DEFAULT_PALETTE[i % len(DEFAULT_PALETTE)] for i in range(len(class_names))]
    for index, name in enumerate(class_names):
        LabelClass.objects.create(
            project=project,
            index=index,
            name=name,
            colour=palette[index],
            key=EDITOR_KEYS[index] if index < len(EDITOR_KEYS) else "",
        )


CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_+-]{0,19}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


CHANNEL_SETS: dict[str, list[str]] = {"T2w": ["T2w"], "T2w+T1w": ["T2w", "T1w"]}


def channel_names(choice: str) -> list[str]:
    """'T2w', 'T2w+T1w' or any sequence names joined by '+' ('STIR+T1c') -> the ordered channels."""
    if choice in CHANNEL_SETS:
        return CHANNEL_SETS[choice]
    names = str(choice).split("+")
    if not all(CHANNEL_NAME.match(n) for n in names) or len(set(names)) != len(names) or len(names) > 8:
        raise InvalidInput(
            f"unknown input channels {choice!r}: give up to 8 sequence names joined by '+' "
            f"(e.g. 'STIR+T1c'), or one of {sorted(CHANNEL_SETS)}"
        )
    return names


def project_channel_choice(project: Any) -> str:
    """A project's training channels as a round's `channels` option (T2w when it names none)."""
    return "+".join(project.channels) if project.channels else "T2w"


def project_sequences(project: Project) -> list[str]:
    """The sequences present in a project: its series' modalities. A slice's channels are always
    modalities of series of its session (imports/persist.py stores every aligned series too), so the
    series alone answer, without reading the slices (issue 17: the page costs the same at any size)."""
    series = Series.objects.filter(session__subject__project=project).order_by()
    return sorted(set(series.values_list("modality", flat=True).distinct()))


def has_masks(project: Project) -> bool:
    return MaskRevision.objects.filter(slice__series__session__subject__project=project).exists()


def check_channels(channels: Any) -> list[str]:
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise InvalidInput("channels must be a list of sequence names, e.g. ['STIR', 'T1c']")
    bad = [c for c in channels if not CHANNEL_NAME.match(c)]
    if bad:
        raise InvalidInput(f"channel names are letters, digits, '_', '+' or '-' (at most 20): {bad}")
    if len(set(channels)) != len(channels):
        raise InvalidInput(f"a channel is listed twice: {channels}")
    if len(channels) > 8:
        raise InvalidInput(f"at most 8 training channels, got {len(channels)}")
    return list(channels)


@transaction.atomic
def do_update_project(
    project: Project, *, name: str, description: str, members_only: bool, channels: list[str]
) -> Project:
    """Name, description, members-only flag and training channels (ordered) of a project."""
    if not name.strip() or len(name) > 200:
        raise InvalidInput("a project needs a name of 1..200 characters")
    project.name = name.strip()
    project.description = description
    project.members_only = members_only
    project.channels = check_channels(channels)
    project.save(update_fields=["name", "description", "members_only", "channels"])
    return project


@transaction.atomic
def do_save_schema(project: Project, classes: list[dict[str, Any]]) -> list[LabelClass]:
    """Save the ordered class list [{name, colour, key, is_lesion}] (index = position).

    Once masks exist, the stored pixel values must keep their meaning: existing classes may be
    renamed, recoloured, re-keyed and (un)flagged as lesions, and classes may be appended, but none
    may be removed or moved. Before the first mask the schema may change freely."""
    if not 2 <= len(classes) <= 256:
        raise InvalidInput(f"a schema needs 2..256 classes (background first), got {len(classes)}")
    names = [str(c.get("name") or "").strip() for c in classes]
    if not all(names) or any(len(n) > 100 for n in names):
        raise InvalidInput("every class needs a name of 1..100 characters")
    if len(set(names)) != len(names):
        duplicated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidInput(f"class names must be unique: {duplicated} appear twice")
    keys = [str(c.get("key") or "") for c in classes]
    if any(len(k) > 1 for k in keys):
        raise InvalidInput("an editor key is one character")
    used = [k for k in keys if k]
    if len(set(used)) != len(used):
        raise InvalidInput(f"editor keys must be unique: {sorted({k for k in used if used.count(k) > 1})}")
    colours = [
        str(c.get("colour") or DEFAULT_PALETTE[i % len(DEFAULT_PALETTE)]) for i, c in enumerate(classes)
    ]
    bad = [c for c in colours if not COLOUR.match(c)]
    if bad:
        raise InvalidInput(f"colours are #rrggbb: {bad}")
    existing = list(LabelClass.objects.select_for_update().filter(project=project).order_by("index"))
    if has_masks(project) and len(classes) < len(existing):
        gone = [c.name for c in existing[len(classes) :]]
        raise InvalidInput(
            f"masks exist in this project, so classes cannot be removed or renumbered (would drop {gone}); "
            "rename a class instead"
        )
    # Two passes: the unique (project, name) constraint must hold while names swap places.
    LabelClass.objects.filter(project=project, index__gte=len(classes)).delete()
    token = uuid.uuid4().hex
    for row in LabelClass.objects.filter(project=project):
        row.name = f"{token}-{row.index}"
        row.save(update_fields=["name"])
    for index, spec in enumerate(classes):
        LabelClass.objects.update_or_create(
            project=project,
            index=index,
            defaults={
                "name": names[index],
                "colour": colours[index],
                "key": keys[index],
                "is_lesion": bool(spec.get("is_lesion")) and index > 0,
            },
        )
    return list(project.classes.order_by("index"))


@transaction.atomic
def do_add_member(project: Project, user: User, role: str) -> ProjectMembership:
    if role not in ProjectMembership.Role.values:
        raise InvalidInput(f"role must be one of {ProjectMembership.Role.values}, got {role!r}")
    found, _ = ProjectMembership.objects.get_or_create(project=project, user=user, role=role)
    return found


@transaction.atomic
def do_remove_member(project: Project, user: User, role: str | None = None) -> int:
    """Remove one role (or every role when `role` is None) of a user in a project -> rows removed."""
    if role is not None and role not in ProjectMembership.Role.values:
        raise InvalidInput(f"role must be one of {ProjectMembership.Role.values}, got {role!r}")
    qs = ProjectMembership.objects.filter(project=project, user=user)
    if role is not None:
        qs = qs.filter(role=role)
    removed, _ = qs.delete()
    return removed
