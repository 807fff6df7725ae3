"""Throw-away servers for the test suite: PostgreSQL 15, Redis and a real Celery worker.

Each starts on a Unix socket in a temporary folder and is stopped afterwards, so the suite needs no
running services. Used two ways:

- as a command by scripts/test: `python -m tests.servers postgres -- pytest ...` runs a command with
  SPINELAB_DATABASE_URL pointing at a fresh PostgreSQL; `python -m tests.servers redis -- ...` likewise
  with SPINELAB_BROKER_URL pointing at a fresh Redis;
- as the pytest fixture `celery_worker` (see tests/conftest.py), which starts
  `celery -A annotator worker -Q default,gpu,io --pool solo` against the test database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]


def _as_postgres_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root, so drop to the `postgres` account there.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _wait_for(check, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start PostgreSQL 15 in a temporary folder on a Unix socket; yield a database URL."""
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not on the PATH: install PostgreSQL 15")
    folder = Path(tempfile.mkdtemp(prefix="spinelab-pg-"))
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sock, "postgres")
        folder.chmod(0o755)
    subprocess.run(
        _as_postgres_user(["initdb", "-D", str(data), "-U", "spinelab", "--auth=trust", "-E", "UTF8"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-k {sock} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        _as_postgres_user(
            ["pg_ctl", "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        subprocess.run(
            _as_postgres_user(["createdb", "-h", str(sock), "-U", "spinelab", "spinelab"])
            if shutil.which("createdb")
            else _as_postgres_user(
                [
                    "psql",
                    "-h",
                    str(sock),
                    "-U",
                    "spinelab",
                    "-d",
                    "postgres",
                    "-c",
                    "CREATE DATABASE spinelab",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield f"postgres://spinelab@{quote(str(sock), safe='')}/spinelab"
    finally:
        subprocess.run(
            _as_postgres_user(["pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start redis-server on a Unix socket in a temporary folder; yield a broker URL."""
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server is not on the PATH: apt-get install redis-server")
    folder = Path(tempfile.mkdtemp(prefix="spinelab-redis-"))
    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_for(sock.exists, "redis-server")
        yield f"redis+socket://{sock}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def database_url_for(settings_dict: dict) -> str:
    """The URL of the database Django is connected to (the test database inside pytest)."""
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        name = str(settings_dict["NAME"])
        if name == ":memory:" or "mode=memory" in name:
            raise RuntimeError("a worker cannot share an in-memory SQLite database")
        return f"sqlite:///{name}"
    host = settings_dict.get("HOST") or ""
    user = settings_dict.get("USER") or ""
    password = settings_dict.get("PASSWORD") or ""
    port = settings_dict.get("PORT") or ""
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return f"postgres://{auth}@{quote(str(host), safe='')}{':' + str(port) if port else ''}/{settings_dict['NAME']}"


@contextlib.contextmanager
def celery_worker_process(
    env_overrides: dict[str, str],
    queues: str = "default,gpu,io",
    name: str = "",
    pool: str = "solo",
) -> Iterator[subprocess.Popen]:
    """Run a real Celery worker (solo pool) with the given environment; stop it afterwards. Its node
    name follows its queues (e.g. io@host), so workers for different queues run side by side and a
    restart with the same queues is recognised as the same worker (jobs.fail_orphaned_running_jobs).
    `name` gives several workers of the same queues distinct node names; `pool="prefork"` runs each
    task in a child process, as scripts/worker does."""
    env = {**os.environ, **env_overrides}
    log = Path(tempfile.mkstemp(prefix="spinelab-worker-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "annotator",
                "worker",
                "-Q",
                queues,
                "-n",
                f"{name or queues.replace(',', '-')}@%h",
                "--pool",
                pool,
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(lambda: b"ready" in log.read_bytes() or proc.poll() is not None, "celery worker", 90)
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log.read_text()[-3000:]}")
        proc.log_path = log  # type: ignore[attr-defined]
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.unlink(missing_ok=True)


def worker_env(settings, **extra: str) -> dict[str, str]:
    """The environment a worker started by a test needs to share that test's database, media
    folder, var folder and broker (pytest-django's `settings`), plus `extra` variables."""
    from django.db import connection

    return {
        "SPINELAB_DATABASE_URL": database_url_for(connection.settings_dict),
        "SPINELAB_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SPINELAB_VAR_DIR": str(settings.VAR_DIR),
        "SPINELAB_BROKER_URL": settings.CELERY_BROKER_URL,
        "SPINELAB_CELERY_EAGER": "0",
        **extra,
    }


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """An S3-compatible server (moto's server mode) on a free loopback port; yield its endpoint URL.
    Clients need any AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY; buckets start empty."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def main(argv: list[str]) -> int:
    """`python -m tests.servers postgres|redis|both -- CMD...`: run CMD with the servers up."""
    if len(argv) < 3 or argv[1] != "--" or argv[0] not in ("postgres", "redis", "both"):
        print("usage: python -m tests.servers postgres|redis|both -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    which, command = argv[0], argv[2:]
    with contextlib.ExitStack() as stack:
        env = dict(os.environ)
        if which in ("postgres", "both"):
            env["SPINELAB_DATABASE_URL"] = stack.enter_context(postgres_server())
        if which in ("redis", "both"):
            env["SPINELAB_BROKER_URL"] = stack.enter_context(redis_server())
        return subprocess.run(command, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
