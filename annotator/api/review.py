"""Review REST views: DRF generic views over services.review / agreement / annotator_stats.

Inputs are the serializers of annotator.api.inputs, answers those of annotator.api.review_serializers;
writes happen in `perform_create`, which calls the service. Who may do what is annotator.services.access.
"""

from __future__ import annotations

import io
from typing import Any, cast

import numpy as np
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from PIL import Image
from rest_framework import generics, serializers
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api import inputs
from annotator.api.pagination import CappedCountPagination, Pagination
from annotator.api.review_serializers import (
    AssignedSkippedSerializer,
    GoldResultSerializer,
    MaskDiffSerializer,
    MyQueueRowSerializer,
    ReviewHistorySerializer,
    ReviewQueueSliceSerializer,
    ReviewResultSerializer,
)
from annotator.api.views.common import check_valid
from annotator.api.views.pixels import check_png_header
from annotator.errors import InvalidInput, NotFound
from annotator.models import Assignment, Project, Slice
from annotator.services import access
from annotator.services.agreement import agreement_report, do_mark_gold, do_send_for_double, do_send_gold
from annotator.services.annotator_stats import annotator_stats
from annotator.services.masks import revision_labels
from annotator.services.review import decisions_of, do_review, mask_diff, my_queue, queue_rows, review_queue
from annotator.users import User, Viewer

MAX_GOLD_BYTES = 16 * 1024 * 1024


class RawPngParser(BaseParser):
    media_type = "image/png"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return stream.read() if stream is not None else b""


def _existing_project(ref: int | str | None) -> Project:
    """The project named in a write (the default when absent); 404 when there is no such project."""
    found = access.find_project(ref)
    if found is None:
        raise NotFound(f"project {ref!r} does not exist")
    return found


class ServiceCreateView(generics.CreateAPIView):
    """POST: `gate` (the role somewhere), the body checked by `serializer_class` (a 400 naming each bad
    field), then `perform_create` calls the service and keeps its answer in `self.result`; 201."""

    parser_classes = [JSONParser]
    filter_backends: list[Any] = []
    output_class: type[serializers.Serializer] = serializers.Serializer
    result: Any = None

    def gate(self, user: Viewer) -> None:
        """Refuse roles that may never do this (403) before the body is read."""

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.gate(request.user)
        serializer = self.get_serializer(data=request.data if hasattr(request.data, "get") else {})
        check_valid(serializer)
        self.perform_create(serializer)
        return Response(self.output_class(self.result).data, status=201)


