"""REST routes for training rounds, the model registry, the dashboard and simulations.
See docs/ARCHITECTURE.md and docs/rounds.md."""

from django.urls import URLPattern, URLResolver, path

from annotator.api import rounds as views

urlpatterns: list[URLPattern | URLResolver] = [
    path("rounds/", views.RoundListView.as_view(), name="rounds"),
    path("rounds/<int:pk>/", views.RoundDetailView.as_view(), name="round-detail"),
    path("rounds/<int:pk>/report/", views.RoundReportView.as_view(), name="round-report"),
    path("rounds/<int:pk>/cancel/", views.RoundCancelView.as_view(), name="round-cancel"),
    path("models/", views.ModelListView.as_view(), name="models"),
    path("models/<int:pk>/", views.ModelDetailView.as_view(), name="model-detail"),
    path("models/<int:pk>/promote/", views.ModelPromoteView.as_view(), name="model-promote"),
    path("models/<int:pk>/prelabel/", views.ModelPrelabelView.as_view(), name="model-prelabel"),
    path("dashboard/", views.DashboardView.as_view(), name="rounds-dashboard"),
    path("simulations/", views.SimulationListView.as_view(), name="simulations"),
]
