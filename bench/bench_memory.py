"""Memory of SpineLab's processes (issue 17): what a web worker, a Celery worker and an import hold.

    uv run python bench/bench_memory.py import [--shape 224,224,77]   # peak RSS of one NIfTI import
    uv run python bench/bench_memory.py web                           # gunicorn worker after every page
    uv run python bench/bench_memory.py worker                        # Celery worker around a round

Each mode works in a throw-away SPINELAB_VAR_DIR (SQLite, local media, filesystem broker) and runs
the code under test in fresh processes, so an earlier import never hides a later one.

- import: a 3D int16 NIfTI of `--shape` with a label volume beside it (a MIDS tree) is imported with
  `import_path` in a fresh process; VmHWM is reset after Django and the import modules are loaded
  (/proc/self/clear_refs), so "peak" is the import's own high-water mark, compared with the volume's
  array size. A bare `nibabel` load of the same file is measured the same way.
- web: gunicorn (1 sync worker, the production server) serves a seeded demo; a client logs in,
  visits every page and API list, launches a round; the worker's RSS (VmRSS of its pid) is read
  before and after, and whether it imported torch.
- worker: `scripts/worker default,gpu` (prefork, one child replaced per task) and, for comparison,
  the old `--pool solo` worker run the demo's round on a tiny budget; RSS of the worker's process
  tree idle, at its peak, and once the round has ended.
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


def status_kb(field: str, pid: int | str = "self") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def tree_pids(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/stat)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError, ProcessLookupError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += parents.get(current, [])
    return out


def tree_rss_mb(pid: int) -> float:
    return sum(status_kb("VmRSS", p) for p in tree_pids(pid)) / 1024


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    import django

    django.setup()


def fresh(mode: str, *args: str, env: dict[str, str]) -> dict:
    """Run this script's `mode` in a fresh process; its last stdout line is JSON."""
    run = subprocess.run(
        [sys.executable, __file__, mode, *args], env=env, capture_output=True, text=True, check=False
    )
    if run.returncode:
        raise SystemExit(f"{mode} failed:\n{run.stderr[-4000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


# --- import ---------------------------------------------------------------------------------------
def write_tree(folder: Path, shape: tuple[int, int, int]) -> Path:
    import nibabel as nib
    import numpy as np

    rng = np.random.default_rng(0)
    anat = folder / "sub-M01" / "ses-1" / "anat"
    anat.mkdir(parents=True)
    image = rng.integers(0, 2000, size=shape, dtype=np.int16)
    affine = np.diag([0.8, 0.8, 4.0, 1.0])  # axial-like input: import re-orients to sagittal
    path = anat / "sub-M01_ses-1_T2w.nii.gz"
    nib.save(nib.Nifti1Image(image, affine), str(path))
    masks = folder / "derivatives" / "labels" / "sub-M01" / "ses-1" / "anat"
    masks.mkdir(parents=True)
    labels = np.zeros(shape, np.uint8)
    labels[shape[0] // 4 : shape[0] // 2, shape[1] // 4 : shape[1] // 2, :] = 1
    nib.save(nib.Nifti1Image(labels, affine), str(masks / "sub-M01_ses-1_desc-vertebrae_dseg.nii.gz"))
    (masks / "sub-M01_ses-1_desc-vertebrae_dseg.json").write_text(json.dumps({"Labels": {"1": "vertebrae"}}))
    return path


def import_child(tree: str, bare: bool) -> None:
    """In a fresh process: import the tree (or nibabel-load its image) and print memory as JSON."""
    django_setup()
    import nibabel as nib
    import numpy as np
    from django.core.management import call_command

    from annotator.imports.service import import_path
    from annotator.services.projects import default_project

    call_command("migrate", verbosity=0)
    project = default_project()
    image = next(Path(tree).rglob("*_T2w.nii.gz"))
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the peak below is the work's own
    before = status_kb("VmRSS")
    start = time.perf_counter()
    if bare:
        array = np.asanyarray(nib.load(str(image)).dataobj)
        nbytes = array.nbytes
        slices = array.shape[2]
    else:
        report = import_path(tree, project, kind="mids", label_map="identity")
        nbytes = int(np.prod(nib.load(str(image)).shape)) * 2
        slices = report.slices
    seconds = time.perf_counter() - start
    peak = status_kb("VmHWM")
    print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024, "array_mb": nbytes / 2**20, "slices": slices, "seconds": seconds}))


def bench_import(args: argparse.Namespace, env: dict[str, str]) -> None:
    shape = tuple(int(v) for v in args.shape.split(","))
    with tempfile.TemporaryDirectory(prefix="spinelab-bench-import-") as tmp:
        tree = Path(tmp) / "mids"
        write_tree(tree, shape)  # type: ignore[arg-type]
        print(f"volume {args.shape} int16 with a uint8 label volume; load average {os.getloadavg()[0]:.1f}")
        print(f"{'what':24} {'array MB':>9} {'RSS before':>11} {'peak':>8} {'peak - before':>14} {'ratio':>6} {'s':>6}")
        for bare in (True, False):
            env["SPINELAB_VAR_DIR"] = str(Path(tmp) / ("var-bare" if bare else "var"))
            r = fresh("import-child", str(tree), "1" if bare else "0", env=env)
            extra = r["peak_mb"] - r["before_mb"]
            print(
                f"{'nibabel load' if bare else 'import_path':24} {r['array_mb']:9.1f} {r['before_mb']:11.1f} "
                f"{r['peak_mb']:8.1f} {extra:14.1f} {extra / r['array_mb']:5.2f}x {r['seconds']:6.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["import", "web", "worker", "import-child"])
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--shape", default="224,224,77")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    if args.mode == "import-child":
        import_child(args.rest[0], args.rest[1] == "1")
    elif args.mode == "import":
        bench_import(args, env)


if __name__ == "__main__":
    main()
