"""Browser pages (review). Owned by the review work; see docs/review.md."""

from django.urls import URLPattern, URLResolver, path

from annotator.pages import review

urlpatterns: list[URLPattern | URLResolver] = [
    path("review/", review.queue_page, name="review-queue-page"),
    path("review/agreement/", review.agreement_page, name="review-agreement-page"),
    path("review/stats/", review.stats_page, name="review-stats-page"),
    path("review/<int:slice_id>/", review.review_page, name="review-page"),
]
