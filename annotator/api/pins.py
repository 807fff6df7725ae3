"""The "resolved" tick of a review pin (issue 13): POST /api/review/pins/<id>/resolve/ {"resolved": bool}.

Who may tick: the annotator holding the slice's main assignment and the project's staff (supervisors,
ML staff, admins). A pin whose slice the user may not see (no role in its project, blind double/gold
annotation) is a 404, as the slice's review history is; a user who sees it but may not tick is a 403.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api.review_serializers import PinSerializer
from annotator.api.views.common import validated
from annotator.services.review import do_set_pin_resolved, pin_for_tick


class ResolveInput(serializers.Serializer):
    resolved = serializers.BooleanField(help_text="true ticks the pin as resolved, false opens it again")

    def to_internal_value(self, data: Any) -> Any:
        # Strict: DRF's BooleanField also takes "yes", 1, "on"; a tick is JSON true or false.
        value = data.get("resolved") if hasattr(data, "get") else None
        if value is not None and not isinstance(value, bool):
            raise serializers.ValidationError({"resolved": [f"must be true or false, got {value!r}"]})
        return super().to_internal_value(data)


class PinResolveView(generics.GenericAPIView):
    """{"resolved": true|false} -> the pin with `resolved`, `resolved_at`, `resolved_by`."""

    parser_classes = [JSONParser]
    serializer_class = PinSerializer
    filter_backends: list[Any] = []

    @extend_schema(request=ResolveInput, responses={200: PinSerializer})
    def post(self, request: Request, pk: int) -> Response:
        pin = pin_for_tick(request.user, pk)
        body = validated(ResolveInput, request.data if hasattr(request.data, "get") else {})
        pin = do_set_pin_resolved(pin, by=request.user, resolved=body["resolved"])
        return Response(PinSerializer(pin).data)
