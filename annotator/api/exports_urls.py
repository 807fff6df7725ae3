"""REST routes for dataset exports and DICOMweb (annotator/exports). See README "Exporting"."""

from django.urls import URLPattern, URLResolver, path

from annotator.api import exports as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("exports/", views.ExportView.as_view(), name="exports"),
    path("exports/<int:pk>/download/", views.ExportDownloadView.as_view(), name="export-download"),
    path("dicomweb/studies/", views.DicomwebSearchView.as_view(), name="dicomweb-studies"),
    path("dicomweb/import/", views.DicomwebImportView.as_view(), name="dicomweb-import"),
    path("dicomweb/push/", views.DicomwebPushView.as_view(), name="dicomweb-push"),
]
