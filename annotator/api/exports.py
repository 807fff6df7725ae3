"""Dataset exports and DICOMweb transfers (annotator/exports). Each answers 202 with its Job
(follow it at /api/jobs/<id>/, cancel it with POST /api/jobs/<id>/cancel/)."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import CreateAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api.permissions import HasRole
from annotator.api.serializers import JobSerializer
from annotator.errors import NotFound
from annotator.exports import dicomweb_service, service
from annotator.models import Project, Series
from annotator.services.access import EXPORTERS, IMPORTERS, require_role_in, visible_jobs
from annotator.services.ids import MAX_DB_ID
from annotator.users import Viewer


def check_project_role(user: Viewer, project_id: int | None, names: tuple[str, ...], what: str) -> None:
    """404 for a project the user holds no role in, 403 when the role there does not allow `what`;
    an unknown project is left to the service (it answers 404 naming it)."""
    project = Project.objects.filter(pk=project_id).first() if project_id is not None else None
    if project is not None:
        require_role_in(user, project, *names, what=what)


class ExportInputSerializer(serializers.Serializer):
    project = serializers.IntegerField(min_value=1, max_value=MAX_DB_ID)
    format = serializers.ChoiceField(choices=service.FORMATS)
    subjects = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DB_ID),
        required=False,
        default=list,
        max_length=10000,
    )
    series = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DB_ID),
        required=False,
        default=list,
        max_length=10000,
    )
    state = serializers.ChoiceField(choices=["accepted", "submitted", "labelled"], default="accepted")
    track = serializers.ChoiceField(choices=["main", "double", "gold"], default="main")
    round = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=2**31
    )
    channels = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=200,
        help_text="nnunet: input channels joined by '+' ('T2w', 'T2w+T1w', 'STIR+T1c'); default the project's",
    )
    include_images = serializers.BooleanField(default=True)


class JobCreateView(CreateAPIView):
    """Validates with `serializer_class`, queues the Job through `queue` in perform_create, answers 202."""

    permission_classes = [HasRole.of(*EXPORTERS)]

    def queue(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def perform_create(self, serializer: Any) -> None:
        self.job = self.queue(dict(serializer.validated_data))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(JobSerializer(self.job).data, status=202)


class ExportView(JobCreateView):
    """Export a selection as nifti (MIDS derivatives), nnunet (v2 raw dataset), dicom-seg or png pairs.
    An empty selection is a 400; a DICOM SEG of a series not imported from DICOM is a 400 saying why."""

    serializer_class = ExportInputSerializer

    def queue(self, data: dict[str, Any]) -> Any:
        check_project_role(self.request.user, data["project"], EXPORTERS, "export it")
        return service.queue_export(data, self.request.user)

    @extend_schema(responses={202: JobSerializer, 400: OpenApiResponse(description="empty or invalid")})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class ExportDownloadView(APIView):
    """The zip of a finished export, for supervisors, ML staff and admins, until it expires (410)."""

    permission_classes = [HasRole.of(*EXPORTERS)]

    @extend_schema(responses={200: OpenApiResponse(description="application/zip"), 410: OpenApiResponse()})
    def get(self, request: Request, pk: int) -> FileResponse:
        if not visible_jobs(request.user).filter(pk=pk).exists():
            raise NotFound(f"export {pk} does not exist")
        handle, filename, size = service.open_download(pk, request.user)
        response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/zip")
        response["Content-Length"] = str(size)
        return response


class DicomwebImportSerializer(serializers.Serializer):
    project = serializers.IntegerField(min_value=1, max_value=MAX_DB_ID)
    study = serializers.CharField(max_length=64)
    series = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class DicomwebPushSerializer(serializers.Serializer):
    series = serializers.IntegerField(min_value=1, max_value=MAX_DB_ID)
    state = serializers.ChoiceField(choices=["accepted", "submitted", "labelled"], default="accepted")


class DicomwebImportView(JobCreateView):
    """Import a study (or one series of it) from the configured DICOMweb server (WADO-RS)."""

    serializer_class = DicomwebImportSerializer
    permission_classes = [HasRole.of(*IMPORTERS)]

    def queue(self, data: dict[str, Any]) -> Any:
        check_project_role(self.request.user, data["project"], IMPORTERS, "import into it")
        return dicomweb_service.queue_import(data, self.request.user)

    @extend_schema(responses={202: JobSerializer, 400: OpenApiResponse(description="no server or bad UID")})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class DicomwebPushView(JobCreateView):
    """Store a DICOM SEG of a DICOM series' accepted masks on the DICOMweb server (STOW-RS)."""

    serializer_class = DicomwebPushSerializer

    def queue(self, data: dict[str, Any]) -> Any:
        series = Series.objects.filter(pk=data["series"]).select_related("session__subject").first()
        if series is not None:
            check_project_role(
                self.request.user, series.session.subject.project_id, EXPORTERS, "push its masks"
            )
        return dicomweb_service.queue_push(data, self.request.user)

    @extend_schema(responses={202: JobSerializer, 400: OpenApiResponse(description="not DICOM or no masks")})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().post(request, *args, **kwargs)


class DicomwebSearchView(APIView):
    """QIDO-RS study search on the configured server: ?PatientID=..&StudyDate=..&limit=.."""

    permission_classes = [HasRole.of(*IMPORTERS)]

    @extend_schema(
        responses={200: OpenApiResponse(description="[{study, patient, date, description, series}]")}
    )
    def get(self, request: Request) -> Response:
        return Response(dicomweb_service.search_studies({k: str(v) for k, v in request.query_params.items()}))
