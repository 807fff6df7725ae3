"""`manage.py import_mids PATH [--project lumbar] [--label-map FILE|name]`: import a MIDS/BIDS tree."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.errors import SpineLabError
from annotator.imports import import_path
from annotator.models import Project
from annotator.services.projects import default_project

KIND = "mids"


def add_import_arguments(parser: CommandParser, label_map: bool = True) -> None:
    parser.add_argument("path", help="a folder, a .zip or a single file")
    parser.add_argument("--project", default="lumbar", help="project slug (default: lumbar)")
    if label_map:
        parser.add_argument(
            "--label-map",
            default=None,
            help="JSON file or a name in fixtures/label_maps/ (e.g. mids-lumbar), or 'identity'",
        )


def run_import(command: BaseCommand, kind: str, options: dict[str, Any]) -> None:
    slug = options["project"]
    project = default_project() if slug == "lumbar" else Project.objects.filter(slug=slug).first()
    if project is None:
        raise CommandError(f"no project with slug {slug!r}")
    try:
        report = import_path(options["path"], project, kind=kind, label_map=options.get("label_map"))
    except SpineLabError as exc:
        raise CommandError(exc.message) from exc
    command.stdout.write(report.summary())


class Command(BaseCommand):
    help = "Import a MIDS/BIDS tree of NIfTI volumes (with derivatives/*_dseg masks) into a project."

    def add_arguments(self, parser: CommandParser) -> None:
        add_import_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run_import(self, KIND, options)
