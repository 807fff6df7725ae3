"""Concurrency (meant for PostgreSQL, where requests really overlap; scripts/test runs it there too):
many clients save on shared slices from stale and fresh bases, and many annotators claim their next
slice at the same moment. Every answered save is stored, no two accepted (201) saves share a base, and
no slice goes to two annotators."""

from __future__ import annotations

import random
import threading
from collections import Counter
from typing import Any

import numpy as np
import pytest
from django.db import connection

from annotator.models import Assignment, MaskRevision
from annotator.services.maskcodec import encode_mask, mask_hash

CLIENTS = 8
SAVES_PER_CLIENT = 6


def run_together(work: list[Any]) -> list[Any]:
    """Run each callable in its own thread, all released at the same moment; their results in order."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def runner(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work[i]()
        except BaseException as exc:  # reported below, with the thread's own traceback
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own database connection

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_saves_from_stale_and_fresh_bases_lose_nothing_and_accept_one_per_base(users, make_slices):
    from rest_framework.test import APIClient

    slices = make_slices(2, height=16, width=16)
    for slice_ in slices:
        Assignment.objects.create(slice=slice_, annotator=users["alice"], assigned_by=users["sam"])

    def client_work(seed: int) -> Any:
        def work() -> list[dict[str, Any]]:
            rng = random.Random(seed)
            client = APIClient()
            client.force_authenticate(users["alice"])
            seen: dict[int, str] = {}
            answers = []
            for n in range(SAVES_PER_CLIENT):
                slice_ = rng.choice(slices)
                if rng.random() < 0.5 or slice_.pk not in seen:  # fresh: read the head first
                    head = client.get(f"/api/slices/{slice_.pk}/").json()["head_revision"]
                    seen[slice_.pk] = "" if head is None else str(head)
                labels = np.zeros((16, 16), np.uint8)
                labels.flat[seed * SAVES_PER_CLIENT + n] = 1 + (n % 11)  # unique content per save
                png = encode_mask(labels)
                response = client.put(
                    f"/api/slices/{slice_.pk}/mask/",
                    data=png,
                    content_type="image/png",
                    HTTP_X_BASE_REVISION=seen[slice_.pk],
                )
                body = response.json()
                answers.append(
                    {
                        "status": response.status_code,
                        "slice": slice_.pk,
                        "base": seen[slice_.pk],
                        "body": body,
                        "sha": mask_hash(labels),
                    }
                )
                if response.status_code == 201:
                    seen[slice_.pk] = str(body["revision"])  # a stale base stays stale on a 409
            return answers

        return work

    answers = [a for batch in run_together([client_work(seed) for seed in range(CLIENTS)]) for a in batch]
    assert {a["status"] for a in answers} <= {201, 409}, Counter(a["status"] for a in answers)
    for answer in answers:
        stored = answer["body"]["revision"] if answer["status"] == 201 else answer["body"]["your_revision"]
        revision = MaskRevision.objects.get(pk=stored)
        assert revision.sha256 == answer["sha"] and revision.slice_id == answer["slice"]
        assert revision.is_conflict == (answer["status"] == 409)
    accepted = [(a["slice"], a["base"]) for a in answers if a["status"] == 201]
    assert len(accepted) == len(set(accepted)), "two saves were accepted on the same base"
    assert MaskRevision.objects.filter(source="human").count() == len(answers)
    for slice_ in slices:  # the accepted saves form one chain from the first save to the head
        slice_.refresh_from_db()
        chain = [r for r in MaskRevision.objects.filter(slice=slice_, is_conflict=False)]
        assert slice_.head_revision_id == max(r.pk for r in chain)


@pytest.mark.django_db(transaction=True)
def test_annotators_claiming_at_the_same_moment_never_get_the_same_slice(users, make_slices):
    from django.contrib.auth.models import Group, User
    from rest_framework.test import APIClient

    slices = make_slices(12, height=8, width=8)
    for rank, slice_ in enumerate(slices):
        slice_.rank = rank
        slice_.save(update_fields=["rank"])
    group = Group.objects.get(name="annotator")
    annotators = [users["alice"], users["bob"]]
    for i in range(6):
        user = User.objects.create_user(f"annotator{i}", password="x-pass-123")
        user.groups.add(group)
        annotators.append(user)

    def claim(user: Any) -> Any:
        def work() -> int | None:
            client = APIClient()
            client.force_authenticate(user)
            response = client.post("/api/slices/next/", {}, format="json")
            return response.json()["slice"] if response.status_code == 200 else None

        return work

    claimed = run_together([claim(user) for user in annotators])
    assert all(claimed), claimed
    assert len(set(claimed)) == len(claimed), f"a slice went to two annotators: {claimed}"
    holders = Counter(
        Assignment.objects.filter(active=True, purpose="main").values_list("slice_id", flat=True)
    )
    assert holders and max(holders.values()) == 1
