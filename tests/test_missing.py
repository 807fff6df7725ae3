"""Under CI=true a missing browser, Node package or data set fails the test instead of skipping it."""

from __future__ import annotations

import pytest

from tests.missing import missing


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_requirement_fails_under_ci_and_skips_elsewhere(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="chromium"):
        missing("Debian chromium not found at /nowhere")


def test_shared_data_that_is_absent_fails_under_ci(monkeypatch):
    from tests import conftest

    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(conftest, "SHARED_DATA", conftest.SHARED_DATA / "no-such-folder")
    with pytest.raises(pytest.fail.Exception, match="real MRI data"):
        conftest.shared_data("mids-lumbar")
