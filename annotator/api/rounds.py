"""REST views for training rounds, the model registry, the dashboard and simulations.

Reads: ML staff, supervisors and admins. Writes (launch, cancel, promote, pre-label, import): ML
staff and admins. Views stay thin: validation and writes live in services.
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.errors import Forbidden, InvalidInput, NotFound
from annotator.models import ModelVersion, Project, SimulationRun, TrainingRound
from annotator.services import registry, roles, rounds
from annotator.services import rounds_dashboard as board
from annotator.services.projects import default_project


def require_reader(user: Any) -> None:
    if not roles.has_role(user, roles.ML_STAFF, roles.SUPERVISOR, roles.ADMIN):
        raise Forbidden("training rounds are visible to ML staff, supervisors and admins")


def require_ml_staff(user: Any, what: str) -> None:
    if not roles.is_ml_staff(user):
        raise Forbidden(f"only ML staff can {what}")


def project_from(value: Any) -> Project:
    """A project by id or slug; the default (lumbar) project when absent."""
    if value in (None, ""):
        return default_project()
    qs = Project.objects.filter(pk=int(value)) if str(value).isdigit() else Project.objects.filter(slug=value)
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

    def get(self, request: Request) -> Response:
        require_reader(request.user)
        project = project_from(request.query_params.get("project"))
        qs = (
            TrainingRound.objects.filter(project=project)
            .select_related("job", "created_by")
            .order_by("-number")
        )
        return paginate(request, self, [board.round_summary(r) for r in qs])

    def post(self, request: Request) -> Response:
        require_ml_staff(request.user, "launch a training round")
        data = request.data if isinstance(request.data, dict) else {}
        options = rounds.parse_options(dict(data))
        rnd = rounds.launch_round(project_from(data.get("project")), request.user, options)
        return Response(board.round_detail(rnd), status=201)


class RoundDetailView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        require_reader(request.user)
        return Response(board.round_detail(get_or_404(TrainingRound, pk, "round")))


class RoundReportView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        require_reader(request.user)
        return Response(board.iou_table(get_or_404(TrainingRound, pk, "round")))


class RoundCancelView(APIView):
    def post(self, request: Request, pk: int) -> Response:
        rnd = get_or_404(TrainingRound, pk, "round")
        rounds.cancel_round(rnd, request.user)
        return Response(board.round_detail(rnd))


class ModelListView(APIView):
    def get(self, request: Request) -> Response:
        require_reader(request.user)
        project = project_from(request.query_params.get("project"))
        qs = ModelVersion.objects.filter(project=project).select_related("training_round").order_by("-id")
        return paginate(request, self, [board.version_dict(v) for v in qs])


class ModelDetailView(APIView):
    def get(self, request: Request, pk: int) -> Response:
        require_reader(request.user)
        version = get_or_404(ModelVersion, pk, "model version")
        data = board.version_dict(version)
        data["promotions"] = [board.promotion_dict(p) for p in version.promotions.all()]
        return Response(data)


class ModelPromoteView(APIView):
    """POST {note}: make this version live (a manual override, or a rollback to an older one)."""

    def post(self, request: Request, pk: int) -> Response:
        require_ml_staff(request.user, "promote or roll back a model")
        version = get_or_404(ModelVersion, pk, "model version")
        note = str(request.data.get("note", "")) if isinstance(request.data, dict) else ""
        promotion = registry.promote_model(version, user=request.user, note=note)
        version.refresh_from_db()
        return Response(
            {"version": board.version_dict(version), "promotion": board.promotion_dict(promotion)}
        )


class ModelPrelabelView(APIView):
    """POST {strategy, next_batch}: pre-label and rank with this version (it need not be live)."""

    def post(self, request: Request, pk: int) -> Response:
        require_ml_staff(request.user, "start pre-labelling")
        version = get_or_404(ModelVersion, pk, "model version")
        data = request.data if isinstance(request.data, dict) else {}
        try:
            next_batch = int(data.get("next_batch", 20))
        except (TypeError, ValueError):
            raise InvalidInput("next_batch must be an integer", field="next_batch") from None
        job = rounds.enqueue_prelabel(
            version, user=request.user, strategy=data.get("strategy") or "entropy", next_batch=next_batch
        )
        return Response(board.job_dict(job), status=202)


class DashboardView(APIView):
    def get(self, request: Request) -> Response:
        require_reader(request.user)
        return Response(board.dashboard(project_from(request.query_params.get("project"))))


class SimulationListView(APIView):
    """GET: imported simulations. POST: a JSON body, or multipart `file`, from `mlcore simulate --out`."""

    def get(self, request: Request) -> Response:
        require_reader(request.user)
        project = project_from(request.query_params.get("project"))
        return paginate(
            request, self, [board.simulation_dict(s) for s in SimulationRun.objects.filter(project=project)]
        )

    def post(self, request: Request) -> Response:
        require_ml_staff(request.user, "import simulation results")
        upload = request.FILES.get("file")
        if upload is not None:
            try:
                data = json.loads(upload.read().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidInput(f"the simulation file is not valid JSON: {exc}") from None
            form = request.data if isinstance(request.data, dict) else {}
            name = form.get("name") or upload.name
            project = project_from(form.get("project"))
        else:
            data = request.data
            name = data.get("name", "simulation") if isinstance(data, dict) else "simulation"
            project = project_from(data.get("project") if isinstance(data, dict) else None)
        run = board.import_simulation(project, data, str(name), request.user)
        return Response(board.simulation_dict(run), status=201)
