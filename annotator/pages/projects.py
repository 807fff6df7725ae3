"""Project management pages for site admins: /projects/ (list, create) and /projects/<slug>/
(settings and training channels, the label schema, members with their roles).

Server-rendered forms; every write goes through annotator.services.projects. Site admins are
superusers and members of the global admin group (roles.is_global_admin)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from annotator.errors import SpineLabError
from annotator.models import Project, ProjectMembership
from annotator.services import access
from annotator.services import projects as service


def _forbidden() -> NoReturn:
    raise PermissionDenied("Only site admins manage projects, their schemas and members.")


def split_names(raw: str) -> list[str]:
    """'STIR, T1c' or one name per line -> ['STIR', 'T1c'] (empties dropped)."""
    return [part.strip() for line in raw.splitlines() for part in line.split(",") if part.strip()]


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    if not access.can_manage_projects(request.user):
        return _forbidden()
    error = ""
    values: Any = {}
    if request.method == "POST":
        values = request.POST
        try:
            project = service.create_project(
                values.get("slug", "").strip(),
                values.get("name", "").strip(),
                [line.strip() for line in values.get("classes", "").splitlines() if line.strip()],
                members_only=values.get("members_only") == "on",
                channels=split_names(values.get("channels", "")),
                lesion_classes=split_names(values.get("lesion_classes", "")),
            )
            messages.success(request, f"Project {project.name} created.")
            return redirect(f"/projects/{project.slug}/")
        except SpineLabError as exc:
            error = exc.message
    rows = [
        {
            "project": p,
            "classes": p.classes.count(),
            "members": p.memberships.values("user").distinct().count(),
            "subjects": p.subjects.count(),
        }
        for p in Project.objects.order_by("id")
    ]
    return render(
        request,
        "annotator/projects.html",
        {"rows": rows, "error": error, "values": values},
        status=400 if error else 200,
    )


def _schema_rows(post: QueryDict, count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        if post.get(f"remove_{i}") == "on":
            continue
        rows.append(
            {
                "name": post.get(f"name_{i}", ""),
                "colour": post.get(f"colour_{i}", ""),
                "key": post.get(f"key_{i}", ""),
                "is_lesion": post.get(f"lesion_{i}") == "on",
            }
        )
    if post.get("new_name", "").strip():
        rows.append(
            {
                "name": post.get("new_name", ""),
                "colour": post.get("new_colour", "") or None,
                "key": post.get("new_key", ""),
                "is_lesion": post.get("new_lesion") == "on",
            }
        )
    return rows


def _apply(request: HttpRequest, project: Project) -> str:
    """Carry out one posted form (`action`) -> a success message; SpineLabError when refused."""
    post, action = request.POST, request.POST.get("action")
    if action == "settings":
        chosen = post.getlist("channel") + split_names(post.get("extra_channels", ""))
        service.do_update_project(
            project,
            name=post.get("name", ""),
            description=post.get("description", ""),
            members_only=post.get("members_only") == "on",
            channels=list(dict.fromkeys(chosen)),
        )
        return "Settings saved."
    if action == "schema":
        service.do_save_schema(project, _schema_rows(post, project.classes.count()))
        return "Schema saved."
    if action in ("add_member", "remove_member"):
        username = post.get("username", "").strip()
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise SpineLabError(f"there is no user {username!r}")
        if action == "add_member":
            service.do_add_member(project, user, post.get("role", ""))
            return f"{username} is now {post.get('role')} in {project.name}."
        service.do_remove_member(project, user, post.get("role") or None)
        return f"{username} removed from {project.name}."
    raise SpineLabError(f"unknown action {action!r}")


@login_required
def project_detail(request: HttpRequest, slug: str) -> HttpResponse:
    if not access.can_manage_projects(request.user):
        return _forbidden()
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise Http404(f"project {slug!r} does not exist")
    error = ""
    if request.method == "POST":
        try:
            messages.success(request, _apply(request, project))
            return redirect(f"/projects/{project.slug}/")
        except SpineLabError as exc:
            error = exc.message
        project.refresh_from_db()
    present = service.project_sequences(project)
    sequences = list(project.channels) + [s for s in present if s not in project.channels]
    members: dict[int, dict[str, Any]] = {}
    for m in (
        ProjectMembership.objects.filter(project=project).select_related("user").order_by("user__username")
    ):
        members.setdefault(m.user_id, {"user": m.user, "roles": []})["roles"].append(m.role)
    return render(
        request,
        "annotator/project_detail.html",
        {
            "project": project,
            "classes": list(project.classes.order_by("index")),
            "has_masks": service.has_masks(project),
            "sequences": [
                {"name": s, "chosen": s in project.channels, "present": s in present} for s in sequences
            ],
            "members": list(members.values()),
            "roles": ProjectMembership.Role.choices,
            "users": get_user_model().objects.filter(is_active=True).order_by("username"),
            "error": error,
        },
        status=400 if error else 200,
    )
