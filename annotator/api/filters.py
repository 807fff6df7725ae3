"""Query filters of the list endpoints (django-filter)."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, F, OuterRef, QuerySet
from rest_framework.filters import OrderingFilter

from annotator.models import Assignment, Job, MaskRevision, Series, Slice, SliceState, Subject
from annotator.services.ids import MAX_DB_ID


class IdFilter(django_filters.NumberFilter):
    """A database id: an integer in 1..2**63-1. django-filter's NumberFilter takes any decimal, and
    one beyond the database's integer range would fail in the driver (a 500) instead of a 400."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_DB_ID)
        super().__init__(*args, **kwargs)


class SliceFilter(django_filters.FilterSet):
    series = IdFilter(field_name="series_id")
    subject = IdFilter(field_name="series__session__subject_id")
    project = IdFilter(field_name="series__session__subject__project_id")
    # A slice has one state: no DISTINCT (which sorted and counted every matching slice).
    state = django_filters.MultipleChoiceFilter(choices=SliceState.choices, distinct=False)
    assigned_to_me = django_filters.BooleanFilter(method="filter_assigned_to_me")

    class Meta:
        model = Slice
        fields = ["series", "subject", "project", "state", "assigned_to_me"]

    def filter_assigned_to_me(self, qs: QuerySet[Slice], name: str, value: Any) -> QuerySet[Slice]:
        if value is None:
            return qs
        # EXISTS per slice (the assignment index), not "pk IN (all my slices)": a page in (series, index)
        # order stops at the page instead of collecting and sorting every slice the user holds.
        mine = Exists(
            Assignment.objects.filter(slice=OuterRef("pk"), annotator=self.request.user.pk, active=True)
        )
        return qs.filter(mine) if value else qs.exclude(mine)


class SeriesFilter(django_filters.FilterSet):
    subject = IdFilter(field_name="session__subject_id")
    project = IdFilter(field_name="session__subject__project_id")

    class Meta:
        model = Series
        fields = ["subject", "project", "modality"]


class SubjectFilter(django_filters.FilterSet):
    class Meta:
        model = Subject
        fields = ["project", "label"]


class RevisionFilter(django_filters.FilterSet):
    class Meta:
        model = MaskRevision
        fields = ["track", "source", "is_conflict"]


class AssignmentFilter(django_filters.FilterSet):
    class Meta:
        model = Assignment
        fields = ["annotator", "slice", "active", "purpose"]


class JobFilter(django_filters.FilterSet):
    """`?parent=<id>` lists a round's (or any parent job's) per-(architecture, fold) child jobs; an id
    the user cannot see simply matches nothing."""

    parent = IdFilter(field_name="parent_id")

    class Meta:
        model = Job
        fields = ["kind", "state", "queue", "parent"]


class NullsLastOrderingFilter(OrderingFilter):
    """`?ordering=rank` lists ranked slices first: nulls go last in either direction."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        ordering = self.get_ordering(request, queryset, view)
        if not ordering:
            return queryset
        terms = [
            F(o[1:]).desc(nulls_last=True) if o.startswith("-") else F(o).asc(nulls_last=True)
            for o in ordering
        ]
        return queryset.order_by(*terms, "id")
