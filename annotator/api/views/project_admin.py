"""Project management over the API (site admins): PATCH a project's settings or schema, and its
members at /api/projects/{id}/members/. Writes go through annotator.services.projects."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.api.views.common import validated
from annotator.errors import Forbidden, InvalidInput
from annotator.models import Project, ProjectMembership
from annotator.services import access
from annotator.services import projects as service
from annotator.services.ids import as_db_id


class SchemaClassInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    colour = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)
    key = serializers.CharField(max_length=1, required=False, allow_blank=True, default="")
    is_lesion = serializers.BooleanField(required=False, default=False)


class ProjectUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    members_only = serializers.BooleanField(required=False)
    channels = serializers.ListField(child=serializers.CharField(max_length=20), required=False, max_length=8)
    classes = SchemaClassInput(many=True, required=False, help_text="the whole ordered schema")


class MemberInput(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="user id or username")
    role = serializers.ChoiceField(choices=ProjectMembership.Role.values)


class MemberRemoveInput(serializers.Serializer):
    user = serializers.CharField(max_length=150, help_text="user id or username")
    role = serializers.ChoiceField(choices=ProjectMembership.Role.values, required=False)


def _user(ref: str) -> Any:
    users = get_user_model().objects
    user_id = as_db_id(ref)
    found = users.filter(pk=user_id).first() if user_id is not None else users.filter(username=ref).first()
    if found is None:
        raise InvalidInput(f"user {ref!r} does not exist")
    return found


def members_json(project: Project) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    for m in project.memberships.select_related("user").order_by("user__username", "role"):
        rows.setdefault(m.user_id, {"user": m.user_id, "username": m.user.username, "roles": []})[
            "roles"
        ].append(m.role)
    return list(rows.values())


class ProjectAdminMixin:
    """Mixed into ProjectViewSet: the project is found among the visible ones (404 otherwise), then
    only site admins may change it (403)."""

    def _admin_object(self, request: Request) -> Project:
        project: Project = self.get_object()  # type: ignore[attr-defined]
        if not access.can_manage_projects(request.user):
            raise Forbidden("only site admins change projects, their schemas and members")
        return project

    @extend_schema(request=ProjectUpdateInput, responses={200: None})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from annotator.api.serializers import ProjectSerializer

        project = self._admin_object(request)
        data = validated(ProjectUpdateInput, request.data)
        if data.keys() & {"name", "description", "members_only", "channels"}:
            service.do_update_project(
                project,
                name=data.get("name", project.name),
                description=data.get("description", project.description),
                members_only=data.get("members_only", project.members_only),
                channels=data.get("channels", list(project.channels)),
            )
        if "classes" in data:
            service.do_save_schema(project, [dict(c) for c in data["classes"]])
        project.refresh_from_db()
        return Response(ProjectSerializer(project).data)

    @extend_schema(request=MemberInput, responses={200: None, 201: None})
    @action(detail=True, methods=["get", "post", "delete"])
    def members(self, request: Request, pk: str) -> Response:
        """GET: members with their roles. POST {user, role}: add a role. DELETE {user, role?}: remove."""
        if request.method == "GET":
            project: Project = self.get_object()  # type: ignore[attr-defined]
            if not access.can_see_members(request.user, project):
                raise Forbidden("only supervisors and admins of the project see its members")
            return Response({"project": project.pk, "members": members_json(project)})
        project = self._admin_object(request)
        if request.method == "POST":
            data = validated(MemberInput, request.data)
            service.do_add_member(project, _user(data["user"]), data["role"])
            return Response(
                {"project": project.pk, "members": members_json(project)}, status=status.HTTP_201_CREATED
            )
        data = validated(MemberRemoveInput, request.data)
        removed = service.do_remove_member(project, _user(data["user"]), data.get("role"))
        return Response({"project": project.pk, "removed": removed, "members": members_json(project)})
