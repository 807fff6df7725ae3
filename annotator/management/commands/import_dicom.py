"""`manage.py import_dicom PATH [--project lumbar]`: import DICOM MR files (folder or zip)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from annotator.management.commands.import_mids import add_import_arguments, run_import


class Command(BaseCommand):
    help = "Import DICOM MR series (a folder or zip of files; DICOMDIR and non-MR files are skipped)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_import_arguments(parser, label_map=False)

    def handle(self, *args: Any, **options: Any) -> None:
        run_import(self, "dicom", options)
