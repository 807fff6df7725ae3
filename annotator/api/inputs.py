"""Request inputs of the hand-written API views (review, rounds, models, simulations) as DRF
serializers: every query parameter and body field is type-checked and bounded here, so a wrong type,
a huge or non-finite number or a unicode digit is a 400 naming the field, never a 500.

The views declare them with `extend_schema`, so /api/schema/ documents every parameter (and the
schema-driven fuzz test in tests/annotator/test_api_fuzz.py reaches every one of them).
"""

from __future__ import annotations

import math
import re
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request

from annotator.api.views.common import validated
from annotator.services.ids import MAX_DB_ID

_ASCII_DIGITS = re.compile(r"[0-9]+")
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def IdField(**kwargs: Any) -> serializers.IntegerField:  # noqa: N802 (reads like a field class)
    """A database id: an integer in 1..2**63-1 (larger ones would overflow the database driver)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_DB_ID, **kwargs)


class FiniteFloatField(serializers.FloatField):
    """A float that refuses NaN and +-inf (which DRF's FloatField lets through from query strings)."""

    def to_internal_value(self, data: Any) -> float:
        value = super().to_internal_value(data)
        if not math.isfinite(value):
            self.fail("invalid")
        return value


@extend_schema_field(OpenApiTypes.STR)
class ProjectRefField(serializers.Field):
    """A project by id (ASCII digits) or slug; resolved (404 when unknown) by the view."""

    default_error_messages = {"invalid": "must be a project id or slug"}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, int) and not isinstance(data, bool):
            if not 1 <= data <= MAX_DB_ID:
                self.fail("invalid")
            return data
        if not isinstance(data, str) or len(data) > 50:
            self.fail("invalid")
        if _ASCII_DIGITS.fullmatch(data):
            number = int(data)
            if not 1 <= number <= MAX_DB_ID:
                self.fail("invalid")
            return number
        if not _SLUG.fullmatch(data):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]})
class NamesField(serializers.Field):
    """A comma-separated string or a list of strings (e.g. architectures)."""

    default_error_messages = {"invalid": "must be a comma-separated string or a list of strings"}

    def to_internal_value(self, data: Any) -> list[str]:
        if isinstance(data, str):
            names = [n.strip() for n in data.split(",") if n.strip()]
        elif isinstance(data, list) and all(isinstance(n, str) for n in data):
            names = list(data)
        else:
            self.fail("invalid")
        if len(names) > 100 or any(len(n) > 100 for n in names):
            self.fail("invalid")
        return names

    def to_representation(self, value: Any) -> Any:
        return value


def query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The request's validated query parameters (InvalidInput 400 naming each bad one)."""
    return validated(serializer_class, request.query_params)


def body(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The request's validated body; a body that is not an object counts as empty."""
    data = request.data if hasattr(request.data, "get") else {}
    return validated(serializer_class, data)


class ProjectQuery(serializers.Serializer):
    project = ProjectRefField(required=False, help_text="project id or slug (default: lumbar)")


class ReviewQueueQuery(ProjectQuery):
    annotator = serializers.CharField(required=False, max_length=150, help_text="username or user id")
    series = IdField(required=False)
    subject = serializers.CharField(required=False, max_length=200, help_text="subject label")
    older_than_hours = FiniteFloatField(required=False, min_value=0, max_value=24 * 365 * 100)

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # `class` is a Python keyword, so the field is added by name.
        fields["class"] = serializers.IntegerField(
            required=False, min_value=0, max_value=255, help_text="class index present in the mask"
        )
        return fields


class DiffQuery(serializers.Serializer):
    layer = serializers.ChoiceField(
        choices=["diff", "head", "prelabel"], required=False, help_text="an RGBA overlay PNG instead of JSON"
    )


class ReviewInput(serializers.Serializer):
    """Documents the body; services.review.do_review checks decision, comment and pins (their messages
    name the pin and the coordinate), so only the revision id is checked here."""

    decision = serializers.JSONField(required=False, help_text="accept or reject")
    comment = serializers.JSONField(required=False, help_text="a string of at most 5000 characters")
    pins = serializers.JSONField(
        required=False,
        help_text="at most 50 of {x, y, text, radius?, polygon?: at most 1000 [x, y] points} in image pixels",
    )
    revision = IdField(required=False, allow_null=True, help_text="the head you reviewed (409 if stale)")


class DoubleAnnotationInput(serializers.Serializer):
    annotator = serializers.JSONField(help_text="user id or username of the second annotator")
    project = ProjectRefField(required=False, allow_null=True)
    share = FiniteFloatField(required=False, allow_null=True, help_text="0 < share <= 1")
    slices = serializers.ListField(child=IdField(), required=False, allow_null=True, max_length=100000)
    series = IdField(required=False, allow_null=True)
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=2**31 - 1)

    def validate_annotator(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise serializers.ValidationError("must be a user id or username")
        if isinstance(value, int) and not 1 <= value <= MAX_DB_ID:
            raise serializers.ValidationError("must be a user id or username")
        return value


class GoldAssignmentsInput(serializers.Serializer):
    annotators = serializers.ListField(
        child=serializers.JSONField(), max_length=1000, help_text="user ids or usernames"
    )
    slices = serializers.ListField(child=IdField(), max_length=100000)

    def validate_annotators(self, value: list[Any]) -> list[Any]:
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (int, str)):
                raise serializers.ValidationError("must be a list of user ids or usernames")
            if isinstance(item, int) and not 1 <= item <= MAX_DB_ID:
                raise serializers.ValidationError("must be a list of user ids or usernames")
        return value


class GoldFromInput(serializers.Serializer):
    # `from` is a Python keyword, so the field is added by name.
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.ChoiceField(choices=["accepted_head"], help_text="copy the accepted head")
        }


class RoundLaunchInput(serializers.Serializer):
    """Types of the launch options; annotator.rounds.options.parse_options checks ranges and names."""

    project = ProjectRefField(required=False, allow_null=True)
    architectures = NamesField(required=False, allow_null=True)
    folds = serializers.IntegerField(required=False, allow_null=True, min_value=2, max_value=20)
    epochs = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=1000)
    steps_per_epoch = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=10000)
    min_spacing = serializers.FloatField(required=False, allow_null=True, min_value=0.05, max_value=20.0)
    optimiser = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20)
    augmentation = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20)
    promotion_floor = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    final_model = serializers.BooleanField(required=False)
    channels = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=50)
    strategy = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=50)
    next_batch = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=100000)
    filters = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=512)
    patch_size = serializers.IntegerField(required=False, allow_null=True, min_value=16, max_value=2048)
    batch_size = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=512)
    seed = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)
    loss = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=50)
    augment = serializers.BooleanField(required=False)


class PromoteInput(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class PrelabelInput(serializers.Serializer):
    strategy = serializers.CharField(required=False, allow_blank=True, max_length=50, default="")
    next_batch = serializers.IntegerField(required=False, min_value=1, max_value=100000, default=20)


class SimulationUploadInput(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="the JSON written by `mlcore simulate --out`")
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    project = ProjectRefField(required=False, allow_null=True)
