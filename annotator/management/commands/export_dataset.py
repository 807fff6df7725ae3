"""`manage.py export_dataset FORMAT --project lumbar [--out file.zip]`: export a labelled dataset.

Runs the export as a Job in this process (recorded like one from the API, downloadable until it
expires) and copies the zip to --out; `--background` only queues it for an io worker instead.
"""

from __future__ import annotations

import shutil
from typing import Any

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotator.errors import SpineLabError
from annotator.exports import service
from annotator.models import Job, Project, Subject
from annotator.services import jobs


class Command(BaseCommand):
    help = "Export accepted masks (or a round's training set) as nifti, nnunet, dicom-seg or png."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("format", choices=service.FORMATS)
        parser.add_argument("--project", default="lumbar", help="project slug (default lumbar)")
        parser.add_argument("--subjects", default="", help="comma-separated subject labels (default all)")
        parser.add_argument("--series", default="", help="comma-separated series ids (default all)")
        parser.add_argument("--state", default="accepted", choices=["accepted", "submitted", "labelled"])
        parser.add_argument("--round", type=int, default=None, help="export round N's frozen training set")
        parser.add_argument("--track", default="main", choices=["main", "double", "gold"])
        parser.add_argument(
            "--channels", default="", help="nnunet: channels joined by '+' (default: the project's, else T2w)"
        )
        parser.add_argument("--no-images", action="store_true", help="nifti: masks only, no source images")
        parser.add_argument("--out", default="", help="copy the zip here")
        parser.add_argument("--background", action="store_true", help="queue the Job for an io worker")

    def handle(self, *args: Any, **options: Any) -> None:
        purged = service.purge_expired()  # housekeeping: the zips of expired exports
        if purged:
            self.stdout.write(f"deleted the files of {purged} expired export(s)")
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"no project with slug {options['project']!r}")
        labels = [s for s in options["subjects"].split(",") if s]
        subjects = list(
            Subject.objects.filter(project=project, label__in=labels).values_list("pk", flat=True)
        )
        if len(subjects) != len(set(labels)):
            raise CommandError(f"unknown subject label(s) in {labels} for project {project.slug}")
        data = {
            "project": project.pk,
            "format": options["format"],
            "subjects": subjects,
            "series": options["series"],
            "state": options["state"],
            "round": options["round"],
            "track": options["track"],
            "channels": options["channels"],
            "include_images": not options["no_images"],
        }
        try:
            selection, fmt, opts = service.parse_request(data)
        except SpineLabError as exc:
            raise CommandError(exc.message) from exc
        params = {"selection": selection.as_params(), "format": fmt, "options": opts}
        if options["background"]:
            job = jobs.create_job(Job.Kind.EXPORT, params=params, queue="io")
            self.stdout.write(f"queued export job {job.pk}")
            return
        job = Job.objects.create(kind="export", params=params, queue="io")
        jobs.run_job(job.pk, service.run_export)
        job.refresh_from_db()
        if job.state != Job.State.SUCCEEDED:
            raise CommandError(f"export job {job.pk} {job.state}: {job.message}")
        result = job.result
        self.stdout.write(
            f"export job {job.pk}: {result['series']} series, {result['slices']} slices, {result['size']} bytes "
            f"(stored as {result['file']} until {result['expires_at']})"
        )
        for note in result.get("notes", []):
            self.stdout.write(f"note: {note}")
        if options["out"]:
            with default_storage.open(result["file"], "rb") as src, open(options["out"], "wb") as dst:
                shutil.copyfileobj(src, dst)
            self.stdout.write(f"wrote {options['out']}")
