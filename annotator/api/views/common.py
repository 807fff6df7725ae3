"""Small helpers shared by the views: validation that answers {"detail", "code", "errors"}."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotator.errors import InvalidInput


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate request data or raise InvalidInput (400) naming every bad field."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        errors = {
            field: [str(m) for m in messages] if isinstance(messages, list) else messages
            for field, messages in serializer.errors.items()
        }
        summary = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in errors.items())
        raise InvalidInput(f"invalid request: {summary}", errors=errors)
    return dict(serializer.validated_data)
