"""Browser pages (rounds). Owned by the rounds work; see docs/ARCHITECTURE.md."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
