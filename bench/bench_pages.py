"""Page and list-endpoint benchmark: does a page's time grow with the dataset?

    uv run python bench/bench_pages.py [--sizes 1000 100000] [--rounds 15] [--postgres] [--out FILE]

For each size N one child process seeds a throw-away database (SQLite in a temp folder, or with
--postgres a database of its own on a throw-away PostgreSQL started by tests.servers) through ORM
bulk_create: N slices (20 per series, 2 series per subject), N/5 mask revisions (half submitted, a
quarter accepted with a review decision, a quarter rejected; 80 % by the annotator `alice`, who holds
their assignments), 20 double-annotation pairs and 10 gold slices. The parent then times every page
and list endpoint with the Django test client (logged in as the role that uses it), asking the
children in turn (small, large, small, ...) so both sizes see the same machine load, and prints
p50/p95 per page and the ratio p50(large)/p50(small). Targets: p95 <= 300 ms, ratio <= 1.5.

Times are server-side (test client: URL routing, middleware, view, template, no network). On
PostgreSQL the seed ends with ANALYZE (what autovacuum does soon after a bulk load on a running
server); SQLite is timed without statistics, as Django leaves it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SLICES_PER_SERIES = 20
DOUBLE_PAIRS = 20
GOLD_SLICES = 10

# (name, user, url); {slice}, {series} and {project} are filled in by the child.
PAGES = [
    ("/ (supervisor)", "sam", "/"),
    ("/ (annotator)", "alice", "/"),
    ("/review/", "sam", "/review/"),
    ("/review/agreement/", "sam", "/review/agreement/"),
    ("/review/stats/", "sam", "/review/stats/"),
    ("/review/<slice>/", "sam", "/review/{slice}/"),
    ("/slices/<id>/edit/", "sam", "/slices/{slice}/edit/"),
    ("/exports/", "sam", "/exports/"),
    ("/projects/", "root", "/projects/"),
    ("/projects/<slug>/", "root", "/projects/lumbar/"),
    ("/rounds/", "mia", "/rounds/"),
    ("/series/<id>/measurements/", "sam", "/series/{series}/measurements/"),
    ("GET /api/slices/", "sam", "/api/slices/"),
    ("GET /api/slices/?state=submitted", "sam", "/api/slices/?state=submitted"),
    ("GET /api/slices/ (annotator)", "alice", "/api/slices/?assigned_to_me=true"),
    ("GET /api/series/", "sam", "/api/series/"),
    ("GET /api/subjects/", "sam", "/api/subjects/"),
    ("GET /api/projects/", "sam", "/api/projects/"),
    ("GET /api/jobs/", "sam", "/api/jobs/"),
    ("GET /api/assignments/", "sam", "/api/assignments/"),
    ("GET /api/assignments/ (annotator)", "alice", "/api/assignments/"),
    ("GET /api/review/queue/", "sam", "/api/review/queue/"),
    ("GET /api/my-queue/", "alice", "/api/my-queue/"),
    ("GET /api/agreement/", "sam", "/api/agreement/"),
    ("GET /api/annotator-stats/", "sam", "/api/annotator-stats/"),
    ("GET /api/slices/<id>/", "sam", "/api/slices/{slice}/"),
    ("GET /api/slices/<id>/revisions/", "sam", "/api/slices/{slice}/revisions/"),
    ("GET /api/rounds/", "mia", "/api/rounds/"),
    ("GET /api/models/", "mia", "/api/models/"),
    ("GET /api/dashboard/", "mia", "/api/dashboard/"),
]


# ---- child: seed one database, then answer "time this page" requests on stdin -----------------------


def _analyze() -> None:
    """PostgreSQL: gather the planner's statistics, as autovacuum does within a minute or so of a bulk
    load on a running server (the seed's own updates and the timing start right after the load).
    SQLite keeps none unless someone runs ANALYZE: it is timed without, as Django leaves it."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def seed(n: int) -> dict[str, Any]:
    """N slices and N/5 revisions through bulk_create; returns the ids the URLs need."""
    import numpy as np
    from django.contrib.auth.models import Group, User
    from django.db.models import OuterRef, Subquery
    from django.utils import timezone

    from annotator.models import (
        Assignment,
        MaskRevision,
        ReviewDecision,
        Series,
        Session,
        Slice,
        SliceState,
        Subject,
    )
    from annotator.services.agreement import GOLD_REFERENCE
    from annotator.services.maskcodec import class_counts, encode_mask, mask_hash
    from annotator.services.projects import default_project
    from annotator.services.roles import ensure_groups

    ensure_groups()
    users = {}
    for name, group in (
        ("alice", "annotator"),
        ("bob", "annotator"),
        ("sam", "supervisor"),
        ("mia", "ml_staff"),
    ):
        users[name] = User.objects.create_user(name, password="x")
        users[name].groups.add(Group.objects.get(name=group))
    users["root"] = User.objects.create_superuser("root", password="x")
    project = default_project()
    k = project.classes.count()
    labels = np.zeros((32, 40), np.uint8)
    labels[8:24, 10:30] = 1
    png, sha, counts = encode_mask(labels), mask_hash(labels), class_counts(labels, k)
    n_series = max(1, n // SLICES_PER_SERIES)
    subjects = Subject.objects.bulk_create(
        Subject(project=project, label=f"S{i:05d}") for i in range((n_series + 1) // 2)
    )
    sessions = Session.objects.bulk_create(Session(subject=s, label="01") for s in subjects)
    series = Series.objects.bulk_create(
        Series(
            session=sessions[i // 2],
            modality="T2w",
            view="sag",
            source_format="png",
            series_uid=f"1.2.{i}",
            shape=[SLICES_PER_SERIES, 32, 40],
            spacing=[4.0, 1.0, 1.0],
            affine=np.diag([4.0, 1.0, 1.0, 1.0]).tolist(),
            dtype="uint16",
            metadata={},
            content_hash=f"{i:064d}",
        )
        for i in range(n_series)
    )
    stats = {"T2w": {"min": 0.0, "max": 1.0, "p1": 0.0, "p99": 1.0}}
    Slice.objects.bulk_create(
        (
            Slice(series=s, index=j, height=32, width=40, channels={"T2w": "bench/none.npy"}, stats=stats)
            for s in series
            for j in range(SLICES_PER_SERIES)
        ),
        batch_size=5000,
    )
    slice_ids = list(Slice.objects.order_by("id").values_list("id", flat=True))
    # Spread the labelled slices over the whole dataset (every 5th slice).
    labelled = slice_ids[::5][: n // 5]
    now = timezone.now()
    revisions = [
        MaskRevision(
            slice_id=sid,
            author=users["alice"] if i % 5 else users["bob"],
            source=MaskRevision.Source.HUMAN,
            png=png,
            sha256=sha,
            labelled_pixels=counts,
            meta={"edit_seconds": 30 + i % 60},
            edit_seconds=30 + i % 60,  # what save_human_mask stores
            prelabel_change={},
        )
        for i, sid in enumerate(labelled)
    ]
    MaskRevision.objects.bulk_create(revisions, batch_size=5000)
    _analyze()
    heads = dict(MaskRevision.objects.filter(slice_id__in=labelled).values_list("slice_id", "id"))
    states = {
        0: SliceState.SUBMITTED,
        1: SliceState.SUBMITTED,
        2: SliceState.ACCEPTED,
        3: SliceState.REJECTED,
    }
    by_state: dict[str, list[int]] = {}
    for i, sid in enumerate(labelled):
        by_state.setdefault(states[i % 4], []).append(sid)
    for state, ids in by_state.items():
        for start in range(0, len(ids), 5000):
            Slice.objects.filter(pk__in=ids[start : start + 5000]).update(state=state)
    # Each labelled slice has one revision so far: it is the head, and `head_at` its time (what
    # services/masks.py keeps with every head change). One UPDATE with subqueries, as migration 0011's
    # backfill does; bulk_update's CASE over 5,000 ids a batch took minutes on PostgreSQL.
    own = MaskRevision.objects.filter(slice_id=OuterRef("pk")).order_by()
    Slice.objects.filter(head_revision__isnull=True, pk__in=MaskRevision.objects.values("slice_id")).update(
        head_revision_id=Subquery(own.values("id")[:1]), head_at=Subquery(own.values("created_at")[:1])
    )
    slices = Slice.objects.in_bulk(labelled)
    Assignment.objects.bulk_create(
        (
            Assignment(
                slice_id=sid, annotator=users["alice"] if i % 5 else users["bob"], assigned_by=users["sam"]
            )
            for i, sid in enumerate(labelled)
        ),
        batch_size=5000,
    )
    # bulk_create skips Assignment.save: the stored queue order is filled the way bulk writers do.
    Assignment.objects.all().refresh_queue_keys()
    decided = [sid for sid in labelled if slices[sid].state in (SliceState.ACCEPTED, SliceState.REJECTED)]
    ReviewDecision.objects.bulk_create(
        (
            ReviewDecision(
                slice_id=sid,
                revision_id=heads[sid],
                reviewer=users["sam"],
                decision="accept" if slices[sid].state == SliceState.ACCEPTED else "reject",
                comment="" if slices[sid].state == SliceState.ACCEPTED else "fix the disc",
            )
            for sid in decided
        ),
        batch_size=5000,
    )
    # Double annotation on accepted slices, gold on a few others: a fixed number whatever N.
    accepted = by_state.get(SliceState.ACCEPTED, [])
    extra = [
        MaskRevision(
            slice_id=sid,
            author=users["bob"],
            source=MaskRevision.Source.HUMAN,
            track=MaskRevision.Track.DOUBLE,
            png=png,
            sha256=sha,
            labelled_pixels=counts,
        )
        for sid in accepted[:DOUBLE_PAIRS]
    ]
    for sid in accepted[DOUBLE_PAIRS : DOUBLE_PAIRS + GOLD_SLICES]:
        extra.append(
            MaskRevision(
                slice_id=sid,
                author=users["sam"],
                source=MaskRevision.Source.HUMAN,
                track=MaskRevision.Track.GOLD,
                png=png,
                sha256=sha,
                labelled_pixels=counts,
                meta={GOLD_REFERENCE: True},
            )
        )
        extra.append(
            MaskRevision(
                slice_id=sid,
                author=users["bob"],
                source=MaskRevision.Source.HUMAN,
                track=MaskRevision.Track.GOLD,
                png=png,
                sha256=sha,
                labelled_pixels=counts,
            )
        )
    MaskRevision.objects.bulk_create(extra)
    del now
    _analyze()
    return {
        "slice": by_state[SliceState.SUBMITTED][len(by_state[SliceState.SUBMITTED]) // 2],
        "series": series[len(series) // 2].pk,
        "project": project.pk,
        "slices": Slice.objects.count(),
        "revisions": MaskRevision.objects.count(),
    }


def child(n: int) -> None:
    """Seed, print the seed report as one JSON line, then time one GET per stdin line `user url`."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client

    settings.ALLOWED_HOSTS = ["*"]
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    ids = seed(n)
    ids["seed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(ids), flush=True)
    clients: dict[str, Client] = {}
    for line in sys.stdin:
        who, url = line.split()
        if who not in clients:
            clients[who] = Client()
            clients[who].force_login(User.objects.get(username=who))
        url = url.format(**ids)
        t0 = time.perf_counter()
        response = clients[who].get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        ms = (time.perf_counter() - t0) * 1000
        print(json.dumps({"ms": ms, "status": response.status_code, "bytes": len(body)}), flush=True)


# ---- parent ------------------------------------------------------------------------------------------


def start_child(n: int, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", str(n)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )


def ask(proc: subprocess.Popen[str], who: str, url: str) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(f"{who} {url}\n")
    proc.stdin.flush()
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the benchmark child died on {url}")
    return json.loads(line)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(sizes: list[int], rounds: int, database_urls: list[str | None], only: str | None) -> dict[str, Any]:
    children = []
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        for n, url in zip(sizes, database_urls, strict=True):
            env = {**os.environ, "SPINELAB_VAR_DIR": str(Path(tmp) / str(n)), "OMP_NUM_THREADS": "1"}
            env["SPINELAB_LOGIN_THROTTLE"] = "0"
            if url:
                env["SPINELAB_DATABASE_URL"] = url
            children.append(start_child(n, env))
        seeds = []
        for proc in children:
            assert proc.stdout is not None
            seeds.append(json.loads(proc.stdout.readline()))
        print("seeded:", json.dumps(seeds), file=sys.stderr)
        pages = [p for p in PAGES if only is None or only in p[0]]
        timings: dict[str, dict[int, list[float]]] = {name: {n: [] for n in sizes} for name, _, _ in pages}
        answers: dict[str, dict[int, dict[str, Any]]] = {name: {} for name, _, _ in pages}
        for round_no in range(rounds + 1):  # round 0 warms up
            for name, who, url in pages:
                for n, proc in zip(sizes, children, strict=True):  # interleaved: same load for both
                    got = ask(proc, who, url)
                    answers[name][n] = {"status": got["status"], "bytes": got["bytes"]}
                    if round_no:
                        timings[name][n].append(got["ms"])
        for proc in children:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=60)
    rows = []
    for name, _, _ in pages:
        row: dict[str, Any] = {"page": name}
        for n in sizes:
            row[str(n)] = {
                "p50": round(statistics.median(timings[name][n]), 1),
                "p95": round(percentile(timings[name][n], 0.95), 1),
                **answers[name][n],
            }
        small, large = row[str(sizes[0])]["p50"], row[str(sizes[-1])]["p50"]
        row["ratio"] = round(large / small, 2) if small else None
        rows.append(row)
    return {"sizes": sizes, "rounds": rounds, "seeds": seeds, "rows": rows}


def table(result: dict[str, Any]) -> str:
    small, large = (str(n) for n in (result["sizes"][0], result["sizes"][-1]))
    lines = [
        f"| page | status | p50 {small} | p95 {small} | p50 {large} | p95 {large} | ratio | KB {large} | ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        a, b = row[small], row[large]
        ok = b["p95"] <= 300 and (row["ratio"] or 0) <= 1.5
        lines.append(
            f"| {row['page']} | {b['status']} | {a['p50']} | {a['p95']} | {b['p50']} | {b['p95']} | "
            f"{row['ratio']} | {b['bytes'] / 1024:.0f} | {'yes' if ok else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs=2, default=[1000, 100000])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--postgres", action="store_true", help="seed a throw-away PostgreSQL instead")
    parser.add_argument("--only", help="time only pages whose name contains this")
    parser.add_argument("--out", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return 0
    if args.postgres:
        sys.path.insert(0, str(ROOT))
        from tests.servers import postgres_server

        with postgres_server() as url:
            urls = _postgres_databases(url, args.sizes)
            result = run(args.sizes, args.rounds, urls, args.only)
        result["database"] = "postgresql"
    else:
        result = run(args.sizes, args.rounds, [None] * len(args.sizes), args.only)
        result["database"] = "sqlite"
    result["load_average"] = os.getloadavg()
    result["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(table(result))
    print(f"load average after the run: {result['load_average']}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


def _postgres_databases(url: str, sizes: list[int]) -> list[str]:
    """One database per size on the throw-away server (the URL's database is the template)."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(url, autocommit=True) as conn:
        for n in sizes:
            conn.execute(f'CREATE DATABASE "bench_{n}"')
    del name
    return [f"{base}/bench_{n}" for n in sizes]


if __name__ == "__main__":
    sys.exit(main())
