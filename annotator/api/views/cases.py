"""Who am I, projects with their label schemas, subjects and series."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api.filters import SeriesFilter, SubjectFilter
from annotator.api.pagination import Pagination
from annotator.api.permissions import HasRole
from annotator.api.serializers import (
    MeSerializer,
    ProjectCreateSerializer,
    ProjectSerializer,
    SeriesSerializer,
    SubjectSerializer,
)
from annotator.api.views.common import validated
from annotator.api.views.project_admin import ProjectAdminMixin
from annotator.errors import Forbidden
from annotator.models import Project, Series, Slice, Subject
from annotator.services import access, roles
from annotator.services.access import visible_projects, visible_series, visible_subjects
from annotator.services.projects import create_project


class MeView(APIView):
    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class ProjectViewSet(
    ProjectAdminMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Projects and their ordered classes (index = pixel value), the ones the user holds a role in.
    Site admins create projects, change them (PATCH) and manage members (/members/)."""

    queryset = Project.objects.none()
    serializer_class = ProjectSerializer
    ordering_fields = ["id", "slug", "name"]

    def get_queryset(self) -> QuerySet[Project]:
        """Only the projects the user holds a role in (others are 404)."""
        return visible_projects(self.request.user).prefetch_related("classes").order_by("id")

    def get_permissions(self) -> list[Any]:
        if self.action in ("create", "partial_update"):
            return [HasRole.of(roles.ADMIN)()]
        return [IsAuthenticated()]

    @extend_schema(request=ProjectCreateSerializer, responses={201: ProjectSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not access.can_manage_projects(request.user):
            raise Forbidden("only site admins create projects; a project admin manages their own project")
        data = validated(ProjectCreateSerializer, request.data)
        classes = data["classes"]
        colours = [c.get("colour") for c in classes]
        project = create_project(
            data["slug"], data["name"], [c["name"] for c in classes], colours if all(colours) else None
        )
        return Response(ProjectSerializer(project).data, status=status.HTTP_201_CREATED)


class SubjectViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SubjectSerializer
    filterset_class = SubjectFilter
    ordering_fields = ["id", "label", "created_at"]
    queryset = Subject.objects.none()
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Subject]:
        return visible_subjects(self.request.user).order_by("project_id", "label")


def _slice_count() -> Coalesce:
    counted = Slice.objects.filter(series=OuterRef("pk")).order_by().values("series").annotate(n=Count("id"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0)


class SeriesViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SeriesSerializer
    filterset_class = SeriesFilter
    ordering_fields = ["id", "modality", "created_at"]
    queryset = Series.objects.none()
    pagination_class = Pagination

    def get_queryset(self) -> QuerySet[Series]:
        return (
            visible_series(self.request.user)
            .select_related("session")
            # A count per listed series (a subquery), not a GROUP BY over every slice before paging.
            .annotate(slice_count=_slice_count())
            .order_by("session__subject_id", "session_id", "modality", "id")
        )
