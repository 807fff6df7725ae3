"""Browser pages (core). Owned by the core work; see docs/ARCHITECTURE.md."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
