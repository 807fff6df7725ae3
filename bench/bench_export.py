"""Export memory benchmark: peak RSS of exporting N accepted slices in each format.

    uv run python bench/bench_export.py [--slices 1000] [--size 256] [--series 4]

Seeds a throw-away SQLite database and media folder (SPINELAB_VAR_DIR in a temp folder) with
`--series` synthetic int16 series holding `--slices` accepted slices in all, then runs each export
(png, nnunet, nifti) in its own fresh process and prints that process's peak RSS (VmHWM) next to
its RSS before the export started (the high-water mark is reset there, after the imports) and to the
size of all the slices' pixels. An export that held
every slice in memory would peak above baseline + that size; a streaming one stays far below.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("png", "nnunet", "nifti")


def status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    import django

    django.setup()


def seed(slices: int, size: int, series_count: int) -> None:
    django_setup()
    import numpy as np
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from annotator.models import Series, Session, Slice, SliceState, Subject
    from annotator.services.masks import build_revision
    from annotator.services.projects import default_project
    from annotator.services.slicedata import channel_stats, save_array

    project = default_project()
    rng = np.random.default_rng(0)
    per_series = slices // series_count
    yy, xx = np.mgrid[:size, :size]
    for number in range(series_count):
        subject = Subject.objects.create(project=project, label=f"B{number:02d}")
        series = Series.objects.create(
            session=Session.objects.create(subject=subject, label="1"),
            modality="T2w",
            source_format="synthetic",
            shape=[per_series, size, size],
            spacing=[1.0, 1.0, 1.0],
            affine=np.eye(4).tolist(),
            content_hash=f"bench-{number}",
        )
        for index in range(per_series):
            image = rng.integers(0, 4000, size=(size, size)).astype(np.int16)
            slice_ = Slice.objects.create(
                series=series,
                index=index,
                height=size,
                width=size,
                channels={"T2w": save_array(f"slices/{series.pk}/{index}_T2w.npy", image)},
                stats={"T2w": channel_stats(image)},
            )
            labels = np.zeros((size, size), np.uint8)
            for cls in range(1, 6):  # five disc-like ellipses whose place moves with the plane
                cy, cx = size * cls / 6, size / 2 + (index % 20) - 10
                labels[((yy - cy) / (size / 20)) ** 2 + ((xx - cx) / (size / 6)) ** 2 < 1] = cls
            revision = build_revision(slice_, labels, source="human")
            Slice.objects.filter(pk=slice_.pk).update(head_revision=revision, state=SliceState.ACCEPTED)


def export(fmt: str) -> dict[str, float | str]:
    django_setup()
    from annotator.exports.service import parse_request, run_export
    from annotator.models import Job
    from annotator.services import jobs
    from annotator.services.projects import default_project

    selection, fmt, options = parse_request({"project": default_project().pk, "format": fmt})
    job = Job.objects.create(
        kind="export", params={"selection": selection.as_params(), "format": fmt, "options": options}
    )
    # Importing the export modules (highdicom's tables) peaks at ~210 MB by itself; reset the
    # high-water mark so the peak below is the export's own.
    Path("/proc/self/clear_refs").write_text("5")
    before = status_mb("VmRSS")
    start = time.perf_counter()
    jobs.run_job(job.pk, run_export)
    seconds = time.perf_counter() - start
    job.refresh_from_db()
    if job.state != "succeeded":
        raise SystemExit(f"{fmt} export {job.state}: {job.message}\n{job.error}")
    return {
        "format": fmt,
        "slices": job.result["slices"],
        "seconds": round(seconds, 1),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(status_mb("VmHWM"), 1),
        "zip_mb": round(job.result["size"] / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--slices", type=int, default=1000)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--series", type=int, default=4)
    parser.add_argument("--step", choices=["all", "seed", "export"], default="all")
    parser.add_argument("--format", choices=FORMATS, default="png")
    args = parser.parse_args()
    if args.step == "seed":
        seed(args.slices, args.size, args.series)
        return
    if args.step == "export":
        print(json.dumps(export(args.format)))
        return
    with tempfile.TemporaryDirectory(prefix="spinelab-bench-export-") as tmp:
        env = {
            **os.environ,
            "SPINELAB_VAR_DIR": tmp,
            "SPINELAB_MEDIA_ROOT": f"{tmp}/media",
            "OMP_NUM_THREADS": "1",
        }
        me = [sys.executable, __file__]
        subprocess.run(
            [
                *me,
                "--step",
                "seed",
                *map(str, ["--slices", args.slices, "--size", args.size, "--series", args.series]),
            ],
            env=env,
            check=True,
        )
        pixels = args.slices * args.size * args.size * (2 + 1) / 2**20  # int16 image + uint8 mask
        print(
            f"{args.slices} accepted slices of {args.size}x{args.size} int16 in {args.series} series; "
            f"all their pixels (image + mask) = {pixels:.0f} MB"
        )
        print("| format | slices | seconds | RSS before export (MB) | peak RSS (MB) | zip (MB) |")
        print("|---|---|---|---|---|---|")
        for fmt in FORMATS:
            out = (
                subprocess.run(
                    [*me, "--step", "export", "--format", fmt],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            row = json.loads(out)
            print(
                f"| {fmt} | {row['slices']} | {row['seconds']} | {row['rss_before_mb']} | {row['peak_rss_mb']} "
                f"| {row['zip_mb']} |"
            )


if __name__ == "__main__":
    main()
