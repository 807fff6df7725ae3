"""Core REST routes (cases, slices, masks, jobs, imports). See docs/ARCHITECTURE.md, "HTTP API"."""

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from annotator.api.views.cases import MeView, ProjectViewSet, SeriesViewSet, SubjectViewSet
from annotator.api.views.pixels import SliceImageView, SliceMaskView
from annotator.api.views.slices import RevisionViewSet, SliceViewSet
from annotator.api.views.work import AssignmentViewSet, ImportView, JobViewSet
from annotator.login_throttle import throttled_token_view

router = SimpleRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("subjects", SubjectViewSet, basename="subject")
router.register("series", SeriesViewSet, basename="series")
router.register("slices", SliceViewSet, basename="slice")
router.register("revisions", RevisionViewSet, basename="revision")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("jobs", JobViewSet, basename="job")

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", throttled_token_view, name="auth-token"),
    path("slices/<int:pk>/image/", SliceImageView.as_view(), name="slice-image"),
    path("slices/<int:pk>/mask/", SliceMaskView.as_view(), name="slice-mask"),
    path("imports/", ImportView.as_view(), name="imports"),
    *router.urls,
]
