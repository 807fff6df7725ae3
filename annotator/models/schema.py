from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

# The 12 classes of the BIMCV MIDAS lumbar work (REFERENCE.md section 1), with editor colours and keys.
LUMBAR_CLASSES: list[tuple[str, str]] = [
    ("background", "#000000"),
    ("vertebrae", "#e6194b"),
    ("sacrum", "#f58231"),
    ("intervertebral discs", "#ffe119"),
    ("spinal cavity", "#3cb44b"),
    ("subcutaneous fat", "#fabed4"),
    ("epidural fat", "#ffd8b1"),
    ("intramuscular fat", "#aaffc3"),
    ("retroperitoneal fat", "#dcbeff"),
    ("nerve roots", "#42d4f4"),
    ("blood vessels", "#911eb4"),
    ("muscle", "#4363d8"),
]
EDITOR_KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "-", "="]


class Project(models.Model):
    """A dataset with one label schema. The default project is the 12-class lumbar one."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Members-only projects give roles to their members alone (and to superusers); in the others
    # (the default project and every project made before memberships existed) the global role groups
    # apply as well, so single-project deployments keep working (docs/ARCHITECTURE.md, "Projects").
    members_only = models.BooleanField(default=False)
    # Training input channels in order (series modalities, e.g. ["STIR", "T1c"]); empty = T2w only.
    channels = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def num_classes(self) -> int:
        return self.classes.count()

    def class_names(self) -> list[str]:
        return list(self.classes.order_by("index").values_list("name", flat=True))


class LabelClass(models.Model):
    """One class of a project's schema; `index` is the pixel value in every mask of the project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="classes")
    index = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    colour = models.CharField(max_length=7, validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$")])
    key = models.CharField(max_length=1, blank=True)
    # Lesion classes are also scored per connected component (mlcore.lesions) in training rounds.
    is_lesion = models.BooleanField(default=False)

    class Meta:
        ordering = ["project", "index"]
        constraints = [
            models.UniqueConstraint(fields=["project", "index"], name="unique_class_index"),
            models.UniqueConstraint(fields=["project", "name"], name="unique_class_name"),
            models.CheckConstraint(condition=models.Q(index__lt=256), name="class_index_fits_uint8"),
        ]

    def __str__(self) -> str:
        return f"{self.index}: {self.name}"
