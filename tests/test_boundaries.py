"""Architecture rules that a user of the library relies on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mlcore_imports_and_runs_without_django_celery_or_annotator():
    code = (
        "import sys, mlcore, mlcore.models, mlcore.train, mlcore.predict, mlcore.active, mlcore.phantom, "
        "mlcore.metrics, mlcore.folds, mlcore.data, mlcore.checkpoint\n"
        "m = mlcore.models.build_model('U1', 1, 3, filters=4)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('django', 'celery', 'annotator', 'rest_framework'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"mlcore pulled in: {result.stdout.strip()}"


def test_no_mlcore_source_file_imports_the_web_side():
    offenders = []
    for path in (ROOT / "mlcore").rglob("*.py"):
        for line in path.read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")) and stripped.split()[1].split(".")[0] in (
                "django",
                "celery",
                "annotator",
                "rest_framework",
            ):
                offenders.append(f"{path.relative_to(ROOT)}: {stripped}")
    assert offenders == []
