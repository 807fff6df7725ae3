"""Reading a database id from text a client sent."""

from __future__ import annotations

from typing import Any

MAX_DB_ID = 2**63 - 1  # the largest primary key PostgreSQL and SQLite store


def as_db_id(value: Any) -> int | None:
    """The id `value` names, or None when it is not one: ASCII digits only (str.isdigit() accepts
    "²", which int() refuses) and within 1..2**63-1 (larger ones overflow the database driver)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 1 <= value <= MAX_DB_ID else None
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_DB_ID else None
