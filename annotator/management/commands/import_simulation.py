"""`python manage.py import_simulation FILE [--project lumbar] [--name NAME]`: show the learning
curves of `python -m mlcore simulate ... --out FILE` on the rounds dashboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotator.errors import SpineLabError
from annotator.models import Project
from annotator.rounds.dashboard import import_simulation


class Command(BaseCommand):
    help = "Import the JSON written by `python -m mlcore simulate --out FILE` as learning curves."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--project", default="lumbar", help="project slug (default lumbar)")
        parser.add_argument("--name", default="", help="name shown on the dashboard (default: file name)")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"project {options['project']!r} does not exist")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        try:
            run = import_simulation(project, data, options["name"] or path.name)
        except SpineLabError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"imported simulation {run.pk} ({', '.join(run.curves)}) into {project.slug}")
