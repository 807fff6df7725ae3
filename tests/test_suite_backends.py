"""Proves which database and broker a test run is on: scripts/test sets SPINELAB_EXPECT_DATABASE
(sqlite, then postgresql) and SPINELAB_EXPECT_BROKER (redis for the second run), so a misconfigured
run that silently fell back to SQLite fails here instead of passing on the wrong backend."""

from __future__ import annotations

import os

import pytest


def test_the_run_is_on_the_database_it_claims(db):
    from django.db import connection

    expected = os.environ.get("SPINELAB_EXPECT_DATABASE")
    if not expected:
        pytest.skip("SPINELAB_EXPECT_DATABASE is not set (scripts/test sets it)")
    assert connection.vendor == expected, f"tests ran on {connection.vendor}, not {expected}"
    with connection.cursor() as cursor:
        cursor.execute("select version()" if expected == "postgresql" else "select sqlite_version()")
        assert cursor.fetchone()[0]


def test_the_run_is_on_the_broker_it_claims(settings):
    expected = os.environ.get("SPINELAB_EXPECT_BROKER")
    if not expected:
        pytest.skip("SPINELAB_EXPECT_BROKER is not set (scripts/test sets it for the PostgreSQL run)")
    scheme = settings.CELERY_BROKER_URL.split(":", 1)[0]  # redis, rediss, redis+socket, filesystem
    assert scheme.split("+")[0] == expected, settings.CELERY_BROKER_URL
