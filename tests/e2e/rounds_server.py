"""A throw-away embedded-default SpineLab for the rounds browser test: temp SQLite + media + kombu
filesystem broker under a temp SPINELAB_VAR_DIR, the demo seed (`manage.py seed_demo`, small
phantom), `runserver` on a free loopback port and a real Celery worker (queues default + gpu, solo
pool, the command line of scripts/demo). Everything is stopped and removed afterwards, even on failure.

    python -m tests.e2e.rounds_server -- node tests/e2e/rounds.mjs   # SPINELAB_URL/USER/PASSWORD set
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.e2e.editor_server import ROOT, free_port
from tests.servers import celery_worker_process

# 6 phantom subjects of 3 slices at 64x64: seed_demo accepts the first 4 (12 slices, the training
# set) and leaves 2 unlabelled (6 slices to pre-label and rank).
# The metastasis demo project stays out (--no-lesions): the rounds test lists every slice mila sees.
SEED_ARGS = ["--subjects", "6", "--slices", "3", "--size", "64", "--no-real", "--no-lesions"]


def _wait_until_up(url: str, server: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/login/", timeout=2)
            return
        except OSError as err:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the test server did not start:\n" + log.read_text()) from err
            time.sleep(0.2)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def _runserver(env: dict[str, str], var: Path) -> Iterator[str]:
    port = free_port()
    log_path = var / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(url, server, log_path)
            yield url
        finally:
            _stop(server)


@contextmanager
def rounds_server(seed_args: list[str] | None = None) -> Iterator[dict]:
    """Yield {"url", "username", "password", "var", "worker_log", "credentials"}: ML staff `mila` and
    its password (every demo user's in "credentials"). `seed_args`: seed_demo's, SEED_ARGS by default."""
    with tempfile.TemporaryDirectory(prefix="spinelab-rounds-e2e-") as folder, ExitStack() as stack:
        var = Path(folder)
        env = {
            **os.environ,
            "SPINELAB_VAR_DIR": str(var),
            "SPINELAB_DEBUG": "0",
            "SPINELAB_CELERY_EAGER": "0",
            "SPINELAB_TRAINING_DEVICE": "cpu",
            "PYTHONUNBUFFERED": "1",
            # One torch thread: on a small shared CPU, spinning OpenMP threads slow training 10-100x
            # when other processes (here the server and chromium) compete for the cores.
            "OMP_NUM_THREADS": "1",
            # Spelled out (not just unset): celery_worker_process merges os.environ in again.
            "SPINELAB_DATABASE_URL": f"sqlite:///{var / 'spinelab.sqlite3'}",
            "SPINELAB_MEDIA_ROOT": str(var / "media"),
            "SPINELAB_BROKER_URL": "filesystem://",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=ROOT)
        # Seeding and the worker's start-up (both mostly importing torch) overlap.
        seed = subprocess.Popen(
            [*manage, "seed_demo", *(SEED_ARGS if seed_args is None else seed_args)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        stack.callback(_stop, seed)
        worker = stack.enter_context(celery_worker_process(env))
        seed_output, _ = seed.communicate(timeout=300)
        if seed.returncode != 0:
            raise RuntimeError(f"seed_demo failed:\n{seed_output}")
        credentials = json.loads((var / "demo-credentials.json").read_text())
        url = stack.enter_context(_runserver(env, var))
        yield {
            "url": url,
            "username": "mila",
            "password": credentials["mila"],
            "var": str(var),
            "worker_log": str(worker.log_path),  # type: ignore[attr-defined]
            "credentials": credentials,
        }


if __name__ == "__main__":
    cmd = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    with rounds_server() as info:
        run_env = {
            **os.environ,
            "SPINELAB_URL": info["url"],
            "SPINELAB_USER": info["username"],
            "SPINELAB_PASSWORD": info["password"],
        }
        sys.exit(subprocess.run(cmd, env=run_env).returncode if cmd else 0)
