"""Django admin: a fallback for fixing data by hand (roles are groups; users are managed here)."""

from django.contrib import admin

from annotator.models import (
    Assignment,
    Job,
    LabelClass,
    MaskRevision,
    Project,
    Series,
    Session,
    Slice,
    Subject,
)


class LabelClassInline(admin.TabularInline):
    model = LabelClass
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["id", "slug", "name"]
    inlines = [LabelClassInline]


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "label"]
    list_filter = ["project"]


admin.site.register(Session)


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ["id", "session", "modality", "source_format", "dtype"]
    list_filter = ["modality", "source_format"]


@admin.register(Slice)
class SliceAdmin(admin.ModelAdmin):
    list_display = ["id", "series", "index", "state", "rank"]
    list_filter = ["state"]
    raw_id_fields = ["series", "head_revision", "prelabel_revision"]


@admin.register(MaskRevision)
class MaskRevisionAdmin(admin.ModelAdmin):
    list_display = ["id", "slice", "source", "track", "author", "is_conflict", "created_at"]
    list_filter = ["source", "track", "is_conflict"]
    raw_id_fields = ["slice", "parent"]
    exclude = ["png"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "slice", "annotator", "purpose", "active", "created_at"]
    list_filter = ["purpose", "active"]
    raw_id_fields = ["slice"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "state", "progress", "created_by", "created_at"]
    list_filter = ["kind", "state"]
