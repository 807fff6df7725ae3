"""A throw-away SpineLab for browser tests: temp SQLite + media, seeded data, `runserver` on a free
loopback port. Used by test_editor_browser.py and bench/bench_editor.mjs (via `python -m`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SEED = r"""
import json, sys
import numpy as np
from django.contrib.auth.models import Group, User
from annotator.models import Assignment, Series, Session, Slice, Subject
from annotator.services.masks import save_model_prelabel
from annotator.services.projects import default_project
from annotator.services.roles import ensure_groups
from annotator.services.slicedata import channel_stats, save_array

ensure_groups()
users = {}
for name in ("alice", "bob"):
    u = User.objects.create_user(name, password=f"{name}-pass-123")
    u.groups.add(Group.objects.get(name="annotator"))
    users[name] = u
project = default_project()
sub = Subject.objects.create(project=project, label="E2E01")
ses = Session.objects.create(subject=sub, label="E01")

def phantom(size, seed):
    try:
        from mlcore.phantom import generate_slice
        image, mask = generate_slice(np.random.default_rng(seed), size=size)
        return (image / max(1e-6, float(image.max())) * 3000).astype(np.int16), mask.astype(np.uint8)
    except ImportError:  # any slice will do for the editor
        yy, xx = np.mgrid[: size[0], : size[1]]
        image = (1500 + 1000 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.int16)
        return image, ((xx // 32 + yy // 32) % 12).astype(np.uint8)

out = {"project": project.pk}
for name, (h, w), n in (("small", (96, 128), 3), ("big", (512, 512), 1), ("huge", (1024, 1024), 1), ("shot", (256, 256), 1)):
    series = Series.objects.create(session=ses, modality="T2w", source_format=Series.Format.SYNTHETIC,
                                   shape=[n, h, w], spacing=[1.0, 1.0, 1.0], content_hash=f"e2e-{name}")
    ids = []
    for index in range(n):
        image, mask = phantom((h, w), 7 + index)
        path = save_array(f"slices/{series.pk}/{index}_T2w.npy", image)
        s = Slice.objects.create(series=series, index=index, height=h, width=w, channels={"T2w": path},
                                 stats={"T2w": channel_stats(image)})
        Assignment.objects.create(slice=s, annotator=users["alice"])
        if name == "shot":
            save_model_prelabel(s, mask, {"model": "phantom ground truth"})
        ids.append(s.pk)
    out[name] = ids

# Added after the others so their ids stay as they were: one slice with both T2w and T1w channels.
def contrasts(size, seed):
    try:
        from mlcore.phantom import generate_slice, sample_subject_params
        rng = np.random.default_rng(seed)
        params = sample_subject_params(rng)
        pair = [generate_slice(np.random.default_rng(seed), size, c, params)[0] for c in ("T2w", "T1w")]
    except ImportError:
        yy, xx = np.mgrid[: size[0], : size[1]]
        pair = [1500 + 1000 * np.sin(xx / 9.0) * np.cos(yy / 13.0), 800 + 5 * xx + 3 * yy]
    return [(a / max(1e-6, float(a.max())) * 3000).astype(np.int16) for a in pair]

h, w = 80, 96
series = Series.objects.create(session=ses, modality="T2w", source_format=Series.Format.SYNTHETIC,
                               shape=[1, h, w], spacing=[1.0, 1.0, 1.0], content_hash="e2e-dual")
t2, t1 = contrasts((h, w), 11)
paths = {"T2w": save_array(f"slices/{series.pk}/0_T2w.npy", t2), "T1w": save_array(f"slices/{series.pk}/0_T1w.npy", t1)}
s = Slice.objects.create(series=series, index=0, height=h, width=w, channels=paths,
                         stats={"T2w": channel_stats(t2), "T1w": channel_stats(t1)})
Assignment.objects.create(slice=s, annotator=users["alice"])
out["dual"] = [s.pk]
print("SEED=" + json.dumps(out))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def editor_server(
    seed: str = SEED, prefix: str = "spinelab-e2e-", start_timeout: float = 30
) -> Iterator[dict]:
    """Yield {"url", "ids", "var"}; the server and its files are gone afterwards. `seed` is a
    `manage.py shell` script that prints one `SEED=<json>` line (the ids the test gets)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as var:
        env = {**os.environ, "SPINELAB_VAR_DIR": var, "SPINELAB_DEBUG": "0", "PYTHONUNBUFFERED": "1"}
        env.pop("SPINELAB_DATABASE_URL", None)
        env.pop("SPINELAB_MEDIA_ROOT", None)
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
        seeded = subprocess.run(
            [*manage, "shell", "-c", seed], env=env, check=True, cwd=ROOT, capture_output=True, text=True
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
            deadline = time.time() + start_timeout
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


if __name__ == "__main__":
    # python -m tests.e2e.editor_server -- node script.mjs : run a command against a live server.
    cmd = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    with editor_server() as info:
        env = {**os.environ, "SPINELAB_URL": info["url"], "SPINELAB_IDS": json.dumps(info["ids"])}
        sys.exit(subprocess.run(cmd, env=env).returncode if cmd else 0)
