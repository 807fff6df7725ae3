"""REST views for training rounds, model versions, the dashboard and simulations.

Reads: ML staff, supervisors and admins. Writes (launch, cancel, promote, pre-label, import): ML
staff and admins. DRF viewsets: serializers validate and shape the JSON, `perform_*` hooks call the
rounds services (annotator.rounds), access rules come from annotator.services.access.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from annotator.api import inputs
from annotator.api.pagination import Pagination
from annotator.api.views.common import check_valid
from annotator.errors import InvalidInput, NotFound
from annotator.models import ModelVersion, Project, SimulationRun, TrainingRound
from annotator.rounds import dashboard as board
from annotator.rounds import lifecycle, versions
from annotator.rounds.launch import cancel_round, launch_round
from annotator.rounds.next_slices import ranking_page
from annotator.rounds.options import parse_options
from annotator.services import access
from annotator.services.jobs import job_json
from annotator.users import Viewer


# --- checks shared by the views -----------------------------------------------------------------
def require_reader(user: Viewer) -> None:
    access.require(access.is_staff(user), "training rounds are visible to ML staff, supervisors and admins")


def require_trainer(user: Viewer, what: str) -> None:
    access.require(access.can_train(user), f"only ML staff can {what}")


def queried_project(request: Request, what: str) -> Project:
    """The `?project=` (id or slug; the default project when absent) where the user may `what`."""
    ref = inputs.query(inputs.ProjectQuery, request).get("project")
    return access.project_for(request.user, ref, *access.STAFF, what=what)


def get_or_404(model: Any, pk: Any, what: str) -> Any:
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise NotFound(f"{what} {pk} does not exist")
    return obj


def request_object(request: Request) -> Any:
    """The request body when it is an object; anything else counts as empty (as in inputs.body)."""
    return request.data if hasattr(request.data, "get") else {}


class CheckedInput(serializers.Serializer):
    """Input whose `is_valid(raise_exception=True)` answers like every hand-written view: a 400
    InvalidInput naming each bad field (annotator.api.views.common.check_valid)."""

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        if not raise_exception:
            return super().is_valid()
        check_valid(self)
        return True


class RoundsViewSet(viewsets.GenericViewSet):
    """Shared by the rounds API: the API's pagination (`?page=`, `?page_size=`), no filter backends, and the role each
    action needs (`trainer_actions`: ML staff, naming the action; `open_actions`: checked inside)."""

    pagination_class = Pagination
    filter_backends: list[Any] = []
    trainer_actions: dict[str, str] = {}
    open_actions: tuple[str, ...] = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if self.action in self.trainer_actions:
            require_trainer(request.user, self.trainer_actions[self.action])
        elif self.action not in self.open_actions:
            require_reader(request.user)

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if "data" in kwargs and not hasattr(kwargs["data"], "get"):
            kwargs["data"] = {}  # a body that is not an object counts as empty
        return super().get_serializer(*args, **kwargs)


# --- rounds ---------------------------------------------------------------------------------------
class RoundSerializer(serializers.ModelSerializer):
    """A round as the dashboard lists it (rounds.dashboard.round_summary)."""

    class Meta:
        model = TrainingRound
        fields = ["id"]

    def to_representation(self, instance: TrainingRound) -> dict[str, Any]:
        return board.round_summary(instance)


class RoundDetailSerializer(RoundSerializer):
    """A round with its jobs; job tracebacks for ML staff and admins only."""

    def to_representation(self, instance: TrainingRound) -> dict[str, Any]:
        return board.round_detail_for(instance, self.context["request"].user)


class RoundReportSerializer(RoundSerializer):
    """The paper-style per-class IoU table of a round (rounds.dashboard.iou_table)."""

    def to_representation(self, instance: TrainingRound) -> dict[str, Any]:
        return board.iou_table(instance)


class RoundLaunchSerializer(CheckedInput, inputs.RoundLaunchInput):
    """Types of the launch options (rounds.options.parse_options checks names and ranges); answers
    with the launched round and its jobs."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return board.round_detail_for(instance, self.context["request"].user)