class ReviewQueueView(generics.ListAPIView):
    """Submitted slices, oldest first; filters annotator, series, subject, class, older_than_hours."""

    serializer_class = ReviewQueueSliceSerializer
    pagination_class = Pagination
    filter_backends: list[Any] = []

    @property
    def paginator(self) -> Pagination:
        """Users who see every project count the queue on the state index alone (cheap); the queue
        of a partly visible site is joined up to its projects, so it is counted up to a cap."""
        if not hasattr(self, "_paginator"):
            everything = access.sees_all_projects(self.request.user)
            self._paginator = Pagination() if everything else CappedCountPagination()
        return self._paginator

    def get_queryset(self) -> QuerySet[Slice]:
        user = self.request.user
        access.require(access.is_staff(user), "your role may not see the review queue")
        params = inputs.query(inputs.ReviewQueueQuery, self.request)
        project = params.get("project")
        if project not in (None, ""):
            project = access.project_for(user, project, what="see its review queue").pk
        queue = review_queue(
            project=project,
            annotator=params.get("annotator") or None,
            series=params.get("series"),
            subject=params.get("subject") or None,
            class_index=params.get("class"),
            older_than_hours=params.get("older_than_hours"),
        )
        if access.sees_all_projects(user):
            return queue  # every project: the filter below would only join each row to its project
        return queue.filter(series__session__subject__project__in=access.staff_projects(user))

    @extend_schema(parameters=[inputs.ReviewQueueQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ReviewView(ServiceCreateView):
    """{decision: accept|reject, comment, pins: [{x, y, radius?, polygon?, text}], revision?}"""

    serializer_class = inputs.ReviewInput
    output_class = ReviewResultSerializer

    def gate(self, user: Viewer) -> None:
        access.require(access.can_review(user), "only supervisors and admins may review slices")

    def perform_create(self, serializer: Any) -> None:
        body, pk = serializer.validated_data, self.kwargs["pk"]
        slice_ = access.slice_in_reach(self.request.user, pk, "head_revision")
        access.require_reviewer_of(self.request.user, slice_.project, "review slices")
        self.result = do_review(
            slice_id=pk,
            reviewer=self.request.user,
            decision=body.get("decision"),
            comment=body.get("comment", ""),
            pins=body.get("pins"),
            revision_id=body.get("revision"),
        )
        self.result.slice.refresh_from_db(fields=["state"])

    @extend_schema(request=inputs.ReviewInput, responses={201: ReviewResultSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


def _slice_with_main_mask(user: Viewer, pk: int) -> Slice:
    """The slice when the user may see its main-track work; 404 otherwise (blind annotation)."""
    slice_ = access.slice_in_reach(user, pk, "head_revision")
    if not access.can_view_main_mask(user, slice_):
        raise NotFound(f"slice {pk} does not exist")
    return slice_


class ReviewHistoryView(generics.RetrieveAPIView):
    """Every decision on the slice, newest first, with pins (the audit trail)."""

    serializer_class = ReviewHistorySerializer

    def get_object(self) -> Slice:
        slice_ = _slice_with_main_mask(self.request.user, self.kwargs["pk"])
        slice_.decisions = list(decisions_of(slice_))  # type: ignore[attr-defined]
        return slice_


def _overlay_png(labels: np.ndarray, colours: list[str], keep: np.ndarray, alpha: int = 255) -> bytes:
    """(H, W) labels -> RGBA PNG in class colours where `keep` (H, W) bool, transparent elsewhere."""
    table = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], np.uint8)  # (K, 3)
    rgba = np.zeros((*labels.shape, 4), np.uint8)
    rgba[..., :3] = table[np.clip(labels, 0, len(table) - 1)]
    rgba[..., 3] = np.where(keep, alpha, 0)
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


class ReviewDiffView(generics.GenericAPIView):
    serializer_class = MaskDiffSerializer

    @extend_schema(parameters=[inputs.DiffQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response | HttpResponse:
        """JSON counts per class; `?layer=diff|head|prelabel` -> an RGBA overlay PNG instead."""
        layer = inputs.query(inputs.DiffQuery, request).get("layer")
        slice_ = _slice_with_main_mask(request.user, pk)
        project = slice_.project
        colours = list(project.classes.order_by("index").values_list("colour", flat=True))
        diff = mask_diff(slice_, len(colours))
        if layer:
            if layer == "diff":
                png = _overlay_png(diff.head_labels, colours, diff.changed)
            elif layer == "head":
                png = _overlay_png(diff.head_labels, colours, diff.head_labels > 0)
            elif layer == "prelabel":
                if diff.prelabel is None:
                    raise NotFound(f"slice {pk} has no pre-label")
                before = revision_labels(diff.prelabel)
                png = _overlay_png(before, colours, before > 0)
            else:
                raise InvalidInput(f"layer must be diff, head or prelabel, got {layer!r}")
            return HttpResponse(png, content_type="image/png", headers={"Cache-Control": "no-store"})
        names = project.class_names()
        answer = {
            "slice": pk,
            "head_revision": diff.head.pk,
            "prelabel_revision": diff.prelabel.pk if diff.prelabel else None,
            "changed_pixels": int(diff.changed.sum()),
            "total_pixels": int(diff.changed.size),
            "classes": [
                {"index": i, "name": names[i], "added": diff.added[i], "removed": diff.removed[i]}
                for i in range(len(names))
                if diff.added[i] or diff.removed[i]
            ],
            "diff_png": f"/api/slices/{pk}/review-diff/?layer=diff",
        }
        return Response(self.get_serializer(answer).data)


class MyQueueView(generics.ListAPIView):
    """My active assignments: rejected slices first with the latest rejection, then the rest."""

    serializer_class = MyQueueRowSerializer
    pagination_class = CappedCountPagination  # grows with the annotator's own work
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Assignment]:
        return my_queue(cast(User, self.request.user))  # behind IsAuthenticated: a signed-in User

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # The page's ids first, then its rows: the sort over all of the annotator's assignments then
        # carries narrow rows instead of each assignment with its slice, series, session and subject.
        ids = self.paginate_queryset(self.get_queryset().values_list("id", flat=True)) or []
        found = Assignment.objects.select_related("slice__series__session__subject").in_bulk(ids)
        rows = queue_rows([found[i] for i in ids if i in found])
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


class DoubleAnnotationView(ServiceCreateView):
    """{share, annotator, series?, seed?} or {slices: [...], annotator} -> {assigned, skipped}."""

    serializer_class = inputs.DoubleAnnotationInput
    output_class = AssignedSkippedSerializer

    def perform_create(self, serializer: Any) -> None:
        body = serializer.validated_data
        project = _existing_project(
            body.get("project") or inputs.query(inputs.ProjectQuery, self.request).get("project")
        )
        if access.can_review(self.request.user):
            access.require_reviewer_of(self.request.user, project, "send slices for double")
        self.result = do_send_for_double(
            by=self.request.user,
            annotator=body.get("annotator"),
            project=project,
            share=body.get("share"),
            slices=body.get("slices"),
            series=body.get("series"),
            seed=body["seed"],
        )

    @extend_schema(request=inputs.DoubleAnnotationInput, responses={201: AssignedSkippedSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class GoldView(ServiceCreateView):
    """PNG body (image/png) = the gold mask; JSON {"from": "accepted_head"} copies the accepted head."""

    parser_classes = [RawPngParser, JSONParser]
    serializer_class = inputs.GoldFromInput
    output_class = GoldResultSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        pk = self.kwargs["pk"]
        if request.content_type.startswith("image/png"):
            png = request.data if isinstance(request.data, bytes) else b""
            if len(png) > MAX_GOLD_BYTES:
                raise InvalidInput(f"the gold mask is larger than {MAX_GOLD_BYTES} bytes")
            if not png:
                raise InvalidInput("the gold mask body is empty: send an indexed PNG")
            access.require(access.can_review(request.user), "your role may not mark gold slices")
            # The size comes from the header: a huge PNG is never decoded.
            check_png_header(png, access.slice_in_reach(request.user, pk))
        else:
            if not hasattr(request.data, "get") or request.data.get("from") != "accepted_head":
                raise InvalidInput('send an image/png body, or JSON {"from": "accepted_head"}')
            png = None
        self.perform_create(png)
        return Response(self.output_class(self.result).data, status=201)

    def perform_create(self, png: Any) -> None:  # type: ignore[override]
        pk = self.kwargs["pk"]
        if access.can_review(self.request.user):
            slice_ = access.slice_in_reach(self.request.user, pk)
            access.require_reviewer_of(self.request.user, slice_.project, "mark gold")
        revision = do_mark_gold(slice_id=pk, by=self.request.user, png=png)
        self.result = {"slice": pk, "gold_revision": revision.pk}

    @extend_schema(
        request={"image/png": OpenApiTypes.BINARY, "application/json": inputs.GoldFromInput},
        responses={201: GoldResultSerializer},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class GoldAssignmentsView(ServiceCreateView):
    """{annotators: [...], slices: [...]} -> gold assignments {assigned, skipped}."""

    serializer_class = inputs.GoldAssignmentsInput
    output_class = AssignedSkippedSerializer

    def perform_create(self, serializer: Any) -> None:
        body = serializer.validated_data
        user = self.request.user
        if access.can_review(user):
            # Every slice named must lie in a project the user supervises (404 / 403 otherwise).
            for slice_ in Slice.objects.filter(pk__in=body["slices"]).select_related(
                "series__session__subject__project"
            ):
                access.require_reviewer_of(user, slice_.project, "hand out gold annotation")
        self.result = do_send_gold(by=user, annotators=body["annotators"], slices=body["slices"])

    @extend_schema(request=inputs.GoldAssignmentsInput, responses={201: AssignedSkippedSerializer})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class ProjectReportView(generics.GenericAPIView):
    """GET ?project=: a staff-only report of one project, built by `report`."""

    what = ""

    def report(self, project: Project) -> dict[str, Any]:
        raise NotImplementedError

    @extend_schema(parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        access.require(access.is_staff(request.user), f"your role may not {self.what}")
        ref = inputs.query(inputs.ProjectQuery, request).get("project")
        project = access.project_for(request.user, ref, *access.STAFF, what=self.what)
        return Response(self.report(project))


class AgreementView(ProjectReportView):
    what = "see inter-annotator agreement"

    def report(self, project: Project) -> dict[str, Any]:
        return agreement_report(project)


class AnnotatorStatsView(ProjectReportView):
    what = "see annotator statistics"

    def report(self, project: Project) -> dict[str, Any]:
        return annotator_stats(project)
