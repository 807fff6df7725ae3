"""The site navigation as each role may follow it, and what a role may do instead of a refused page.

A link is shown only to users whose roles open the page behind it (the same annotator.services.access
gates the pages ask), so no link ends in a 403. `nav` is a template context processor (settings
TEMPLATES); `what_you_can_do` gives the sentences of the 403/404 pages (annotator.pages.errors).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from annotator.services import access, roles
from annotator.users import Viewer


def _anyone(user: Viewer) -> bool:
    return bool(getattr(user, "is_authenticated", False))


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str
    opens: Callable[[Any], bool]  # the page's own gate


LINKS = (
    NavLink("Cases", "/", _anyone),
    NavLink("Review", "/review/", access.is_staff),
    NavLink("Rounds", "/rounds/", access.is_staff),
    NavLink("Exports", "/exports/", access.can_export),
    NavLink("Projects", "/projects/", access.can_manage_projects),
    NavLink("API docs", "/api/docs/", _anyone),
)

# One sentence per role: what that role does, and where.
ROLE_DOES = {
    roles.ANNOTATOR: ("Annotators", "open their queue of assigned slices", "/"),
    roles.SUPERVISOR: ("Supervisors", "review submitted slices", "/review/"),
    roles.ML_STAFF: ("ML staff", "launch and follow training rounds", "/rounds/"),
    roles.ADMIN: ("Admins", "do everything, and manage projects", "/projects/"),
}


def links_for(user: Viewer) -> list[NavLink]:
    """The navigation links the user's roles may follow, in menu order."""
    return [link for link in LINKS if link.opens(user)]


def what_you_can_do(user: Viewer) -> list[dict[str, str]]:
    """[{who, does, href}] for each role the user holds (somewhere), in role order; empty for a user
    with no role (the error pages then say to ask a site admin)."""
    held = roles.roles_of(user)
    return [
        {"who": who, "does": does, "href": href}
        for name, (who, does, href) in ROLE_DOES.items()
        if name in held
    ]


def nav(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `nav_links`, computed only when a template shows the navigation."""
    return {"nav_links": SimpleLazyObject(lambda: links_for(request.user))}
