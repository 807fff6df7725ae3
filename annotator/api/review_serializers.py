"""What the review endpoints answer: decisions with their pins, queue rows, my-queue rows."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotator.models import ReviewComment, ReviewDecision, Slice


class IsoDateTimeField(serializers.ReadOnlyField):
    """`datetime.isoformat()` as stored (e.g. "...+00:00"), the format these endpoints have always used."""

    def to_representation(self, value: Any) -> Any:
        return value.isoformat() if value is not None else None


class PinSerializer(serializers.ModelSerializer):
    """A pin with its "resolved" tick (who ticked it and when; null while open)."""

    resolved = serializers.SerializerMethodField()
    resolved_at = IsoDateTimeField()
    resolved_by = serializers.SerializerMethodField()

    class Meta:
        model = ReviewComment
        fields = ["id", "x", "y", "radius", "polygon", "text", "resolved", "resolved_at", "resolved_by"]

    def get_resolved(self, pin: ReviewComment) -> bool:
        return pin.resolved_at is not None

    def get_resolved_by(self, pin: ReviewComment) -> str | None:
        return pin.resolved_by.username if pin.resolved_by_id and pin.resolved_by else None


class ReviewDecisionSerializer(serializers.ModelSerializer):
    slice = serializers.IntegerField(source="slice_id", read_only=True)
    revision = serializers.IntegerField(source="revision_id", read_only=True)
    reviewer = serializers.SerializerMethodField()
    created_at = IsoDateTimeField()
    pins = PinSerializer(many=True, read_only=True)

    class Meta:
        model = ReviewDecision
        fields = ["id", "slice", "revision", "decision", "comment", "reviewer", "created_at", "pins"]

    def get_reviewer(self, decision: ReviewDecision) -> str | None:
        return decision.reviewer.username if decision.reviewer else None


class ReviewResultSerializer(ReviewDecisionSerializer):
    """A new decision and the slice's state after it."""

    state = serializers.CharField(source="slice.state", read_only=True)

    class Meta(ReviewDecisionSerializer.Meta):
        fields = [*ReviewDecisionSerializer.Meta.fields, "state"]


class ReviewQueueSliceSerializer(serializers.ModelSerializer):
    """A submitted slice waiting for review, with who submitted it and when."""

    series = serializers.IntegerField(source="series_id", read_only=True)
    subject = serializers.CharField(source="series.session.subject.label", read_only=True)
    head_revision = serializers.IntegerField(source="head_revision_id", read_only=True)
    annotator = serializers.SerializerMethodField()
    submitted_at = serializers.SerializerMethodField()
    classes_present = serializers.SerializerMethodField()

    class Meta:
        model = Slice
        fields = [
            "id",
            "series",
            "subject",
            "index",
            "state",
            "head_revision",
            "annotator",
            "submitted_at",
            "classes_present",
        ]

    def get_annotator(self, slice_: Slice) -> str | None:
        head = slice_.head_revision
        return head.author.username if head and head.author else None

    def get_submitted_at(self, slice_: Slice) -> str | None:
        head = slice_.head_revision
        return head.created_at.isoformat() if head else None

    def get_classes_present(self, slice_: Slice) -> list[int]:
        head = slice_.head_revision
        return [i for i, n in enumerate(head.labelled_pixels) if n] if head else []


class MyQueueRowSerializer(serializers.Serializer):
    """One of my active assignments (services.review.QueueRow)."""

    slice = serializers.IntegerField(source="slice.pk")
    state = serializers.CharField(source="slice.state")
    purpose = serializers.CharField(source="assignment.purpose")
    series = serializers.IntegerField(source="slice.series_id")
    subject = serializers.CharField(source="slice.series.session.subject.label")
    index = serializers.IntegerField(source="slice.index")
    track = serializers.CharField(source="assignment.purpose", help_text="the mask track to PUT")
    review = ReviewDecisionSerializer(allow_null=True, help_text="the latest rejection, if any")


class ReviewHistorySerializer(serializers.Serializer):
    slice = serializers.IntegerField(source="pk")
    state = serializers.CharField()
    results = ReviewDecisionSerializer(many=True, source="decisions")


class MaskDiffClassSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    name = serializers.CharField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()


class MaskDiffSerializer(serializers.Serializer):
    slice = serializers.IntegerField()
    head_revision = serializers.IntegerField()
    prelabel_revision = serializers.IntegerField(allow_null=True)
    changed_pixels = serializers.IntegerField()
    total_pixels = serializers.IntegerField()
    classes = MaskDiffClassSerializer(many=True)
    diff_png = serializers.CharField()


class AssignedSkippedSerializer(serializers.Serializer):
    assigned = serializers.ListField(child=serializers.JSONField())
    skipped = serializers.ListField(child=serializers.JSONField())


class GoldResultSerializer(serializers.Serializer):
    slice = serializers.IntegerField()
    gold_revision = serializers.IntegerField()
