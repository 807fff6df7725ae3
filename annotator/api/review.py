"""Review REST views: thin wrappers over services.review / agreement / annotator_stats."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from PIL import Image
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api import inputs
from annotator.api.permissions import full_view_projects, get_visible_project, require_role_in
from annotator.api.views.pixels import check_png_header
from annotator.errors import Forbidden, InvalidInput, NotFound
from annotator.models import Project, ReviewDecision, Slice
from annotator.services import roles
from annotator.services.access import can_view_main_mask
from annotator.services.agreement import agreement_report, do_mark_gold, do_send_for_double, do_send_gold
from annotator.services.annotator_stats import annotator_stats
from annotator.services.masks import revision_labels
from annotator.services.projects import default_project
from annotator.services.review import do_review, mask_diff, my_queue, review_queue

MAX_GOLD_BYTES = 16 * 1024 * 1024


class RawPngParser(BaseParser):
    media_type = "image/png"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        return stream.read() if stream is not None else b""


def _project(ref: int | str | None) -> Project:
    """A project by id or slug as validated by inputs.ProjectRefField; the default when absent."""
    if ref in (None, ""):
        return default_project()
    found = (
        Project.objects.filter(pk=ref).first()
        if isinstance(ref, int)
        else Project.objects.filter(slug=ref).first()
    )
    if found is None:
        raise NotFound(f"project {ref} does not exist")
    return found


def _project_or_none(ref: int | str) -> Project | None:
    return (
        Project.objects.filter(pk=ref) if isinstance(ref, int) else Project.objects.filter(slug=ref)
    ).first()


def _require(user: Any, check: Any, what: str) -> None:
    if not check(user):
        raise Forbidden(f"your role may not {what}")


def _slice(pk: int, user: Any) -> Slice:
    """The slice, or 404 when it does not exist or lies in a project the user holds no role in."""
    found = (
        Slice.objects.select_related("series__session__subject__project", "head_revision")
        .filter(pk=pk)
        .first()
    )
    if found is None or not roles.roles_in(user, found.project):
        raise NotFound(f"slice {pk} does not exist")
    return found


def _require_supervisor_of(user: Any, slice_ids: Any, what: str) -> None:
    """Every slice named must be in a project where the user supervises (404 / 403 otherwise)."""
    ids = [i for i in slice_ids if isinstance(i, int)] if isinstance(slice_ids, list) else []
    for slice_ in Slice.objects.filter(pk__in=ids).select_related("series__session__subject__project"):
        require_role_in(user, slice_.project, roles.SUPERVISOR, roles.ADMIN, what=what)


def decision_json(d: ReviewDecision) -> dict[str, Any]:
    return {
        "id": d.pk,
        "slice": d.slice_id,
        "revision": d.revision_id,
        "decision": d.decision,
        "comment": d.comment,
        "reviewer": d.reviewer.username if d.reviewer else None,
        "created_at": d.created_at.isoformat(),
        "pins": [
            {"x": p.x, "y": p.y, "radius": p.radius, "polygon": p.polygon, "text": p.text}
            for p in d.pins.all()
        ],
    }


def slice_json(s: Slice) -> dict[str, Any]:
    head = s.head_revision
    return {
        "id": s.pk,
        "series": s.series_id,
        "subject": s.series.session.subject.label,
        "index": s.index,
        "state": s.state,
        "head_revision": head.pk if head else None,
        "annotator": head.author.username if head and head.author else None,
        "submitted_at": head.created_at.isoformat() if head else None,
        "classes_present": [i for i, n in enumerate(head.labelled_pixels) if n] if head else [],
    }


def paginated(request: Request, view: APIView, rows: list[Any]) -> Response:
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(rows, request, view=view)
    return paginator.get_paginated_response(page)


class ReviewQueueView(APIView):
    @extend_schema(parameters=[inputs.ReviewQueueQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """Submitted slices, oldest first; filters annotator, series, subject, class, older_than_hours."""
        _require(request.user, roles.sees_everything, "see the review queue")
        params = inputs.query(inputs.ReviewQueueQuery, request)
        project = params.get("project")
        if project not in (None, ""):
            project = get_visible_project(request.user, _project_or_none(project)).pk
        qs = review_queue(
            project=project,
            annotator=params.get("annotator") or None,
            series=params.get("series"),
            subject=params.get("subject") or None,
            class_index=params.get("class"),
            older_than_hours=params.get("older_than_hours"),
        ).filter(series__session__subject__project__in=full_view_projects(request.user))
        return paginated(request, self, [slice_json(s) for s in qs])


class ReviewView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=inputs.ReviewInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        """{decision: accept|reject, comment, pins: [{x, y, radius?, polygon?, text}], revision?}"""
        if not roles.is_supervisor(request.user):
            raise Forbidden("only supervisors and admins may review slices")
        body = inputs.body(inputs.ReviewInput, request)
        require_role_in(
            request.user,
            _slice(pk, request.user).project,
            roles.SUPERVISOR,
            roles.ADMIN,
            what="review slices",
        )
        record = do_review(
            slice_id=pk,
            reviewer=request.user,
            decision=body.get("decision"),
            comment=body.get("comment", ""),
            pins=body.get("pins"),
            revision_id=body.get("revision"),
        )
        state = Slice.objects.values_list("state", flat=True).get(pk=pk)
        return Response({**decision_json(record), "state": state}, status=201)


class ReviewHistoryView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        """Every decision on the slice, newest first, with pins (the audit trail)."""
        slice_ = _slice(pk, request.user)
        if not can_view_main_mask(request.user, slice_):
            raise NotFound(f"slice {pk} does not exist")
        decisions = slice_.reviews.select_related("reviewer").prefetch_related("pins")
        return Response(
            {"slice": pk, "state": slice_.state, "results": [decision_json(d) for d in decisions]}
        )


def _overlay_png(labels: np.ndarray, colours: list[str], keep: np.ndarray, alpha: int = 255) -> bytes:
    """(H, W) labels -> RGBA PNG in class colours where `keep` (H, W) bool, transparent elsewhere."""
    table = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours], np.uint8)  # (K, 3)
    rgba = np.zeros((*labels.shape, 4), np.uint8)
    rgba[..., :3] = table[np.clip(labels, 0, len(table) - 1)]
    rgba[..., 3] = np.where(keep, alpha, 0)
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


class ReviewDiffView(APIView):
    @extend_schema(parameters=[inputs.DiffQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response | HttpResponse:
        """JSON counts per class; `?layer=diff|head|prelabel` -> an RGBA overlay PNG instead."""
        layer = inputs.query(inputs.DiffQuery, request).get("layer")
        slice_ = _slice(pk, request.user)
        if not can_view_main_mask(request.user, slice_):
            raise NotFound(f"slice {pk} does not exist")
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
        return Response(
            {
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
        )


class MyQueueView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        """My active assignments: rejected slices first with the latest rejection, then the rest."""
        rows = []
        member_of = roles.project_ids_where(request.user)  # a project left behind drops out
        for slice_, assignment, review in my_queue(request.user):
            if slice_.series.session.subject.project_id not in member_of:
                continue
            rows.append(
                {
                    "slice": slice_.pk,
                    "state": slice_.state,
                    "purpose": assignment.purpose,
                    "series": slice_.series_id,
                    "subject": slice_.series.session.subject.label,
                    "index": slice_.index,
                    "track": assignment.purpose,  # the mask track to PUT (?track=double|gold)
                    "review": decision_json(review) if review else None,
                }
            )
        return paginated(request, self, rows)


class DoubleAnnotationView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=inputs.DoubleAnnotationInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        """{share, annotator, series?, seed?} or {slices: [...], annotator} -> {assigned, skipped}."""
        body = inputs.body(inputs.DoubleAnnotationInput, request)
        project = _project(body.get("project") or inputs.query(inputs.ProjectQuery, request).get("project"))
        if roles.is_supervisor(request.user):
            require_role_in(
                request.user, project, roles.SUPERVISOR, roles.ADMIN, what="send slices for double"
            )
        result = do_send_for_double(
            by=request.user,
            annotator=body.get("annotator"),
            project=project,
            share=body.get("share"),
            slices=body.get("slices"),
            series=body.get("series"),
            seed=body["seed"],
        )
        return Response(result, status=201)


class GoldView(APIView):
    parser_classes = [RawPngParser, JSONParser]

    @extend_schema(
        request={"image/png": OpenApiTypes.BINARY, "application/json": inputs.GoldFromInput},
        responses={201: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request, pk: int) -> Response:
        """PNG body (image/png) = the gold mask; JSON {"from": "accepted_head"} copies the accepted head."""
        if request.content_type.startswith("image/png"):
            png = request.data if isinstance(request.data, bytes) else b""
            if len(png) > MAX_GOLD_BYTES:
                raise InvalidInput(f"the gold mask is larger than {MAX_GOLD_BYTES} bytes")
            if not png:
                raise InvalidInput("the gold mask body is empty: send an indexed PNG")
            _require(request.user, roles.is_supervisor, "mark gold slices")
            check_png_header(
                png, _slice(pk, request.user)
            )  # size from the header: a huge PNG is never decoded
        else:
            if not hasattr(request.data, "get") or request.data.get("from") != "accepted_head":
                raise InvalidInput('send an image/png body, or JSON {"from": "accepted_head"}')
            png = None
        if roles.is_supervisor(request.user):
            require_role_in(
                request.user,
                _slice(pk, request.user).project,
                roles.SUPERVISOR,
                roles.ADMIN,
                what="mark gold",
            )
        revision = do_mark_gold(slice_id=pk, by=request.user, png=png)
        return Response({"slice": pk, "gold_revision": revision.pk}, status=201)


class GoldAssignmentsView(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=inputs.GoldAssignmentsInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        """{annotators: [...], slices: [...]} -> gold assignments {assigned, skipped}."""
        body = inputs.body(inputs.GoldAssignmentsInput, request)
        if roles.is_supervisor(request.user):
            _require_supervisor_of(request.user, body["slices"], "hand out gold annotation")
        result = do_send_gold(by=request.user, annotators=body["annotators"], slices=body["slices"])
        return Response(result, status=201)


class AgreementView(APIView):
    @extend_schema(parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _require(request.user, roles.sees_everything, "see inter-annotator agreement")
        project = _project(inputs.query(inputs.ProjectQuery, request).get("project"))
        require_role_in(request.user, project, *roles.EVERYTHING, what="see inter-annotator agreement")
        return Response(agreement_report(project))


class AnnotatorStatsView(APIView):
    @extend_schema(parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        _require(request.user, roles.sees_everything, "see annotator statistics")
        project = _project(inputs.query(inputs.ProjectQuery, request).get("project"))
        require_role_in(request.user, project, *roles.EVERYTHING, what="see annotator statistics")
        return Response(annotator_stats(project))
