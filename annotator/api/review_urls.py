"""REST routes for review and label quality. See docs/ARCHITECTURE.md and docs/review.md."""

from django.urls import URLPattern, URLResolver, path

from annotator.api import review as views
from annotator.api.pins import PinResolveView

urlpatterns: list[URLPattern | URLResolver] = [
    path("review/queue/", views.ReviewQueueView.as_view(), name="review-queue"),
    path("slices/<int:pk>/review/", views.ReviewView.as_view(), name="slice-review"),
    path("slices/<int:pk>/reviews/", views.ReviewHistoryView.as_view(), name="slice-reviews"),
    path("slices/<int:pk>/review-diff/", views.ReviewDiffView.as_view(), name="slice-review-diff"),
    path("slices/<int:pk>/gold/", views.GoldView.as_view(), name="slice-gold"),
    path("my-queue/", views.MyQueueView.as_view(), name="my-queue"),
    path("double-annotation/", views.DoubleAnnotationView.as_view(), name="double-annotation"),
    path("gold-assignments/", views.GoldAssignmentsView.as_view(), name="gold-assignments"),
    path("agreement/", views.AgreementView.as_view(), name="agreement"),
    path("review/pins/<int:pk>/resolve/", PinResolveView.as_view(), name="pin-resolve"),
    path("annotator-stats/", views.AnnotatorStatsView.as_view(), name="annotator-stats"),
]
