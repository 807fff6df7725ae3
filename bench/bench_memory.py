"""Memory of SpineLab's processes (issue 17): what a web worker, a Celery worker and an import hold.

    uv run python bench/bench_memory.py import [--shape 224,224,77]   # peak RSS of NIfTI, DICOM, PNG imports
    uv run python bench/bench_memory.py web                           # gunicorn worker after every page
    uv run python bench/bench_memory.py worker                        # Celery worker around a round

Each mode works in a throw-away SPINELAB_VAR_DIR (SQLite, local media, filesystem broker) and runs
the code under test in fresh processes, so an earlier import never hides a later one.

- import: a 3D int16 NIfTI of `--shape` with a label volume beside it (a MIDS tree) is imported with
  `import_path` in a fresh process; VmHWM is reset after Django and the import modules are loaded
  (/proc/self/clear_refs), so "peak" is the import's own high-water mark, compared with the volume's
  array size (a first tiny import in the same process loads the modules an import imports lazily, as
  in a worker that has imported before). A bare `nibabel` load of the same file is measured the same way. The same int16 volume
  as a DICOM series (one uncompressed single-frame MR file per plane) and as a folder of 16-bit PNGs
  (one per plane, a uint8 .npy mask beside each: PNG imports are one slice per series) are imported
  the same way.
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


def write_dicom(folder: Path, shape: tuple[int, int, int]) -> Path:
    """The int16 volume of `write_tree` as sagittal single-frame MR files (explicit VR little endian),
    one per plane of its last axis, 4 mm apart."""
    import numpy as np
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    volume = np.random.default_rng(0).integers(0, 2000, size=shape, dtype=np.int16)
    folder.mkdir(parents=True)
    series, study = generate_uid(), generate_uid()
    for k in range(shape[2]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = pydicom.Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID, ds.StudyInstanceUID = series, study
        ds.PatientID, ds.Modality, ds.SeriesDescription = "M01", "MR", "T2 SAG"
        ds.InstanceNumber = k + 1
        ds.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
        ds.ImagePositionPatient = [4.0 * k, 0, 0]
        ds.PixelSpacing = [0.8, 0.8]
        ds.Rows, ds.Columns = shape[0], shape[1]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.PixelData = np.ascontiguousarray(volume[:, :, k]).tobytes()
        ds.save_as(folder / f"im{k:04d}.dcm", enforce_file_format=True)
    return folder


def write_png(folder: Path, shape: tuple[int, int, int]) -> Path:
    """The int16 volume's planes as 16-bit PNGs (images/N.png) with uint8 masks (masks/N.npy)."""
    import numpy as np
    from PIL import Image

    volume = np.random.default_rng(0).integers(0, 2000, size=shape, dtype=np.int16)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    for k in range(shape[2]):
        Image.fromarray(volume[:, :, k].astype(np.uint16)).save(folder / "images" / f"{k}.png")
        labels = np.zeros(shape[:2], np.uint8)
        labels[shape[0] // 4 : shape[0] // 2, shape[1] // 4 : shape[1] // 2] = 1
        np.save(folder / "masks" / f"{k}.npy", labels)
    return folder


def import_child(tree: str, what: str, warm_up: bool = True) -> None:
    """In a fresh process: import the tree (or nibabel-load its image) and print memory as JSON.
    what: "bare" (nibabel load), "mids", "dicom" or "png"."""
    django_setup()
    import nibabel as nib
    import numpy as np
    from django.core.management import call_command

    import annotator.tasks  # noqa: F401  (what a Celery worker loads at boot, before any task)
    from annotator.imports.service import import_path
    from annotator.services.projects import default_project

    call_command("migrate", verbosity=0)
    project = default_project()
    # A first tiny import of the same kind loads what an import imports lazily (nibabel's and PIL's
    # submodules, storage and ORM code: ~2.5 MB once per process), as in a worker that has imported
    # before: the peak below is then what this volume costs.
    if warm_up:
        warm = Path(tempfile.mkdtemp(prefix="spinelab-bench-warm-")) / what
        {"bare": write_tree, "mids": write_tree, "dicom": write_dicom, "png": write_png}[what](
            warm, (8, 8, 2)
        )
        if what == "bare":
            np.asanyarray(nib.load(str(next(warm.rglob("*_T2w.nii.gz")))).dataobj)
        else:
            import_path(warm, project, kind=what, label_map="identity" if what != "dicom" else None)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the peak below is the work's own
    before = status_kb("VmRSS")
    start = time.perf_counter()
    if what == "bare":
        array = np.asanyarray(nib.load(str(next(Path(tree).rglob("*_T2w.nii.gz")))).dataobj)
        nbytes = array.nbytes
        slices = array.shape[2]
    else:
        report = import_path(tree, project, kind=what, label_map="identity" if what != "dicom" else None)
        nbytes = -1  # counted below, once the peak is read
        slices = report.slices
    seconds = time.perf_counter() - start
    peak = status_kb("VmHWM")
    if nbytes < 0:
        from annotator.models import Series

        shapes = Series.objects.filter(pk__in=report.series_ids).values_list("shape", flat=True)
        nbytes = sum(int(np.prod(shape)) * 2 for shape in shapes)  # every volume here is 16-bit
    print(
        json.dumps(
            {
                "before_mb": before / 1024,
                "peak_mb": peak / 1024,
                "array_mb": nbytes / 2**20,
                "slices": slices,
                "seconds": seconds,
            }
        )
    )


def bench_import(args: argparse.Namespace, env: dict[str, str]) -> None:
    shape = tuple(int(v) for v in args.shape.split(","))
    with tempfile.TemporaryDirectory(prefix="spinelab-bench-import-") as tmp:
        trees = {
            "mids": write_tree(Path(tmp) / "mids", shape) and Path(tmp) / "mids",  # type: ignore[arg-type]
            "dicom": write_dicom(Path(tmp) / "dicom", shape),  # type: ignore[arg-type]
            "png": write_png(Path(tmp) / "png", shape),  # type: ignore[arg-type]
        }
        trees["bare"] = trees["mids"]
        print(
            f"volume {args.shape} int16 (NIfTI with a uint8 label volume; DICOM single-frame files; "
            f"PNG planes with uint8 .npy masks); {'cold' if args.cold else 'warm'}; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"{'what':24} {'array MB':>9} {'RSS before':>11} {'peak':>8} {'peak - before':>14} {'ratio':>6} {'s':>6}"
        )
        labels = {
            "bare": "nibabel load",
            "mids": "import_path NIfTI",
            "dicom": "import_path DICOM",
            "png": "import_path PNG",
        }
        for what in args.readers.split(","):
            env["SPINELAB_VAR_DIR"] = str(Path(tmp) / f"var-{what}")
            r = fresh("import-child", str(trees[what]), what, "cold" if args.cold else "warm", env=env)
            extra = r["peak_mb"] - r["before_mb"]
            print(
                f"{labels[what]:24} {r['array_mb']:9.1f} {r['before_mb']:11.1f} "
                f"{r['peak_mb']:8.1f} {extra:14.1f} {extra / r['array_mb']:5.2f}x {r['seconds']:6.1f}"
            )


# --- web ------------------------------------------------------------------------------------------
def seeded_var(prefix: str) -> tuple[Path, dict[str, str]]:
    """A throw-away var folder with the demo seeded (phantom only) and its environment."""
    var = Path(tempfile.mkdtemp(prefix=prefix))
    env = {**os.environ, "SPINELAB_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    env.setdefault("OMP_NUM_THREADS", "1")
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], check=True, env=env, cwd=ROOT)
    subprocess.run(
        [*manage, "seed_demo", "--no-real", "--no-lesions"],
        check=True,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return var, env


def page_urls() -> list[str]:
    """Every page and parameterless API list of the URL configuration, ids filled from the demo."""
    import re

    from django.urls import get_resolver
    from django.urls.resolvers import URLResolver

    from annotator.models import Project, Slice

    first = Slice.objects.order_by("pk").first()
    ids = {"slice_id": first.pk if first else 1, "series_id": first.series_id if first else 1, "pk": 1}
    ids["slug"] = Project.objects.order_by("pk").first().slug  # type: ignore[union-attr]

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    urls = []
    for pattern in walk(get_resolver().url_patterns):
        if (
            pattern.startswith(("admin/", "static/", "media/", "logout"))
            or "(?P" in pattern
            or "^" in pattern
        ):
            continue
        if pattern.startswith("api/") and ("<" in pattern or "schema" in pattern or "docs" in pattern):
            continue
        urls.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids.get(m.group(1), 1)), pattern))
    return urls


