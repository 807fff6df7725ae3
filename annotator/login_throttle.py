"""Login throttling with django-axes on every way in: `/login/`, `/admin/login/` and
`POST /api/auth/token/`.

After SPINELAB_LOGIN_FAILURE_LIMIT wrong passwords for one username from one IP address, that pair is
refused (429, even with the right password) for SPINELAB_LOGIN_COOLOFF_MINUTES; a successful login
resets the count. Locking the (username, IP) pair rather than the username alone means an attacker
cannot lock a colleague out from another machine. Settings: annotator/settings.py, "Login throttling".
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from annotator.users import User


class ThrottledLoginBackend(AxesStandaloneBackend):
    """Axes' backend for HTTP logins; server-side calls without a request (management commands,
    `authenticate(username=..., password=...)` in a shell) are not throttled."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if request is None:
            return None
        user: User | None = super().authenticate(request, username=username, password=password, **kwargs)
        return user


def lockout_response(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """429 with a Retry-After header: JSON {"detail", "code"} for the API, the login page otherwise."""
    cool_off = get_cool_off(request)
    seconds = int(cool_off.total_seconds()) if cool_off else 0
    message = (
        f"too many failed logins: try again in {max(1, round(seconds / 60))} minute(s)"
        if seconds
        else "too many failed logins: ask an administrator to unlock your account"
    )
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": message, "code": "locked_out"}, status=429)
    else:
        response = render(request, "annotator/login.html", {"locked_out": message}, status=429)
    if seconds:
        response["Retry-After"] = str(seconds)
    return response


class ThrottledTokenView(ObtainAuthToken):
    """`POST /api/auth/token/`: DRF's token view, authenticating against the Django request so that
    axes can flag a locked-out attempt for its middleware (DRF's own Request hides that flag)."""

    serializer_class = AuthTokenSerializer

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        context["request"] = self.request._request
        return context

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user: User = serializer.validated_data["user"]
        # A token is a login: the signal resets the failure count (AXES_RESET_ON_SUCCESS).
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


throttled_token_view = ThrottledTokenView.as_view()
