"""REST views for training rounds, the model registry, the dashboard and simulations.

Reads: ML staff, supervisors and admins. Writes (launch, cancel, promote, pre-label, import): ML
staff and admins. Views stay thin: validation and writes live in services.
"""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api import inputs
from annotator.api.permissions import get_visible_project
from annotator.errors import Forbidden, InvalidInput, NotFound
from annotator.models import ModelVersion, Project, SimulationRun, TrainingRound
from annotator.services import registry, roles, rounds
from annotator.services import rounds_dashboard as board
from annotator.services.projects import default_project

READERS = (roles.ML_STAFF, roles.SUPERVISOR, roles.ADMIN)
WRITERS = (roles.ML_STAFF, roles.ADMIN)


def in_project(user: Any, project: Project, names: tuple[str, ...], what: str) -> Project:
    """404 outside the user's projects; 403 when their role in this project does not allow `what`
    (roles held only elsewhere do not count)."""
    get_visible_project(user, project)
    if not roles.has_role_in(user, project, *names):
        raise Forbidden(f"your role in project {project.slug!r} does not allow you to {what}")
    return project


def require_reader(user: Any) -> None:
    if not roles.has_role(user, roles.ML_STAFF, roles.SUPERVISOR, roles.ADMIN):
        raise Forbidden("training rounds are visible to ML staff, supervisors and admins")


def require_ml_staff(user: Any, what: str) -> None:
    if not roles.is_ml_staff(user):
        raise Forbidden(f"only ML staff can {what}")


def project_from(value: Any) -> Project:
    """A project by id or slug (as validated by inputs.ProjectRefField); the default when absent."""
    if value in (None, ""):
        return default_project()
    qs = Project.objects.filter(pk=value) if isinstance(value, int) else Project.objects.filter(slug=value)
    project = qs.first()
    if project is None:
        raise NotFound(f"project {value!r} does not exist")
    return project


def get_or_404(model: Any, pk: int, what: str) -> Any:
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"{what} {pk} does not exist")
    return obj


def paginate(request: Request, view: APIView, items: list[Any]) -> Response:
    paginator = PageNumberPagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(page)


class RoundListView(APIView):
    """GET: rounds of a project (?project=id|slug), newest first. POST: launch a round."""

    @extend_schema(
        operation_id="rounds_list", parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT
    )
    def get(self, request: Request) -> Response:
        require_reader(request.user)
        project = project_from(inputs.query(inputs.ProjectQuery, request).get("project"))
        in_project(request.user, project, READERS, "see its rounds")
        qs = (
            TrainingRound.objects.filter(project=project)
            .select_related("job", "created_by")
            .order_by("-number")
        )
        return paginate(request, self, [board.round_summary(r) for r in qs])

    @extend_schema(request=inputs.RoundLaunchInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        require_ml_staff(request.user, "launch a training round")
        checked = inputs.body(inputs.RoundLaunchInput, request)  # types; parse_options: names, ranges
        data: Any = request.data if hasattr(request.data, "get") else {}
        project = in_project(
            request.user, project_from(checked.get("project")), WRITERS, "launch a training round"
        )
        options = rounds.parse_options({key: data.get(key) for key in data})
        rnd = rounds.launch_round(project, request.user, options)
        return Response(board.round_detail_for(rnd, request.user), status=201)


class RoundDetailView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        require_reader(request.user)
        rnd = get_or_404(TrainingRound, pk, "round")
        in_project(request.user, rnd.project, READERS, "see its rounds")
        return Response(board.round_detail_for(rnd, request.user))


class RoundReportView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        require_reader(request.user)
        rnd = get_or_404(TrainingRound, pk, "round")
        in_project(request.user, rnd.project, READERS, "see its rounds")
        return Response(board.iou_table(rnd))


class RoundCancelView(APIView):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        rnd = get_or_404(TrainingRound, pk, "round")
        get_visible_project(request.user, rnd.project)
        if roles.is_ml_staff(request.user):
            in_project(request.user, rnd.project, WRITERS, "cancel its rounds")
        rounds.cancel_round(rnd, request.user)
        return Response(board.round_detail_for(rnd, request.user))


class ModelListView(APIView):
    @extend_schema(
        operation_id="models_list", parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT
    )
    def get(self, request: Request) -> Response:
        require_reader(request.user)
        project = project_from(inputs.query(inputs.ProjectQuery, request).get("project"))
        in_project(request.user, project, READERS, "see its models")
        qs = ModelVersion.objects.filter(project=project).select_related("training_round").order_by("-id")
        return paginate(request, self, [board.version_dict(v) for v in qs])


class ModelDetailView(APIView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, pk: int) -> Response:
        require_reader(request.user)
        version = get_or_404(ModelVersion, pk, "model version")
        in_project(request.user, version.project, READERS, "see its models")
        data = board.version_dict(version)
        data["promotions"] = [board.promotion_dict(p) for p in version.promotions.all()]
        return Response(data)


class ModelPromoteView(APIView):
    """POST {note}: make this version live (a manual override, or a rollback to an older one)."""

    @extend_schema(request=inputs.PromoteInput, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, pk: int) -> Response:
        require_ml_staff(request.user, "promote or roll back a model")
        version = get_or_404(ModelVersion, pk, "model version")
        in_project(request.user, version.project, WRITERS, "promote its models")
        note = inputs.body(inputs.PromoteInput, request)["note"]
        promotion = registry.promote_model(version, user=request.user, note=note)
        version.refresh_from_db()
        return Response(
            {"version": board.version_dict(version), "promotion": board.promotion_dict(promotion)}
        )


class ModelPrelabelView(APIView):
    """POST {strategy, next_batch}: pre-label and rank with this version (it need not be live)."""

    @extend_schema(request=inputs.PrelabelInput, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        require_ml_staff(request.user, "start pre-labelling")
        version = get_or_404(ModelVersion, pk, "model version")
        in_project(request.user, version.project, WRITERS, "pre-label with its models")
        data = inputs.body(inputs.PrelabelInput, request)
        job = rounds.enqueue_prelabel(
            version, user=request.user, strategy=data["strategy"] or "entropy", next_batch=data["next_batch"]
        )
        return Response(board.job_dict(job), status=202)


class DashboardView(APIView):
    @extend_schema(parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        require_reader(request.user)
        project = project_from(inputs.query(inputs.ProjectQuery, request).get("project"))
        return Response(board.dashboard(in_project(request.user, project, READERS, "see its dashboard")))


class SimulationListView(APIView):
    """GET: imported simulations. POST: a JSON body, or multipart `file`, from `mlcore simulate --out`."""

    @extend_schema(parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        require_reader(request.user)
        project = project_from(inputs.query(inputs.ProjectQuery, request).get("project"))
        in_project(request.user, project, READERS, "see its simulations")
        return paginate(
            request, self, [board.simulation_dict(s) for s in SimulationRun.objects.filter(project=project)]
        )

    @extend_schema(request=inputs.SimulationUploadInput, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request) -> Response:
        require_ml_staff(request.user, "import simulation results")
        form = inputs.body(inputs.SimulationUploadInput, request)
        upload = request.FILES.get("file")
        if upload is not None:
            try:
                data = json.loads(upload.read().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidInput(f"the simulation file is not valid JSON: {exc}") from None
            name = form.get("name") or upload.name
        else:
            data = request.data
            name = form.get("name") or "simulation"
        project = in_project(request.user, project_from(form.get("project")), WRITERS, "import simulations")
        run = board.import_simulation(project, data, str(name), request.user)
        return Response(board.simulation_dict(run), status=201)
