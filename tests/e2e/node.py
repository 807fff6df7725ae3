"""Running the browser scripts of tests/e2e: skip cleanly where Debian chromium, node or playwright-core
are missing, and run one script (node + playwright-core) returning the JSON object it prints last
(optionally prefixed `RESULT=`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.missing import missing

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "frontend"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def require_browser_tools() -> None:
    """Skip (fail under CI=true) with the reason and the fix when a browser tool is missing; build the
    editor if needed."""
    if not Path(CHROMIUM).exists():
        missing(
            f"Debian chromium not found at {CHROMIUM} (apt-get install chromium; scripts/setup test does)"
        )
    if shutil.which("node") is None or not (FRONTEND / "node_modules" / "playwright-core").exists():
        missing("frontend/node_modules missing (cd frontend && npm ci; scripts/setup does)")
    if not (ROOT / "annotator/static/annotator/app/editor.js").exists():
        subprocess.run(["npm", "run", "--silent", "build"], cwd=FRONTEND, check=True)


def run_script(
    script: str,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 240,
    diagnostics: Callable[[], str] | None = None,
) -> dict:
    """Run tests/e2e/<script> and return its last printed JSON object; fail with its output (and
    `diagnostics()`, e.g. a worker log) when it exits non-zero or prints nothing."""
    run = subprocess.run(
        ["node", str(ROOT / "tests" / "e2e" / script), *args],
        env={**os.environ, "NODE_PATH": str(FRONTEND / "node_modules"), **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith(("RESULT=", "{"))]
    if run.returncode != 0 or not lines:
        extra = f"\n{diagnostics()}" if diagnostics else ""
        pytest.fail(
            f"{script} failed (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}{extra}"
        )
    return json.loads(lines[-1].removeprefix("RESULT="))
