"""Browser pages (review). Owned by the review work; see docs/ARCHITECTURE.md."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
