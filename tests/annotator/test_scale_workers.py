"""Many workers: a round's (architecture, fold) jobs train at the same time on as many gpu-queue
workers as there are, each task in a child process of its worker (prefork, as scripts/worker runs
them). Needs PostgreSQL and Redis (scripts/test's second pass): SQLite serialises writers and the
filesystem broker is one machine's folder."""

from __future__ import annotations

import contextlib

import pytest
from django.db import connection

from annotator.models import Job
from tests.annotator.test_rounds_worker import explain, phantom_subject
from tests.conftest import wait_for_job
from tests.servers import celery_worker_process, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.slow]

ROUND = {
    "architectures": ["UD"],
    "folds": 2,
    "epochs": 1,
    "steps_per_epoch": 4,
    "promotion_floor": 0,
    "filters": 4,
    "batch_size": 2,
    "strategy": "entropy",
    "next_batch": 2,
    "augment": False,
}


@pytest.fixture
def workers(transactional_db, settings, tmp_path):
    """Two gpu workers (gpu1, gpu2) and one for the default and io queues, prefork with one child."""
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs PostgreSQL + Redis (scripts/test's second pass: python -m tests.servers both)")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    env = worker_env(settings, OMP_NUM_THREADS="1")  # two trainings share this machine's cores
    with contextlib.ExitStack() as stack:
        started = [
            stack.enter_context(celery_worker_process(env, "gpu", name=name, pool="prefork"))
            for name in ("gpu1", "gpu2")
        ]
        started.append(stack.enter_context(celery_worker_process(env, "default,io", pool="prefork")))
        yield started


def test_two_gpu_workers_train_the_two_folds_of_a_round_at_the_same_time(workers, project, client_for):
    for n, label in enumerate(["S01", "S02"]):
        phantom_subject(project, label, seed=n, n=2, accepted=True)
    phantom_subject(project, "S09", seed=9, n=2, accepted=False)
    response = client_for("mia").post("/api/rounds/", ROUND, format="json")
    assert response.status_code == 201, response.content
    job_id = response.json()["job"]
    done = wait_for_job(job_id, timeout=300)
    assert done.state == "succeeded", explain(job_id, workers[0])

    folds = list(Job.objects.filter(parent=job_id, kind=Job.Kind.TRAIN_FOLD).order_by("pk"))
    assert len(folds) == 2 and all(f.state == "succeeded" for f in folds)
    assert {f.params["_worker"].split("@")[0] for f in folds} == {"gpu1", "gpu2"}
    first, second = folds
    assert first.started_at < second.finished_at and second.started_at < first.finished_at, (
        "the folds ran one after the other: "
        f"{first.started_at}..{first.finished_at} and {second.started_at}..{second.finished_at}"
    )
    # The round still finalised exactly once and went live.
    assert Job.objects.filter(parent=job_id, kind=Job.Kind.FINALIZE_ROUND).count() == 1
    assert Job.objects.get(parent=job_id, kind=Job.Kind.PRELABEL).state == "succeeded"
