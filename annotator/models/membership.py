from __future__ import annotations

from django.conf import settings
from django.db import models

from annotator.models.schema import Project


class ProjectMembership(models.Model):
    """One role of one user in one project (a user may hold several roles in a project)."""

    class Role(models.TextChoices):
        ANNOTATOR = "annotator", "Annotator"
        ML_STAFF = "ml_staff", "ML staff"
        SUPERVISOR = "supervisor", "Supervisor"
        ADMIN = "admin", "Admin"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "user", "role"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user", "role"], name="unique_project_member_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.role} in {self.project}"
