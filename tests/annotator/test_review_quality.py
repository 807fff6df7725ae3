"""Double annotation, gold standard, agreement (per-class IoU) and per-annotator statistics."""

from __future__ import annotations

import numpy as np
import pytest

from annotator.models import Assignment, MaskRevision
from annotator.services.access import can_view_main_mask
from annotator.services.masks import save_human_mask
from tests.annotator.test_review_support import painted_of, png, prelabel_of, submitted_slice

pytestmark = pytest.mark.django_db


def test_double_annotation_goes_blind_to_a_different_annotator(users, client_for, make_slices, project):
    s = submitted_slice(make_slices, users, author="alice")
    sam = client_for("sam")
    r = sam.post("/api/double-annotation/", {"slices": [s.pk], "annotator": "alice"}, format="json")
    assert r.status_code == 400 and "main annotation" in r.json()["detail"]
    r = sam.post("/api/double-annotation/", {"slices": [s.pk], "annotator": "bob"}, format="json")
    assert r.status_code == 201 and r.json()["assigned"] == [s.pk]
    assert Assignment.objects.get(slice=s, annotator=users["bob"]).purpose == "double"
    assert not can_view_main_mask(users["bob"], s)  # the lead wires this into GET mask
    assert client_for("bob").get(f"/api/slices/{s.pk}/review-diff/").status_code == 404
    # bob paints on the double track from scratch; the main head stays alice's
    save_human_mask(
        slice_id=s.pk, user=users["bob"], png=png(prelabel_of(s)), base_revision_id=None, track="double"
    )
    assert MaskRevision.objects.get(pk=s.head_revision_id).author == users["alice"]
    report = sam.get("/api/agreement/").json()
    assert report["double"]["pairs"] == 1
    iou = report["double"]["iou_per_class"]
    assert iou[1] == pytest.approx(80 / 100) and iou[3] == 0.0 and iou[9] is None
    item = report["items"][0]
    assert (item["reference_author"], item["annotator"]) == ("alice", "bob")


def test_double_annotation_by_share_is_seeded_and_refuses_bad_input(users, client_for, make_slices):
    made = [submitted_slice(make_slices, users, author="alice") for _ in range(4)]
    sam = client_for("sam")
    first = sam.post(
        "/api/double-annotation/", {"share": 0.5, "annotator": "bob", "seed": 3}, format="json"
    ).json()
    assert len(first["assigned"]) == 2 and set(first["assigned"]) <= {s.pk for s in made}
    Assignment.objects.filter(purpose="double").delete()
    again = sam.post(
        "/api/double-annotation/", {"share": 0.5, "annotator": "bob", "seed": 3}, format="json"
    ).json()
    assert again["assigned"] == first["assigned"]
    for body, fragment in [
        ({"share": 2, "annotator": "bob"}, "share must be"),
        ({"share": 0.5, "annotator": "nobody"}, "does not exist"),
        ({"share": 0.5, "annotator": "mia"}, "not an annotator"),
        ({"annotator": "bob"}, "either share"),
        ({"slices": [999999], "annotator": "bob"}, "do not exist"),
    ]:
        r = sam.post("/api/double-annotation/", body, format="json")
        assert r.status_code in (400, 404) and fragment in r.json()["detail"], body
    for who in ("alice", "mia"):
        r = client_for(who).post("/api/double-annotation/", {"share": 0.5, "annotator": "bob"}, format="json")
        assert r.status_code == 403


