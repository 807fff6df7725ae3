"""Browser pages (editor): the brush editor of one slice."""

from django.urls import URLPattern, URLResolver, path

from annotator.pages import editor

urlpatterns: list[URLPattern | URLResolver] = [
    path("slices/<int:slice_id>/edit/", editor.edit_slice, name="slice-edit"),
]