@extend_schema_view(
    list=extend_schema(
        operation_id="rounds_list", parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT
    ),
    create=extend_schema(request=inputs.RoundLaunchInput, responses={201: OpenApiTypes.OBJECT}),
    retrieve=extend_schema(responses=OpenApiTypes.OBJECT),
    report=extend_schema(responses=OpenApiTypes.OBJECT),
    ranking=extend_schema(
        parameters=[OpenApiParameter("page", int, description="1 (default) .. last; past the end: the last")],
        responses=OpenApiTypes.OBJECT,
    ),
    cancel=extend_schema(request=None, responses=OpenApiTypes.OBJECT),
)
class RoundViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, RoundsViewSet):
    """GET: rounds of a project (?project=id|slug), newest first. POST: launch a round. A round, its
    IoU table (`report`), its project's next slices in rank order (`ranking`, 50 a page) and `cancel`."""

    trainer_actions = {"create": "launch a training round"}
    open_actions = ("cancel",)  # anyone who sees the project learns why they may not cancel

    queryset = TrainingRound.objects.none()  # the model, for the schema

    def get_queryset(self) -> QuerySet[TrainingRound]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        project = queried_project(self.request, "see its rounds")
        return (
            TrainingRound.objects.filter(project=project)
            .select_related("job", "created_by")
            .order_by("-number")
        )

    def get_object(self) -> TrainingRound:
        rnd = get_or_404(TrainingRound, self.kwargs["pk"], "round")
        if self.action != "cancel":
            access.require_role_in(self.request.user, rnd.project, *access.STAFF, what="see its rounds")
        return rnd

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        chosen: dict[str, type[serializers.BaseSerializer]] = {
            "create": RoundLaunchSerializer,
            "retrieve": RoundDetailSerializer,
            "cancel": RoundDetailSerializer,
            "report": RoundReportSerializer,
        }
        return chosen.get(self.action, RoundSerializer)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        user = self.request.user
        project = access.project_for(
            user, serializer.validated_data.get("project"), *access.TRAINERS, what="launch a training round"
        )
        raw = request_object(self.request)
        serializer.instance = launch_round(project, user, parse_options({key: raw.get(key) for key in raw}))

    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: Any = None) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @action(detail=True, methods=["get"])
    def ranking(self, request: Request, pk: Any = None) -> Response:
        """{strategy, count, page, num_pages, results: [{rank, score, slice, subject, ..., state,
        assignee, editor_url, thumbnail_url}]}: the project's current ranking (rounds.next_slices)."""
        rnd = self.get_object()
        return Response({"round": rnd.pk, **ranking_page(rnd.project, request.query_params.get("page"))})

    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        rnd = self.get_object()
        self.perform_cancel(rnd)
        return Response(self.get_serializer(rnd).data)

    def perform_cancel(self, rnd: TrainingRound) -> None:
        user = self.request.user
        access.get_visible_project(user, rnd.project)
        if access.can_train(user):
            access.require_role_in(user, rnd.project, *access.TRAINERS, what="cancel its rounds")
        cancel_round(rnd, user)


# --- model versions -------------------------------------------------------------------------------
class VersionSerializer(serializers.ModelSerializer):
    """A model version (rounds.dashboard.version_dict)."""

    class Meta:
        model = ModelVersion
        fields = ["id"]

    def to_representation(self, instance: ModelVersion) -> dict[str, Any]:
        return board.version_dict(instance)


class VersionDetailSerializer(VersionSerializer):
    """A model version with every promotion that made it live."""

    def to_representation(self, instance: ModelVersion) -> dict[str, Any]:
        data = board.version_dict(instance)
        data["promotions"] = [board.promotion_dict(p) for p in instance.promotions.all()]
        return data


class PromoteSerializer(CheckedInput, inputs.PromoteInput):
    """POST {note}: answers {version, promotion}."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        promotion = instance
        version = ModelVersion.objects.get(pk=promotion.version_id)
        return {"version": board.version_dict(version), "promotion": board.promotion_dict(promotion)}


class PrelabelSerializer(CheckedInput, inputs.PrelabelInput):
    """POST {strategy, next_batch}: answers the queued pre-labelling Job."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return job_json(instance, show_error=access.sees_job_errors(self.context["request"].user))


