"""REST routes for training rounds, model versions, the dashboard and simulations.
See docs/ARCHITECTURE.md and docs/rounds.md."""

from django.urls import URLPattern, URLResolver, path

from annotator.api import rounds as views
from annotator.api.thumbnails import PrelabelThumbnailView

rounds = views.RoundViewSet
models = views.ModelVersionViewSet
urlpatterns: list[URLPattern | URLResolver] = [
    path("rounds/", rounds.as_view({"get": "list", "post": "create"}), name="rounds"),
    path("rounds/<int:pk>/", rounds.as_view({"get": "retrieve"}), name="round-detail"),
    path("rounds/<int:pk>/report/", rounds.as_view({"get": "report"}), name="round-report"),
    path("rounds/<int:pk>/ranking/", rounds.as_view({"get": "ranking"}), name="round-ranking"),
    path("rounds/<int:pk>/cancel/", rounds.as_view({"post": "cancel"}), name="round-cancel"),
    path("models/", models.as_view({"get": "list"}), name="models"),
    path("models/<int:pk>/", models.as_view({"get": "retrieve"}), name="model-detail"),
    path("models/<int:pk>/promote/", models.as_view({"post": "promote"}), name="model-promote"),
    path("models/<int:pk>/prelabel/", models.as_view({"post": "prelabel"}), name="model-prelabel"),
    path(
        "slices/<int:pk>/prelabel-thumbnail/",
        PrelabelThumbnailView.as_view(),
        name="slice-prelabel-thumbnail",
    ),
    path("dashboard/", views.DashboardView.as_view(), name="rounds-dashboard"),
    path(
        "simulations/",
        views.SimulationViewSet.as_view({"get": "list", "post": "create"}),
        name="simulations",
    ),
]
