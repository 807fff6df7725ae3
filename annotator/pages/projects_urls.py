"""Browser pages (projects): list/create and one project's settings, schema and members."""

from django.urls import URLPattern, URLResolver, path

from annotator.pages import projects

urlpatterns: list[URLPattern | URLResolver] = [
    path("projects/", projects.project_list, name="projects-page"),
    path("projects/<slug:slug>/", projects.project_detail, name="project-page"),
]