@extend_schema_view(
    list=extend_schema(
        operation_id="models_list", parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT
    ),
    retrieve=extend_schema(responses=OpenApiTypes.OBJECT),
    promote=extend_schema(request=inputs.PromoteInput, responses=OpenApiTypes.OBJECT),
    prelabel=extend_schema(request=inputs.PrelabelInput, responses={202: OpenApiTypes.OBJECT}),
)
class ModelVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RoundsViewSet):
    """Model versions of a project; `promote` (a manual override, or a rollback to an older one) and
    `prelabel` (pre-label and rank with this version; it need not be live)."""

    trainer_actions = {"promote": "promote or roll back a model", "prelabel": "start pre-labelling"}
    writes = {"promote": "promote its models", "prelabel": "pre-label with its models"}

    queryset = ModelVersion.objects.none()  # the model, for the schema

    def get_queryset(self) -> QuerySet[ModelVersion]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        project = queried_project(self.request, "see its models")
        return ModelVersion.objects.filter(project=project).select_related("training_round").order_by("-id")

    def get_object(self) -> ModelVersion:
        version = get_or_404(ModelVersion, self.kwargs["pk"], "model version")
        names, what = (
            (access.TRAINERS, self.writes[self.action])
            if self.action in self.writes
            else (access.STAFF, "see its models")
        )
        access.require_role_in(self.request.user, version.project, *names, what=what)
        return version

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        chosen: dict[str, type[serializers.BaseSerializer]] = {
            "retrieve": VersionDetailSerializer,
            "promote": PromoteSerializer,
            "prelabel": PrelabelSerializer,
        }
        return chosen.get(self.action, VersionSerializer)

    @action(detail=True, methods=["post"])
    def promote(self, request: Request, pk: Any = None) -> Response:
        version = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_promote(serializer, version)
        return Response(serializer.data)

    def perform_promote(self, serializer: serializers.BaseSerializer, version: ModelVersion) -> None:
        note = serializer.validated_data["note"]
        serializer.instance = versions.promote_model(version, user=self.request.user, note=note)

    @action(detail=True, methods=["post"])
    def prelabel(self, request: Request, pk: Any = None) -> Response:
        version = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_prelabel(serializer, version)
        return Response(serializer.data, status=202)

    def perform_prelabel(self, serializer: serializers.BaseSerializer, version: ModelVersion) -> None:
        data = serializer.validated_data
        serializer.instance = lifecycle.enqueue_prelabel(
            version,
            user=self.request.user,
            strategy=data["strategy"] or "entropy",
            next_batch=data["next_batch"],
        )


# --- dashboard and simulations --------------------------------------------------------------------
class DashboardView(APIView):
    @extend_schema(parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        require_reader(request.user)
        return Response(board.dashboard(queried_project(request, "see its dashboard")))


class SimulationSerializer(serializers.ModelSerializer):
    """An imported simulation (rounds.dashboard.simulation_dict)."""

    class Meta:
        model = SimulationRun
        fields = ["id"]

    def to_representation(self, instance: SimulationRun) -> dict[str, Any]:
        return board.simulation_dict(instance)


class SimulationUploadSerializer(CheckedInput, inputs.SimulationUploadInput):
    def to_representation(self, instance: SimulationRun) -> dict[str, Any]:
        return board.simulation_dict(instance)


@extend_schema_view(
    list=extend_schema(parameters=[inputs.ProjectQuery], responses=OpenApiTypes.OBJECT),
    create=extend_schema(request=inputs.SimulationUploadInput, responses={201: OpenApiTypes.OBJECT}),
)
class SimulationViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, RoundsViewSet):
    """GET: imported simulations. POST: a JSON body, or multipart `file`, from `mlcore simulate --out`."""

    trainer_actions = {"create": "import simulation results"}

    queryset = SimulationRun.objects.none()  # the model, for the schema

    def get_queryset(self) -> QuerySet[SimulationRun]:
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return SimulationRun.objects.filter(project=queried_project(self.request, "see its simulations"))

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return SimulationUploadSerializer if self.action == "create" else SimulationSerializer

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        form = serializer.validated_data
        upload = self.request.FILES.get("file")
        if upload is not None:
            try:
                data = json.loads(upload.read().decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidInput(f"the simulation file is not valid JSON: {exc}") from None
            name = form.get("name") or upload.name
        else:
            data = self.request.data
            name = form.get("name") or "simulation"
        project = access.project_for(
            self.request.user, form.get("project"), *access.TRAINERS, what="import simulations"
        )
        serializer.instance = board.import_simulation(project, data, str(name), self.request.user)
