"""Slices: list/detail, revision history, submit, and the annotator's "next slice" claim."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api.filters import NullsLastOrderingFilter, RevisionFilter, SliceFilter
from annotator.api.pagination import CappedCountPagination, Pagination
from annotator.api.permissions import HasRole
from annotator.api.serializers import (
    NextSliceSerializer,
    RevisionSerializer,
    SliceDetailSerializer,
    SliceListSerializer,
)
from annotator.errors import Forbidden, NotFound
from annotator.models import Assignment, MaskRevision, Slice, SliceState
from annotator.services import queue, roles, workflow
from annotator.services.access import (
    blind_annotation,
    can_edit_slice,
    can_view_main_mask,
    get_slice_for_write,
    get_visible_slice,
    visible_revisions,
    visible_slices,
)
from annotator.services.ids import as_db_id
from annotator.users import AuthedRequest


class SubmitResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()


class SliceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Annotators see the slices assigned to them; supervisors, ML staff and admins see all."""

    filterset_class = SliceFilter
    filter_backends = [DjangoFilterBackend, NullsLastOrderingFilter]
    ordering_fields = ["id", "index", "rank", "rank_score", "state", "updated_at"]
    lookup_value_regex = r"\d+"
    queryset = Slice.objects.none()
    pagination_class = Pagination

    @property
    def paginator(self) -> Pagination:
        """Counting every slice is cheap only without the per-user visibility filter; an annotator's
        list (and a partly visible project) is counted up to a cap (`count_exact`)."""
        if not hasattr(self, "_paginator"):
            everything = roles.sees_all_projects(self.request.user)
            self._paginator = Pagination() if everything else CappedCountPagination()
        return self._paginator

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return SliceDetailSerializer if self.action == "retrieve" else SliceListSerializer

    def get_queryset(self) -> QuerySet[Slice]:
        holder = Assignment.objects.filter(
            slice=OuterRef("pk"), active=True, purpose=Assignment.Purpose.MAIN
        ).values("annotator__username")[:1]
        return (
            visible_slices(self.request.user)
            .select_related("series__session__subject")
            .annotate(assigned_to=Subquery(holder), blind=blind_annotation(self.request.user))
            .order_by("series_id", "index")
        )

    def get_object(self) -> Slice:
        slice_ = get_visible_slice(self.request.user, int(self.kwargs["pk"]))
        slice_.blind = not can_view_main_mask(self.request.user, slice_)  # type: ignore[attr-defined]
        return slice_

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        context["neighbours"] = visible_slices(self.request.user)
        return context

    @extend_schema(responses=RevisionSerializer(many=True), filters=False)
    @action(detail=True, methods=["get"], filterset_class=RevisionFilter, ordering_fields=["id"])
    def revisions(self, request: Request, pk: str) -> Response:
        """Every revision of the slice, newest first (conflicts included)."""
        slice_ = get_visible_slice(request.user, int(pk))
        qs = visible_revisions(request.user).filter(slice=slice_).select_related("author").order_by("-id")
        qs = RevisionFilter(request.query_params, queryset=qs, request=request).qs
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(RevisionSerializer(page, many=True).data)

    @extend_schema(
        request=None, responses={200: SubmitResultSerializer, 409: OpenApiResponse(description="wrong state")}
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str) -> Response:
        """in_progress (or rejected) -> submitted. The annotator must hold the assignment."""
        get_slice_for_write(request.user, int(pk))
        with transaction.atomic():
            locked = Slice.objects.select_for_update().get(pk=int(pk))
            if not can_edit_slice(request.user, locked):
                raise Forbidden(f"you are not assigned to slice {pk}")
            workflow.transition(locked, SliceState.SUBMITTED)
            Assignment.objects.filter(
                slice=locked, active=True, purpose=Assignment.Purpose.MAIN, completed_at__isnull=True
            ).update(completed_at=timezone.now())
        return Response({"id": locked.pk, "state": locked.state})

    @extend_schema(
        request=None,
        responses={200: NextSliceSerializer, 404: OpenApiResponse(description="nothing left to annotate")},
    )
    @action(detail=False, methods=["post"], url_path="next", permission_classes=[HasRole.of(roles.ANNOTATOR)])
    def next_slice(self, request: AuthedRequest) -> Response:
        """Claim the next slice: my rejected ones, then my open ones, then unassigned by rank."""
        raw = request.data.get("project") if hasattr(request.data, "get") else None
        project_id = as_db_id(raw if isinstance(raw, int) else str(raw)) if raw not in (None, "") else None
        found = queue.next_slice(request.user, project_id)
        if found is None:
            raise NotFound("no slice is left to annotate: every slice is labelled or held by someone")
        return Response({"slice": found.pk})


class RevisionViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Metadata of one mask revision (the pixels are at /api/slices/{id}/mask/?revision=<id>)."""

    serializer_class = RevisionSerializer
    queryset = MaskRevision.objects.none()
    pagination_class = Pagination
    lookup_value_regex = r"\d+"

    def get_object(self) -> MaskRevision:
        found = (
            visible_revisions(self.request.user).select_related("author").filter(pk=self.kwargs["pk"]).first()
        )
        if found is None:
            raise NotFound(f"revision {self.kwargs['pk']} does not exist")
        return found
