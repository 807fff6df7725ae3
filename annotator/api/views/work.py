"""Assignments (supervisors hand out slices), jobs (progress, cancel, retry) and imports."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api.filters import AssignmentFilter, JobFilter
from annotator.api.pagination import Pagination
from annotator.api.permissions import HasRole
from annotator.api.serializers import (
    AssignInputSerializer,
    AssignmentSerializer,
    AssignResultSerializer,
    ImportInputSerializer,
    ImportResultSerializer,
    JobSerializer,
)
from annotator.api.views.common import validated
from annotator.env import knob
from annotator.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge
from annotator.imports.service import import_upload, queue_import
from annotator.models import Assignment, Job, Project, Slice
from annotator.services import access, jobs, queue, roles
from annotator.services.access import (
    SLICE_PROJECT,
    can_manage_job,
    require_role_in,
    staff_projects,
    visible_jobs,
)


class AssignmentViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Annotators list their own assignments; supervisors and admins see all and assign in bulk."""

    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilter
    ordering_fields = ["id", "created_at"]
    queryset = Assignment.objects.none()
    pagination_class = Pagination

    def get_permissions(self) -> list[Any]:
        if self.action == "create":
            return [HasRole.of(roles.SUPERVISOR, roles.ADMIN)()]
        return [IsAuthenticated()]

    def get_queryset(self) -> QuerySet[Assignment]:
        qs = Assignment.objects.select_related("annotator").order_by("-id")
        if roles.sees_all_projects(self.request.user):
            return qs
        projects = staff_projects(self.request.user)
        mine = Q(annotator=self.request.user.pk)
        if not projects.exists():
            # Without staff projects the OR below matches only the user's own rows, but it joined every
            # assignment to its project and kept the annotator index out of use.
            return qs.filter(mine)
        return qs.filter(mine | Q(**{f"slice__{SLICE_PROJECT}__in": projects}))

    @extend_schema(request=AssignInputSerializer, responses={201: AssignResultSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Assign `slices` (ids) or a whole `series` to `annotator`; held slices are skipped unless `reassign`."""
        data = validated(AssignInputSerializer, request.data)
        annotator = get_user_model().objects.filter(pk=data["annotator"]).first()
        if annotator is None:
            raise InvalidInput(f"user {data['annotator']} does not exist")
        if not roles.has_role(annotator, roles.ANNOTATOR, roles.SUPERVISOR, roles.ADMIN):
            raise InvalidInput(f"{annotator.get_username()} is not an annotator")
        self.check_projects(data, annotator)
        wanted = Slice.objects.filter(pk__in=data["slices"])
        if data["series"] is not None:
            wanted = wanted | Slice.objects.filter(series_id=data["series"])
        slices = list(wanted.distinct().order_by("series_id", "index"))
        missing = sorted(set(data["slices"]) - {s.pk for s in slices})
        if missing or not slices:
            raise NotFound(
                f"slice(s) {missing} do not exist" if missing else f"series {data['series']} has no slices"
            )
        created, skipped = queue.assign_slices(
            slices, annotator, by=request.user, purpose=data["purpose"], reassign=data["reassign"]
        )
        body = {"created": AssignmentSerializer(created, many=True).data, "skipped": skipped}
        return Response(body, status=status.HTTP_201_CREATED)

    def check_projects(self, data: dict[str, Any], annotator: Any) -> None:
        """Every project touched: the assigner supervises it, the annotator annotates in it."""
        wanted = Q(pk__in=data["slices"])
        if data["series"] is not None:
            wanted |= Q(series_id=data["series"])
        for project in Project.objects.filter(pk__in=Slice.objects.filter(wanted).values(SLICE_PROJECT)):
            require_role_in(self.request.user, project, *access.REVIEWERS, what="assign slices")
            if not access.may_be_assigned_in(annotator, project):
                raise InvalidInput(
                    f"{annotator.get_username()} is not an annotator of project {project.slug!r}"
                )


class JobViewSet(viewsets.ReadOnlyModelViewSet):
    """Every background task. ML staff and admins cancel and retry; whoever launched a job may cancel
    it, and retry their own imports."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    ordering_fields = ["id", "created_at", "state"]
    lookup_value_regex = r"\d+"
    queryset = Job.objects.none()
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Job]:
        return visible_jobs(self.request.user).order_by("-created_at", "-id")

    def get_object(self) -> Job:
        found = self.get_queryset().filter(pk=self.kwargs["pk"]).first()
        if found is None:
            raise NotFound(f"job {self.kwargs['pk']} does not exist")
        return found

    def managed(self, action_name: str) -> Job:
        job = self.get_object()
        if not can_manage_job(self.request.user, job, action_name):
            raise Forbidden(
                f"only ML staff, admins{' or its launcher' if action_name == 'cancel' else ''} "
                f"may {action_name} job {job.pk}"
            )
        return job

    @extend_schema(request=None, responses={200: JobSerializer, 409: OpenApiResponse(description="finished")})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return Response(JobSerializer(jobs.request_cancel(self.managed("cancel"))).data)

    @extend_schema(
        request=None, responses={200: JobSerializer, 409: OpenApiResponse(description="not retryable")}
    )
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        return Response(JobSerializer(jobs.retry(self.managed("retry"), user=request.user)).data)


class ImportView(APIView):
    """Upload a .zip (MIDS tree, DICOM files, PNG+mask pairs) or a single .dcm/.nii.gz into a project."""

    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [HasRole.of(roles.SUPERVISOR, roles.ADMIN)]

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer},
        responses={
            201: ImportResultSerializer,
            202: OpenApiResponse(JobSerializer, description="background=true: the import Job"),
            400: OpenApiResponse(description="unreadable upload"),
            413: OpenApiResponse(description="too large"),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(ImportInputSerializer, request.data)
        require_role_in(request.user, data["project"], *access.IMPORTERS, what="import cases")
        upload = data["file"]
        limit = knob("MAX_UPLOAD_BYTES")
        if upload.size > limit:
            raise PayloadTooLarge(f"the upload is {upload.size} bytes; the limit is {limit} bytes")
        if data["background"]:
            job = queue_import(upload, data["project"], data["kind"], data["label_map"], request.user)
            return Response(JobSerializer(job).data, status=202)
        report = import_upload(
            upload, data["project"], kind=data["kind"], label_map=data["label_map"], user=request.user
        )
        body = report.as_dict()
        return Response(body, status=status.HTTP_201_CREATED)
