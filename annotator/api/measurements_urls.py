"""REST routes for vertebral body measurements. See docs/ARCHITECTURE.md, "Measurements"."""

from django.urls import URLPattern, URLResolver, path

from annotator.api import measurements as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("slices/<int:pk>/measurements/", views.SliceMeasurementsView.as_view(), name="slice-measurements"),
    path("series/<int:pk>/measurements/", views.SeriesMeasurementsView.as_view(), name="series-measurements"),
]
