"""`manage.py import_png PATH [--project lumbar] [--label-map FILE|name]`: import PNG slices + masks."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotator.management.commands.import_mids import add_import_arguments, run_import


class Command(BaseCommand):
    help = "Import PNG slices (images/N.png) with optional masks (masks/N.npy or .png), one series each."

    def add_arguments(self, parser: CommandParser) -> None:
        add_import_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        run_import(self, "png", options)
