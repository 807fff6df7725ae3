"""Browser pages (measurements): the per-series vertebral body report."""

from django.urls import URLPattern, URLResolver, path

from annotator.pages import measurements

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "series/<int:series_id>/measurements/",
        measurements.series_report_page,
        name="series-measurements-page",
    ),
]
