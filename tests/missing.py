"""What a test does when something it needs is not on this machine: skip with the reason, except
under CI=true, where a missing browser, Node package or shared data set is a broken setup that must
fail the run instead of silently shrinking it."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(reason: str) -> NoReturn:
    """pytest.skip(reason) locally; pytest.fail(reason) under CI=true. Never returns."""
    if in_ci():
        pytest.fail(f"CI=true and a test requirement is missing: {reason}", pytrace=False)
    pytest.skip(reason)