class Browser:
    """A logged-in session over real HTTP (cookies, CSRF), like a user's browser."""

    def __init__(self, base: str) -> None:
        import http.cookiejar
        import urllib.request

        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def csrf(self) -> str:
        return next((c.value for c in self.jar if c.name == "csrftoken"), "")

    def request(self, path: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
        import urllib.error
        import urllib.request

        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=120) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except urllib.error.URLError:
            return 0  # not listening yet

    def login(self, username: str, password: str) -> None:
        from urllib.parse import urlencode

        self.request("/login/")
        form = {"username": username, "password": password, "csrfmiddlewaretoken": self.csrf()}
        self.request("/login/", urlencode(form).encode(), {"Referer": self.base + "/login/"})


def bench_web(args: argparse.Namespace) -> None:
    import socket

    var, env = seeded_var("spinelab-bench-web-")
    os.environ.update(env)
    django_setup()
    urls = page_urls()
    password = json.loads((var / "demo-credentials.json").read_text())["admin"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "annotator.wsgi", "-b", f"127.0.0.1:{port}", "--workers", "1",
         "--threads", "1", "--timeout", "300", "--log-level", "warning"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 120
        while browser.request("/login/") != 200:
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not answer")
            time.sleep(0.5)
        worker = [p for p in tree_pids(server.pid) if p != server.pid][0]
        idle = status_kb("VmRSS", worker) / 1024
        browser.login("admin", password)
        statuses = {url: browser.request(url) for url in urls}
        options = {"architectures": ["UD"], "folds": 2, "epochs": 1, "steps_per_epoch": 1}
        launch = browser.request(
            "/api/rounds/",
            json.dumps(options).encode(),
            {
                "Content-Type": "application/json",
                "X-CSRFToken": browser.csrf(),
                "Referer": browser.base + "/",
            },
        )
        statuses["POST /api/rounds/"] = launch
        for url in urls:  # a second visit: the pages with a round to show
            browser.request(url)
        after = status_kb("VmRSS", worker) / 1024
        peak = status_kb("VmHWM", worker) / 1024
        torch_maps = any("libtorch" in line for line in Path(f"/proc/{worker}/maps").read_text().splitlines())
    finally:
        server.terminate()
        server.wait(30)
    errors = {u: s for u, s in statuses.items() if s >= 500}
    print(
        f"load average {os.getloadavg()[0]:.1f}; gunicorn 1 sync worker; {len(urls)} pages and API lists, twice"
    )
    print(f"round launch: HTTP {launch}; responses >= 500: {errors or 'none'}; torch loaded: {torch_maps}")
    print(
        f"worker RSS: idle {idle:.0f} MB, after every page + launch {after:.0f} MB, peak {peak:.0f} MB (target <= 250)"
    )


# --- worker ---------------------------------------------------------------------------------------
def bench_worker(args: argparse.Namespace) -> None:
    import threading

    var, env = seeded_var("spinelab-bench-worker-")
    os.environ.update(env)
    django_setup()
    from django.contrib.auth.models import User

    from annotator.models import Job
    from annotator.rounds.launch import launch_round
    from annotator.rounds.options import parse_options
    from annotator.services.projects import default_project

    overrides = {"folds": 2, "epochs": 1, "steps_per_epoch": args.steps}
    print(f"load average {os.getloadavg()[0]:.1f}; demo round, cpu preset with {overrides}")
    print(f"{'pool':34} {'idle MB':>8} {'peak MB':>8} {'after MB':>9} {'round s':>8}")
    for pool in ("prefork", "solo"):
        command = [sys.executable, "-m", "celery", "-A", "annotator", "worker", "-Q", "default,gpu",
                   "-n", f"{pool}@%h", "--pool", pool, "--concurrency", "1", "--loglevel", "INFO",
                   "--without-gossip", "--without-mingle"]  # fmt: skip
        log = (var / f"worker-{pool}.log").open("w")
        worker = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        samples: list[float] = []
        stop = threading.Event()

        def sample(
            pid: int = worker.pid, samples: list[float] = samples, stop: threading.Event = stop
        ) -> None:
            while not stop.is_set():
                samples.append(tree_rss_mb(pid))
                time.sleep(0.25)

        try:
            deadline = time.monotonic() + 120
            while b"ready" not in (var / f"worker-{pool}.log").read_bytes():
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise SystemExit(
                        f"worker did not start:\n{(var / f'worker-{pool}.log').read_text()[-2000:]}"
                    )
                time.sleep(0.5)
            time.sleep(3)
            idle = tree_rss_mb(worker.pid)
            thread = threading.Thread(target=sample, daemon=True)
            thread.start()
            started = time.monotonic()
            rnd = launch_round(default_project(), User.objects.get(username="mila"), parse_options(overrides))
            while Job.objects.get(pk=rnd.job_id).state not in ("succeeded", "failed", "cancelled"):
                time.sleep(1)
            seconds = time.monotonic() - started
            time.sleep(5)  # the prefork pool replaces its child
            after = tree_rss_mb(worker.pid)
            stop.set()
            thread.join()
            state = Job.objects.get(pk=rnd.job_id).state
        finally:
            worker.terminate()
            worker.wait(60)
        label = "prefork, 1 child, max 1 task/child" if pool == "prefork" else "solo (before)"
        print(f"{label:34} {idle:8.0f} {max(samples or [0]):8.0f} {after:9.0f} {seconds:8.0f}  round {state}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=["import", "web", "worker", "import-child"])
    parser.add_argument("rest", nargs="*")
    parser.add_argument("--shape", default="224,224,77")
    parser.add_argument("--cold", action="store_true", help="import: no tiny import first (first use)")
    parser.add_argument("--readers", default="bare,mids,dicom,png", help="import: which imports to measure")
    parser.add_argument("--steps", type=int, default=10, help="worker: steps per epoch of the round")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    if args.mode == "import-child":
        import_child(args.rest[0], args.rest[1], args.rest[2] != "cold")
    elif args.mode == "import":
        bench_import(args, env)
    elif args.mode == "web":
        bench_web(args)
    else:
        bench_worker(args)


if __name__ == "__main__":
    main()
