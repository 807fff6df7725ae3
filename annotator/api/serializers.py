"""JSON shapes of the core API (docs/ARCHITECTURE.md, "HTTP API")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotator.errors import ImportFailed
from annotator.imports.labelmap import client_label_map
from annotator.models import Assignment, Job, LabelClass, MaskRevision, Project, Series, Slice, Subject
from annotator.services import access, jobs, roles
from annotator.services.ids import MAX_DB_ID
from annotator.users import Viewer


class LabelClassSerializer(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["index", "name", "colour", "key", "is_lesion"]


class ProjectSerializer(serializers.ModelSerializer):
    classes = LabelClassSerializer(many=True, read_only=True)

    class Meta:
        model = Project
        fields = ["id", "slug", "name", "description", "members_only", "channels", "classes"]


class ClassInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    colour = serializers.RegexField(r"^#[0-9a-fA-F]{6}$", required=False)


class ProjectCreateSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=50)
    name = serializers.CharField(max_length=200)
    classes = ClassInputSerializer(many=True, help_text="background first; index = position")


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    roles = serializers.SerializerMethodField()

    def get_roles(self, user: Viewer) -> list[str]:
        return [r for r in roles.ROLES if roles.has_role(user, r)]


class SubjectSerializer(serializers.ModelSerializer):
    class Meta:
        model = Subject
        fields = ["id", "project", "label", "created_at"]


class SeriesSerializer(serializers.ModelSerializer):
    subject = serializers.IntegerField(source="session.subject_id", read_only=True)
    session_label = serializers.CharField(source="session.label", read_only=True)
    slice_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Series
        fields = [
            "id",
            "subject",
            "session",
            "session_label",
            "modality",
            "view",
            "source_format",
            "description",
            "shape",
            "spacing",
            "dtype",
            "slice_count",
            "created_at",
        ]


def hide_main_track(data: dict[str, Any], instance: Any) -> dict[str, Any]:
    """Blind double/gold annotation: the first annotator's revision and name are not shown to the
    second one (the view marks such slices with `blind`)."""
    if getattr(instance, "blind", False):
        data["head_revision"] = None
        if "assigned_to" in data:
            data["assigned_to"] = None
    return data


class SliceListSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="series.session.subject.project_id", read_only=True)
    subject = serializers.IntegerField(source="series.session.subject_id", read_only=True)
    subject_label = serializers.CharField(source="series.session.subject.label", read_only=True)
    assigned_to = serializers.CharField(read_only=True, allow_null=True, help_text="main-track holder")
    channels = serializers.SerializerMethodField(
        help_text="the slice's channels as stored (the detail orders them by the project's channels)"
    )

    class Meta:
        model = Slice
        # With `channels` and `stats` a row carries all the editor shows of a slice, so moving to
        # another slice of the strip fetches only its image and masks (issue 13).
        fields = [
            "id",
            "project",
            "series",
            "subject",
            "subject_label",
            "index",
            "height",
            "width",
            "channels",
            "stats",
            "state",
            "rank",
            "rank_score",
            "head_revision",
            "prelabel_revision",
            "assigned_to",
            "updated_at",
        ]

    def get_channels(self, obj: Slice) -> list[str]:
        return list(obj.channels)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return hide_main_track(dict(super().to_representation(instance)), instance)


class AssignmentBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Assignment
        fields = ["id", "annotator", "purpose"]


class SliceDetailSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="series.session.subject.project_id", read_only=True)
    subject = serializers.IntegerField(source="series.session.subject_id", read_only=True)
    channels = serializers.SerializerMethodField()
    previous_slice = serializers.SerializerMethodField()
    next_slice = serializers.SerializerMethodField()
    assignment = serializers.SerializerMethodField()

    class Meta:
        model = Slice
        fields = [
            "id",
            "project",
            "series",
            "subject",
            "index",
            "height",
            "width",
            "channels",
            "stats",
            "state",
            "head_revision",
            "prelabel_revision",
            "rank",
            "rank_score",
            "previous_slice",
            "next_slice",
            "assignment",
        ]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return hide_main_track(dict(super().to_representation(instance)), instance)

    def get_channels(self, obj: Slice) -> list[str]:
        """The slice's channels, the project's training channels first in their order (the editor's
        channel switch starts on the first)."""
        order = list(obj.series.session.subject.project.channels or [])
        return sorted(obj.channels, key=lambda c: order.index(c) if c in order else len(order))

    def _neighbours(self) -> Any:
        return self.context["neighbours"]

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_previous_slice(self, obj: Slice) -> int | None:
        found = (
            self._neighbours().filter(series_id=obj.series_id, index__lt=obj.index).order_by("-index").first()
        )
        return found.pk if found else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_next_slice(self, obj: Slice) -> int | None:
        found = (
            self._neighbours().filter(series_id=obj.series_id, index__gt=obj.index).order_by("index").first()
        )
        return found.pk if found else None

    @extend_schema_field(AssignmentBriefSerializer(allow_null=True))
    def get_assignment(self, obj: Slice) -> dict[str, Any] | None:
        user = self.context["request"].user
        mine = Assignment.objects.filter(slice=obj, annotator=user, active=True).order_by("purpose").first()
        return AssignmentBriefSerializer(mine).data if mine else None


class RevisionSerializer(serializers.ModelSerializer):
    author_name = serializers.CharField(
        source="author.username", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = MaskRevision
        fields = [
            "id",
            "slice",
            "parent",
            "author",
            "author_name",
            "source",
            "track",
            "sha256",
            "labelled_pixels",
            "is_conflict",
            "meta",
            "created_at",
        ]


class MaskSavedSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    state = serializers.CharField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()


class AssignmentSerializer(serializers.ModelSerializer):
    annotator_name = serializers.CharField(source="annotator.username", read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "slice",
            "annotator",
            "annotator_name",
            "assigned_by",
            "purpose",
            "active",
            "created_at",
            "opened_at",
            "completed_at",
        ]


class AssignInputSerializer(serializers.Serializer):
    annotator = serializers.IntegerField(max_value=MAX_DB_ID)
    slices = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_DB_ID),
        required=False,
        default=list,
        max_length=100000,
    )
    series = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=MAX_DB_ID
    )
    purpose = serializers.ChoiceField(choices=Assignment.Purpose.choices, default=Assignment.Purpose.MAIN)
    reassign = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["slices"] and attrs["series"] is None:
            raise serializers.ValidationError("give `slices` (a list of slice ids) or `series` (a series id)")
        return attrs


class AssignResultSerializer(serializers.Serializer):
    created = AssignmentSerializer(many=True)
    skipped = serializers.ListField(child=serializers.DictField())


class NextSliceSerializer(serializers.Serializer):
    slice = serializers.IntegerField()


class JobSerializer(serializers.ModelSerializer):
    """A Job as services.jobs.job_json writes it (the one JSON shape of a Job, also in the rounds API
    and pages). `error` (the traceback, with server paths) is shown to ML staff and admins only;
    whoever else launched the job reads its `message`."""

    epoch = serializers.IntegerField(read_only=True, allow_null=True)
    epochs = serializers.IntegerField(read_only=True, allow_null=True)
    loss = serializers.FloatField(read_only=True, allow_null=True)
    eta_seconds = serializers.FloatField(read_only=True, allow_null=True)
    retryable = serializers.BooleanField(read_only=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        request = self.context.get("request")
        return jobs.job_json(
            instance, show_error=request is not None and access.sees_job_errors(request.user)
        )

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "state",
            "queue",
            "progress",
            "message",
            "params",
            "result",
            "epoch",
            "epochs",
            "loss",
            "eta_seconds",
            "error",
            "cancel_requested",
            "attempts",
            "retryable",
            "parent",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
        ]


MAX_LABEL_MAP_BYTES = 1024 * 1024


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    kind = serializers.ChoiceField(choices=["auto", "mids", "dicom", "png"], default="auto")
    label_map = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="a built-in label map: identity, mids-lumbar, sagittal-png (never a server path)",
    )
    label_map_file = serializers.FileField(
        required=False, help_text="or your own label map: a JSON object 'desc:value' -> class"
    )
    background = serializers.BooleanField(
        default=False,
        help_text="import as a background Job (202 with the job; its result is the import report): "
        "for large uploads that would take longer than a request",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Resolves `label_map` (a built-in name) or `label_map_file` into the map itself, so that no
        client value is ever used as a path on the server."""
        upload = attrs.pop("label_map_file", None)
        if upload is not None and attrs["label_map"]:
            raise serializers.ValidationError({"label_map": "give label_map or label_map_file, not both"})
        if upload is not None and upload.size > MAX_LABEL_MAP_BYTES:
            raise serializers.ValidationError(
                {"label_map_file": f"a label map is at most {MAX_LABEL_MAP_BYTES} bytes"}
            )
        field = "label_map_file" if upload is not None else "label_map"
        try:
            attrs["label_map"] = client_label_map(
                attrs["label_map"], upload.read() if upload is not None else None, getattr(upload, "name", "")
            )
        except ImportFailed as exc:
            raise serializers.ValidationError({field: exc.message}) from exc
        return attrs


class ImportResultSerializer(serializers.Serializer):
    series = serializers.ListField(child=serializers.IntegerField())
    slices = serializers.IntegerField()
    skipped_duplicates = serializers.ListField(
        child=serializers.CharField(), help_text="files already imported"
    )
    masks = serializers.IntegerField(required=False)
    notes = serializers.ListField(child=serializers.CharField(), required=False)
