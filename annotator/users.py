"""Who is asking: the user and request types every layer annotates with.

SpineLab uses Django's built-in `auth.User` (no custom user model). `request.user` is a `Viewer`
(`User | AnonymousUser`); behind DRF's `IsAuthenticated` or Django's `login_required` it is a `User`,
which `AuthedRequest` (API views) and `AuthedHttpRequest` (pages) tell the type checker. Services that
take "the user" accept a `Viewer`: an anonymous caller simply holds no role.
"""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest
from rest_framework.request import Request

Viewer: TypeAlias = User | AnonymousUser


class AuthedRequest(Request):
    """A DRF request whose user is signed in (a view behind IsAuthenticated). Annotation only."""

    user: User


class AuthedHttpRequest(HttpRequest):
    """A Django request whose user is signed in (a page behind login_required). Annotation only."""

    user: User


__all__ = ["AuthedHttpRequest", "AuthedRequest", "User", "Viewer"]


def signed_in(user: Viewer | None) -> User | None:
    """The user to record (created_by, annotator) for a caller: None for no one or an anonymous one."""
    return user if isinstance(user, User) else None