def test_gold_standard_from_accepted_head_or_png_and_scored_against_attempts(users, client_for, make_slices):
    s = submitted_slice(make_slices, users, author="alice")
    sam = client_for("sam")
    r = sam.post(f"/api/slices/{s.pk}/gold/", {"from": "accepted_head"}, format="json")
    assert r.status_code == 409  # not accepted yet
    sam.post(f"/api/slices/{s.pk}/review/", {"decision": "accept"}, format="json")
    assert sam.post(f"/api/slices/{s.pk}/gold/", {"from": "accepted_head"}, format="json").status_code == 201
    r = sam.post(f"/api/slices/{s.pk}/gold/", data=png(painted_of(s)), content_type="image/png")
    assert r.status_code == 201
    assert sam.post(f"/api/slices/{s.pk}/gold/", data=b"junk", content_type="image/png").status_code == 400
    assert (
        client_for("alice")
        .post(f"/api/slices/{s.pk}/gold/", {"from": "accepted_head"}, format="json")
        .status_code
        == 403
    )
    r = sam.post("/api/gold-assignments/", {"annotators": ["bob", "alice"], "slices": [s.pk]}, format="json")
    assert r.status_code == 201 and r.json()["assigned"] == [s.pk] and r.json()["skipped"] == [s.pk]
    assert not can_view_main_mask(users["bob"], s)
    save_human_mask(
        slice_id=s.pk, user=users["bob"], png=png(painted_of(s)), base_revision_id=None, track="gold"
    )
    report = sam.get("/api/agreement/").json()
    # bob's attempt and alice's main mask both match the uploaded gold (the first, copied gold is superseded)
    assert report["gold"]["pairs"] == 2 and report["gold"]["mean_iou"] == 1.0
    assert sorted(i["annotator"] for i in report["items"] if i["kind"] == "gold") == ["alice", "bob"]
    assert client_for("alice").get("/api/agreement/").status_code == 403


def test_annotator_stats_report_throughput_acceptance_time_and_prelabel_edits(users, client_for, make_slices):
    a1, a2 = submitted_slice(make_slices, users), submitted_slice(make_slices, users)
    sam = client_for("sam")
    sam.post(f"/api/slices/{a1.pk}/review/", {"decision": "accept"}, format="json")
    sam.post(f"/api/slices/{a2.pk}/review/", {"decision": "reject", "comment": "no"}, format="json")
    stats = client_for("mia").get("/api/annotator-stats/").json()
    (alice,) = [row for row in stats["annotators"] if row["username"] == "alice"]
    assert (alice["slices_submitted"], alice["accepted"], alice["rejected"]) == (2, 1, 1)
    assert alice["acceptance_rate"] == 0.5
    assert alice["mean_seconds_per_slice"] == 30.0
    assert alice["prelabel_slices"] == 2
    assert alice["prelabel_changed_share"] == pytest.approx(26 / (32 * 40), abs=1e-4)
    assert alice["prelabel_changed_per_class"][1] == 0.2  # 20 of 100 vertebra pixels relabelled
    assert alice["agreement_gold"] is None
    assert client_for("bob").get("/api/annotator-stats/").status_code == 403
    assert client_for("sam").get("/api/annotator-stats/?project=9999").status_code == 404


def test_annotator_stats_follow_each_review_and_submission(users, client_for, make_slices):
    # The report is kept between views; every review or submission must show in the next one.
    a1 = submitted_slice(make_slices, users)
    mia, sam = client_for("mia"), client_for("sam")

    def alice_row() -> dict:
        stats = mia.get("/api/annotator-stats/").json()
        return next(row for row in stats["annotators"] if row["username"] == "alice")

    assert (alice_row()["slices_submitted"], alice_row()["reviewed"]) == (1, 0)
    sam.post(f"/api/slices/{a1.pk}/review/", {"decision": "accept"}, format="json")
    assert (alice_row()["accepted"], alice_row()["reviewed"]) == (1, 1)
    submitted_slice(make_slices, users)
    assert alice_row()["slices_submitted"] == 2


def test_a_blind_second_annotator_cannot_read_the_first_annotators_mask(client_for, users, make_slices):
    from annotator.models import Assignment
    from annotator.services.maskcodec import encode_mask

    slice_ = make_slices(1, height=8, width=8)[0]
    Assignment.objects.create(slice=slice_, annotator=users["alice"], purpose="main")
    Assignment.objects.create(slice=slice_, annotator=users["bob"], purpose="double")
    labels = np.zeros((8, 8), dtype=np.uint8)
    labels[2:5, 2:5] = 1
    saved = client_for("alice").put(
        f"/api/slices/{slice_.pk}/mask/",
        data=encode_mask(labels),
        content_type="image/png",
        HTTP_X_BASE_REVISION="",
    )
    assert saved.status_code == 201, saved.content
    bob = client_for("bob")
    assert bob.get(f"/api/slices/{slice_.pk}/mask/").status_code == 403
    assert bob.get(f"/api/slices/{slice_.pk}/mask/?revision={saved.json()['revision']}").status_code in (
        403,
        404,
    )
    assert client_for("alice").get(f"/api/slices/{slice_.pk}/mask/").status_code == 200
