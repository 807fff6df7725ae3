"""REST routes for review. See docs/ARCHITECTURE.md."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
