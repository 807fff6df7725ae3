"""Core REST routes (cases, slices, masks, jobs, imports). See docs/ARCHITECTURE.md."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
