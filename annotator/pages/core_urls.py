"""Browser pages (core): login, logout and the case list. See docs/ARCHITECTURE.md."""

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, path

from annotator.pages import core

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="annotator/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", core.case_list, name="cases"),
]
