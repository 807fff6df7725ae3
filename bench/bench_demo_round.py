"""The demo's default round, end to end on the embedded default, timed and scored.

What a new user gets from `scripts/demo` then *Launch round* with the form's defaults: a fresh var
folder (SQLite, filesystem broker), `seed_demo` (10 phantom subjects of 9 slices at 256 x 256 px, 6
labelled), the Celery workers exactly as `scripts/demo` starts them (`scripts/workers`: on this
2-core machine two gpu workers with one PyTorch thread each, so the two folds train at the same time;
`--gpu-workers 1` gives the earlier single worker with both threads), and the round launched with the deployment's defaults (the `cpu` preset) by the ML staff user.
Printed: wall time from launch to the round's end, the cross-validated IoU per class (final weights
of each fold, mean over folds), the gate's decision, and the IoU of the pre-labels the annotators
will see on the 4 unlabelled subjects against the phantom's truth (which the demo never imported).

    uv run python bench/bench_demo_round.py [--keep] [--gpu-workers N]

What it does not show: real images, other seeds, a loaded machine's effect (the load average is
printed), GPU timings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp var folder")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument(
        "--options", default="{}", help="JSON launch options over the preset, e.g. '{\"filters\": 8}'"
    )
    parser.add_argument("--gpu-workers", type=int, default=0, help="0: what scripts/workers picks")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="spinelab-demo-round-"))
    env = {**os.environ, "SPINELAB_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    os.environ.update(env)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], check=True, env=env, cwd=ROOT)
    subprocess.run(
        [*manage, "seed_demo", "--no-real"], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    worker_env = {**env, **({"SPINELAB_GPU_WORKERS": str(args.gpu_workers)} if args.gpu_workers else {})}
    workers = subprocess.Popen(
        [str(ROOT / "scripts" / "workers")], env=worker_env, cwd=ROOT, start_new_session=True
    )
    try:
        return run(var, args.timeout, json.loads(args.options))
    finally:
        os.killpg(workers.pid, signal.SIGTERM)
        workers.wait(60)
        if not args.keep:
            shutil.rmtree(var, ignore_errors=True)


def run(var: Path, timeout: float, overrides: dict) -> int:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.auth.models import User

    from annotator.models import Job, ModelVersion, Slice, TrainingRound
    from annotator.rounds.launch import launch_round
    from annotator.rounds.options import parse_options
    from annotator.services.masks import revision_labels
    from annotator.services.projects import default_project
    from mlcore import metrics
    from mlcore.phantom import LUMBAR_CLASSES, generate_subject

    project = default_project()
    options = parse_options(overrides)  # {}: exactly what /rounds/new offers by default
    print(f"load {os.getloadavg()[0]:.1f}; options: {options}")
    started = time.monotonic()
    rnd = launch_round(project, User.objects.get(username="mila"), options)
    while True:
        job = Job.objects.get(pk=rnd.job_id)
        if job.state in ("succeeded", "failed", "cancelled"):
            break
        if time.monotonic() - started > timeout:
            print(f"round still {job.state} after {timeout} s: {job.message}")
            return 1
        time.sleep(1)
    seconds = time.monotonic() - started
    rnd = TrainingRound.objects.get(pk=rnd.pk)
    print(
        f"round {job.state} after {seconds:.0f} s ({seconds / 60:.1f} min): {job.message}; load {os.getloadavg()[0]:.1f}"
    )
    launched = Job.objects.get(pk=job.pk).created_at
    for child in Job.objects.filter(parent=job.pk).order_by("pk"):
        took = (
            (child.finished_at - child.started_at).total_seconds()
            if child.finished_at and child.started_at
            else 0
        )
        offset = (child.started_at - launched).total_seconds() if child.started_at else 0
        print(
            f"  {child.kind} {child.params.get('arch', '')} {child.params.get('fold', '')}: {child.state} "
            f"{took:.0f} s, started at +{offset:.0f} s"
        )
    print(f"gate: {rnd.gate.get('reason')}")
    for version in ModelVersion.objects.filter(training_round=rnd):
        report = version.report
        print(
            f"{version.label}: CV mean IoU without background {100 * (version.mean_iou or 0):.1f} % (final weights)"
        )
        for name, row in zip(LUMBAR_CLASSES, report["classes"], strict=False):
            mean, std = row.get("mean"), row.get("std")
            if mean is not None:
                print(f"  {name:22} {100 * mean:5.1f} +- {100 * (std or 0):4.1f}")
        decision = report.get("postprocess") or {}
        figures = ", ".join(f"{k} {100 * (v or 0):.1f} %" for k, v in decision.get("mean_iou_fg", {}).items())
        print(f"  pre-label post-processing chosen by the CV: {decision.get('chosen', 'none')} ({figures})")
    # Pre-labels of the pool against the truth the demo never imported (same seeds as seed_demo).
    confusion = np.zeros((12, 12), np.int64)
    truths: dict[str, np.ndarray] = {}
    for i in range(10):
        sub_seed = int(np.random.SeedSequence([7, i]).generate_state(1)[0])
        truths[f"P{i + 1:04d}"] = generate_subject(sub_seed, 9, (256, 256)).masks
    pool = Slice.objects.filter(series__session__subject__project=project, prelabel_revision__isnull=False)
    for slice_ in pool.select_related("series__session__subject", "prelabel_revision"):
        truth = truths[slice_.series.session.subject.label][slice_.index]
        confusion += metrics.confusion_matrix(revision_labels(slice_.prelabel_revision), truth, 12)
    if pool.exists():
        fg = metrics.mean_iou(confusion, include_background=False)
        print(
            f"pre-labels of {pool.count()} pool slices vs phantom truth: mean IoU without background {100 * fg:.1f} %"
        )
        print(
            "  "
            + ", ".join(
                f"{n} {100 * v:.0f}"
                for n, v in zip(LUMBAR_CLASSES, metrics.iou_per_class(confusion), strict=True)
            )
        )
    return 0 if job.state == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
