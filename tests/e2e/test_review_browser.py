"""Reject -> fix -> resubmit -> accept in a real browser (chromium via playwright-core).

The supervisor works on /review/<id>/; the annotator's fix goes through the REST API (PUT mask,
submit) and the rejection's comment and pins are checked in the annotator's editor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from django.test import Client
from rest_framework.test import APIClient

from annotator.models import ReviewDecision, Slice
from tests.annotator.test_review_support import painted_of, png, submitted_slice
from tests.e2e.node import require_browser_tools, run_script

ROOT = Path(__file__).resolve().parents[2]


def drive(base: str, slice_id: int, sessionid: str, phase: str) -> dict:
    result = run_script("review.mjs", base, str(slice_id), sessionid, phase, timeout=90)
    assert "error" not in result and "pageErrors" not in result, result
    return result


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_reject_fix_resubmit_accept_in_the_browser(transactional_db, live_server, users, make_slices):
    require_browser_tools()
    s = submitted_slice(make_slices, users, author="alice")
    sam = session_of(users["sam"])

    rejected = drive(live_server.url, s.pk, sam, "reject")
    assert rejected["state"] == "rejected"
    assert "26 pixels" in rejected["summary"]
    red, green = rejected["headPixel"][:2]
    assert red > green  # the vertebra overlay is drawn over the image
    decision = ReviewDecision.objects.get(slice=s)
    assert decision.comment == "Fix the top of L1"
    (pin,) = decision.pins.all()
    assert pin.text == "vertebra here, not disc" and abs(pin.x - 5.5) < 1 and abs(pin.y - 1.5) < 1

    comments = drive(live_server.url, s.pk, session_of(users["alice"]), "comments")
    assert "Fix the top of L1" in comments["comments"] and "vertebra here, not disc" in comments["comments"]
    assert comments["markers"] == 1
    # The marker sits on its pixel, before and after zooming the editor's view.
    assert comments["markerOffset"] < 2 and comments["markerOffsetZoomed"] < 2, comments
    assert comments["commentsVisible"], "the thread is beside the image, not under the editor"
    assert comments["resolved"] == [True, True] and comments["resolvedAfterReload"]
    # The tick is stored on the server (issue 13), with who set it.
    assert comments["resolvedOnServer"] == [[True, "alice"]]
    assert "resolved by alice" in comments["resolvedNote"]
    # Offline: the cleared tick is said, kept in the browser, and stored on the next visit.
    assert "not stored on the server" in comments["offlineNotice"], comments["offlineNotice"]
    assert not comments["offlineChecked"] and comments["offlineServer"] == [[True, "alice"]]
    assert comments["resentStatus"] == 200
    assert comments["afterResend"] == {"checked": False, "server": [[False, None]]}

    alice = APIClient()
    alice.force_authenticate(users["alice"])
    fixed = painted_of(s)
    fixed[:2, :10] = 1
    put = alice.put(
        f"/api/slices/{s.pk}/mask/",
        data=png(fixed.astype(np.uint8)),
        content_type="image/png",
        HTTP_X_BASE_REVISION=str(s.head_revision_id),
    )
    assert put.status_code == 201, put.content
    assert alice.post(f"/api/slices/{s.pk}/submit/").status_code == 200

    accepted = drive(live_server.url, s.pk, sam, "accept")
    assert accepted["state"] == "accepted"
    assert "6 pixels" in accepted["summary"]
    assert [h.split(": ")[1].split(" of")[0] for h in accepted["history"]] == ["accept", "reject"]
    # The supervisor's page shows the annotator's tick on the rejection's pin.
    assert accepted["historyTicks"] == [True]
    assert "resolved by alice" in accepted["historyPins"][0]
    assert Slice.objects.get(pk=s.pk).state == "accepted"
