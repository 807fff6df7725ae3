"""A throw-away SpineLab for the measurement browser test: temp SQLite + media, `runserver` on a free
loopback port, seeded with a 3-class spine project (background, vertebrae, discs) whose series holds a
real mid-sagittal slice of ../shared/data/mids-lumbar with its vertebra mask (sub-VB301), or, where the
data is absent, a synthetic column of five bodies with a crushed middle one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.e2e.editor_server import free_port

ROOT = Path(__file__).resolve().parents[2]

SEED = r"""
import json, os
from pathlib import Path
import numpy as np
from django.contrib.auth.models import Group, User
from annotator.models import Assignment, Series, Session, Slice, Subject
from annotator.services.masks import save_imported_mask, save_model_prelabel
from annotator.services.projects import create_project
from annotator.services.roles import ensure_groups
from annotator.services.slicedata import channel_stats, save_array

ensure_groups()
users = {}
for name, role in (("alice", "annotator"), ("sam", "supervisor")):
    u = User.objects.create_user(name, password=f"{name}-pass-123")
    u.groups.add(Group.objects.get(name=role))
    users[name] = u
project = create_project("spine", "Lumbar spine (real)", ["background", "vertebrae", "discs"])

shared = Path(os.environ.get("SPINELAB_SHARED_DATA", Path.cwd().parent / "shared" / "data")) / "mids-lumbar"
mask_path = next(iter(sorted(shared.glob("derivatives/*/sub-VB301/*/*desc-vertebrae_dseg.nii.gz"))), None)
image_path = next(iter(sorted(shared.glob("sub-VB301/*/*/*/*_T2w.nii.gz"))), None)
if mask_path is not None and image_path is not None:
    from mlcore.io import read_sagittal
    images, affine = read_sagittal(image_path)
    masks, _ = read_sagittal(mask_path)
    spacing = [float(v) for v in np.linalg.norm(affine[:3, :3], axis=0)]
    mid = int(np.argmax((masks > 0).sum(axis=(1, 2))))
    planes = [mid - 6, mid, mid + 6]
    images = [images[i] for i in planes]
    labels = [(masks[i] > 0).astype(np.uint8) for i in planes]
    subject, source = "VB301", "mids-lumbar sub-VB301"
else:
    from tests.mlcore.measure_shapes import Body, spine
    spacing = [3.0, 0.6, 0.9]
    normal, crushed = Body(depth=36, ant=26, post=26), Body(depth=36, ant=17, post=17)
    column = spine([normal, normal, crushed, normal, normal], (0.6, 0.9), size_mm=(230.0, 80.0))
    rng = np.random.default_rng(0)
    labels = [column, column, column]
    images = [300 + 900 * (column > 0) + rng.normal(0, 60, column.shape) for _ in range(3)]
    subject, source = "SYN01", "synthetic"
h, w = labels[0].shape
sub = Subject.objects.create(project=project, label=subject)
ses = Session.objects.create(subject=sub, label="1")
series = Series.objects.create(session=ses, modality="T2w", source_format=Series.Format.NIFTI,
                               shape=[3, h, w], spacing=spacing, content_hash="e2e-measure")
ids = []
for index, (image, mask) in enumerate(zip(images, labels)):
    arr = np.asarray(image, dtype=np.float32).astype(np.int16)
    path = save_array(f"slices/{series.pk}/{index}_T2w.npy", arr)
    s = Slice.objects.create(series=series, index=index, height=h, width=w, channels={"T2w": path},
                             stats={"T2w": channel_stats(arr)})
    Assignment.objects.create(slice=s, annotator=users["alice"])
    if index == 1:
        save_imported_mask(s, mask, {"source": source})
    else:
        save_model_prelabel(s, mask, {"model": "reference mask as a stand-in"})
    ids.append(s.pk)
print("SEED=" + json.dumps({"series": series.pk, "slices": ids, "source": source, "size": [h, w]}))
"""


@contextmanager
def measure_server() -> Iterator[dict]:
    """Yield {"url", "ids", "var"}; the server and its files are gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="spinelab-e2e-measure-") as var:
        env = {**os.environ, "SPINELAB_VAR_DIR": var, "SPINELAB_DEBUG": "0", "PYTHONUNBUFFERED": "1"}
        env.pop("SPINELAB_DATABASE_URL", None)
        env.pop("SPINELAB_MEDIA_ROOT", None)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
        seeded = subprocess.run(
            [*manage, "shell", "-c", SEED], env=env, check=True, cwd=ROOT, capture_output=True, text=True
        )
        line = next(x for x in seeded.stdout.splitlines() if x.startswith("SEED="))
        ids = json.loads(line[5:])
        port = free_port()
        log = open(Path(var) / "server.log", "w")  # noqa: SIM115 (closed in finally, after the server)
        server = subprocess.Popen(
            [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90  # a loaded 2-core machine can be slow to start Django
            while True:
                try:
                    urllib.request.urlopen(url + "/login/", timeout=2)
                    break
                except OSError as err:
                    if time.time() > deadline or server.poll() is not None:
                        log_text = (Path(var) / "server.log").read_text()
                        raise RuntimeError("the test server did not start:\n" + log_text) from err
                    time.sleep(0.2)
            yield {"url": url, "ids": ids, "var": var}
        finally:
            server.terminate()
            server.wait(10)
            log.close()
