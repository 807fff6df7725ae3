"""Browser page for exports and DICOMweb (annotator/pages/exports.py)."""

from django.urls import URLPattern, URLResolver, path

from annotator.pages import exports

urlpatterns: list[URLPattern | URLResolver] = [
    path("exports/", exports.exports_page, name="exports-page"),
]
