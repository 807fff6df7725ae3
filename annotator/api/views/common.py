"""Small helpers shared by the views: validation that answers {"detail", "code", "errors"}."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from annotator.errors import InvalidInput


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate request data or raise InvalidInput (400) naming every bad field."""
    serializer = serializer_class(data=data)
    check_valid(serializer)
    return dict(serializer.validated_data)


def check_valid(serializer: serializers.BaseSerializer) -> None:
    """Raise InvalidInput (400) naming every bad field unless the serializer's data is valid."""
    if not serializer.is_valid():
        found: dict[str, Any] = dict(serializer.errors)
        errors = {
            field: [str(m) for m in messages] if isinstance(messages, list) else messages
            for field, messages in found.items()
        }
        summary = "; ".join(f"{where}: {message}" for where, message in _flatten(found))
        raise InvalidInput(f"invalid request: {summary}", errors=errors)


def _flatten(errors: Any, where: str = "") -> list[tuple[str, str]]:
    """DRF's nested errors ({"slices": {0: ["..."]}}) as ("slices[0]", "...") pairs."""
    if isinstance(errors, dict):
        pairs = []
        for key, value in errors.items():
            name = f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else str(key))
            pairs.extend(_flatten(value, name))
        return pairs
    if isinstance(errors, list) and errors and all(isinstance(e, str) for e in errors):
        return [(where, " ".join(errors))]
    if isinstance(errors, list):
        return [pair for i, e in enumerate(errors) if e for pair in _flatten(e, f"{where}[{i}]")]
    return [(where, str(errors))]
