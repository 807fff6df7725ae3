"""Browser pages (rounds): dashboard, launch form, round detail. See docs/rounds.md."""

from django.urls import URLPattern, URLResolver, path

from annotator.pages import rounds

urlpatterns: list[URLPattern | URLResolver] = [
    path("rounds/", rounds.dashboard, name="rounds-page"),
    path("rounds/new", rounds.new, name="rounds-new"),
    path("rounds/new/", rounds.new),
    path("rounds/<int:pk>/", rounds.detail, name="round-page"),
    path("rounds/<int:pk>/ranking/", rounds.ranking, name="round-ranking-page"),
]
