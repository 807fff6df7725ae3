from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Browsers ask for /favicon.ico on every page that names none (the admin, JSON answers).
    path(
        "favicon.ico", RedirectView.as_view(url=f"{settings.STATIC_URL}annotator/favicon.svg", permanent=True)
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("annotator.api.urls")),
    path("api/", include("annotator.api.rounds_urls")),
    path("api/", include("annotator.api.review_urls")),
    path("api/", include("annotator.api.measurements_urls")),
    path("api/", include("annotator.api.exports_urls")),
    path("", include("annotator.pages.core_urls")),
    path("", include("annotator.pages.editor_urls")),
    path("", include("annotator.pages.rounds_urls")),
    path("", include("annotator.pages.review_urls")),
    path("", include("annotator.pages.exports_urls")),
    path("", include("annotator.pages.measurements_urls")),
    path("", include("annotator.pages.projects_urls")),
]

# Refused and missing pages in the site's layout, saying what the user's role may do instead
# (JSON under /api/).
handler403 = "annotator.pages.errors.forbidden"
handler404 = "annotator.pages.errors.not_found"
