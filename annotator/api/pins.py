"""The "resolved" tick of a review pin (issue 13): POST /api/review/pins/<id>/resolve/ {"resolved": bool}.

Who may tick: the annotator holding the slice's main assignment and the project's staff (supervisors,
ML staff, admins). A pin whose slice the user may not see (no role in its project, blind double/gold
annotation) is a 404, as the slice's review history is; a user who sees it but may not tick is a 403.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api.review_serializers import PinSerializer
from annotator.api.views.common import validated
from annotator.errors import NotFound
from annotator.models import MaskRevision, ReviewComment
from annotator.services import access
from annotator.services.ids import as_db_id
from annotator.users import Viewer


class ResolveInput(serializers.Serializer):
    resolved = serializers.BooleanField(help_text="true ticks the pin as resolved, false opens it again")

    def to_internal_value(self, data: Any) -> Any:
        # Strict: DRF's BooleanField also takes "yes", 1, "on"; a tick is JSON true or false.
        value = data.get("resolved") if hasattr(data, "get") else None
        if value is not None and not isinstance(value, bool):
            raise serializers.ValidationError({"resolved": [f"must be true or false, got {value!r}"]})
        return super().to_internal_value(data)


def pin_for_tick(user: Viewer, pin_id: int) -> ReviewComment:
    """The pin when `user` may tick it: 404 when its slice is out of the user's sight, 403 when the
    user sees it but neither holds the slice's main assignment nor is staff of its project."""
    # A number beyond the database's ids would overflow its driver: no such pin.
    pin = (
        ReviewComment.objects.filter(pk=pin_id).select_related("decision").first()
        if as_db_id(pin_id)
        else None
    )
    if pin is None:
        raise NotFound(f"pin {pin_id} does not exist")
    try:
        slice_ = access.slice_in_reach(user, pin.decision.slice_id)
    except NotFound:
        raise NotFound(f"pin {pin_id} does not exist") from None
    if not access.can_view_main_mask(user, slice_):
        raise NotFound(f"pin {pin_id} does not exist")
    # can_edit_slice on the main track: supervisors/admins of the project, or the main assignee.
    allowed = access.is_staff_in(user, slice_.project) or access.can_edit_slice(
        user, slice_, MaskRevision.Track.MAIN
    )
    access.require(
        allowed,
        "only the annotator assigned to this slice and the project's staff may tick its review pins",
    )
    return pin


def do_set_pin_resolved(pin: ReviewComment, *, by: Viewer, resolved: bool) -> ReviewComment:
    """Tick (or clear) the pin in one transaction; ticking an already ticked pin keeps who and when."""
    with transaction.atomic():
        locked = ReviewComment.objects.select_for_update().get(pk=pin.pk)
        if resolved and locked.resolved_at is None:
            locked.resolved_at = timezone.now()
            locked.resolved_by_id = by.pk
        elif not resolved:
            locked.resolved_at = None
            locked.resolved_by = None
        locked.save(update_fields=["resolved_at", "resolved_by"])
    return ReviewComment.objects.select_related("resolved_by").get(pk=pin.pk)


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
