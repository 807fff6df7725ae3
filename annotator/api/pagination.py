"""List pagination: {count, next, previous, results}; `?page_size=` up to 1000 (default 50).

`CappedCountPagination` is for lists that grow with the dataset or with the user's own work (an
annotator's slices, their queue): it counts at most COUNT_CAP rows past the requested page, so a page
costs the same however long the list is. Its answers add `count_exact`; when that is false, `count`
is a lower bound (there are at least that many) and `next` still leads on, page after page
(`?page=last` is then the last page counted so far).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

COUNT_CAP = 1000
_LIMIT_MAX = 2**62  # beyond this a LIMIT overflows the database's integer: count exactly instead


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


class ReachPaginator(Paginator):
    """A Paginator whose count stops at `reach` rows (then `exact` is False and `count` == reach)."""

    def __init__(self, object_list: Any, per_page: int, reach: int) -> None:
        super().__init__(object_list, per_page)
        self.reach = reach
        self.exact = True

    @cached_property
    def count(self) -> int:
        if self.reach >= _LIMIT_MAX:
            return super().count
        # Ids only and no ORDER BY: the database stops after reach + 1 rows of the cheapest plan.
        items: Any = self.object_list  # a QuerySet in every view that uses this pagination
        found = items.order_by().values("pk")[: self.reach + 1].count()
        if found > self.reach:
            self.exact = False
            return self.reach
        return found


class CappedCountPagination(Pagination):
    count_cap = COUNT_CAP

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        page_size = self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param) or "1"
        # ASCII digits only ("²".isdigit() is true); anything else is left to DRF's checks.
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else 1
        # Up to the end of the requested page and COUNT_CAP rows beyond it, so `next` is right.
        reach = max(number, 1) * page_size + self.count_cap if page_size else 0
        self.django_paginator_class = lambda items, per_page: ReachPaginator(  # type: ignore[assignment]
            items, per_page, reach if reach < _LIMIT_MAX else _LIMIT_MAX
        )
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        assert self.page is not None  # set by paginate_queryset
        return Response(
            {
                "count": self.page.paginator.count,
                "count_exact": getattr(self.page.paginator, "exact", True),
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"]["count_exact"] = {
            "type": "boolean",
            "description": f"false when counting stopped {self.count_cap} rows past this page: "
            "`count` is then a lower bound",
        }
        return answer
