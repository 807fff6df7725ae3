"""Test helpers: writing a slice the way the platform does (through `Slice.save`, which keeps the
annotators' stored queue order current), not by a bare `QuerySet.update`; reading a query's plan."""

from __future__ import annotations

from typing import Any

from django.db import connection

from annotator.models import Slice


def set_slice(pk: int, **fields: Any) -> Slice:
    """Give slice `pk` these field values (e.g. state=..., rank=...) as a model save."""
    slice_ = Slice.objects.get(pk=pk)
    for name, value in fields.items():
        setattr(slice_, name, value)
    slice_.save(update_fields=list(fields))
    return slice_


def query_plan(sql: str, params: tuple[Any, ...]) -> str:
    """The database's plan for a query (call inside a transaction). On PostgreSQL a tiny test table is
    cheaper to scan: scans and sorts are switched off to ask whether the index order can serve at all."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())
