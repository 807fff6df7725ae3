"""What an export contains: a validated selection of (slice, revision) pairs, grouped by series.

A selection is a project plus optional subjects and series (ids), a revision state and a track:

- state "accepted" (the default): main-track heads of accepted slices, the reviewed dataset;
  "submitted": accepted or waiting for review; "labelled": every slice with a main-track head.
- round N: exactly the revisions frozen by training round N of the project (its training set),
  so every round's data is a reproducible dataset version; state is then ignored.
- track "double" / "gold": the newest revision of that track on each slice (those tracks have
  no review state of their own, so state does not filter them).

Pure of storage: only database reads. Writers load masks and images one slice at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from annotator.errors import InvalidInput, NotFound
from annotator.models import MaskRevision, Project, Series, Slice, SliceState, TrainingRound
from annotator.services.ids import as_db_id

STATES: dict[str, tuple[str, ...]] = {
    "accepted": (SliceState.ACCEPTED,),
    "submitted": (SliceState.ACCEPTED, SliceState.SUBMITTED),
    "labelled": tuple(SliceState.values),
}
TRACKS = tuple(MaskRevision.Track.values)
CHUNK = 500


@dataclass
class Selection:
    """The validated choice of what to export (plain values; stored in the Job's params)."""

    project: int
    subjects: list[int] = field(default_factory=list)
    series: list[int] = field(default_factory=list)
    state: str = "accepted"
    track: str = MaskRevision.Track.MAIN
    round: int | None = None

    def as_params(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "subjects": self.subjects,
            "series": self.series,
            "state": self.state,
            "track": self.track,
            "round": self.round,
        }


@dataclass
class SeriesItems:
    """One series and its selected planes: [(slice, revision id)] ordered by plane index."""

    series: Series
    items: list[tuple[Slice, int]]


def _ids(value: Any, what: str) -> list[int]:
    if value in (None, "", []):
        return []
    values = value.split(",") if isinstance(value, str) else value
    if not isinstance(values, list | tuple):
        raise InvalidInput(f"{what} must be a list of ids, got {value!r}")
    ids = [as_db_id(v.strip() if isinstance(v, str) else v) for v in values]
    if any(i is None for i in ids):
        raise InvalidInput(f"{what} must be a list of ids (whole numbers from 1), got {value!r}")
    return sorted({i for i in ids if i is not None})


def parse_selection(data: dict[str, Any]) -> Selection:
    """Validate a selection from the API, a page form or the command line (InvalidInput/NotFound)."""
    project_id = data.get("project")
    if project_id in (None, ""):
        raise InvalidInput("project is required")
    number_id = as_db_id(project_id)
    if number_id is None:
        raise InvalidInput(f"project must be an id, got {project_id!r}")
    project = Project.objects.filter(pk=number_id).first()
    if project is None:
        raise NotFound(f"project {project_id!r} does not exist")
    state = str(data.get("state") or "accepted")
    if state not in STATES:
        raise InvalidInput(f"unknown state {state!r}: choose one of {sorted(STATES)}")
    track = str(data.get("track") or MaskRevision.Track.MAIN)
    if track not in TRACKS:
        raise InvalidInput(f"unknown track {track!r}: choose one of {list(TRACKS)}")
    round_number = data.get("round")
    number: int | None = None
    if round_number not in (None, ""):
        number = as_db_id(round_number.strip() if isinstance(round_number, str) else round_number)
        if number is None or number > 2**31:
            raise InvalidInput(f"round must be a round number, got {round_number!r}")
        if not TrainingRound.objects.filter(project=project, number=number).exists():
            raise NotFound(f"project {project.slug} has no training round {number}")
        if track != MaskRevision.Track.MAIN:
            raise InvalidInput("a round's training set is main-track revisions: leave track at 'main'")
    subjects = _ids(data.get("subjects"), "subjects")
    series = _ids(data.get("series"), "series")
    unknown = set(subjects) - set(project.subjects.filter(pk__in=subjects).values_list("pk", flat=True))
    if unknown:
        raise NotFound(f"subject(s) {sorted(unknown)} are not in project {project.slug}")
    known = Series.objects.filter(pk__in=series, session__subject__project=project)
    unknown = set(series) - set(known.values_list("pk", flat=True))
    if unknown:
        raise NotFound(f"series {sorted(unknown)} are not in project {project.slug}")
    return Selection(project.pk, subjects, series, state, track, number)


def _slices(selection: Selection) -> Any:
    qs = Slice.objects.filter(series__session__subject__project_id=selection.project)
    if selection.subjects:
        qs = qs.filter(series__session__subject_id__in=selection.subjects)
    if selection.series:
        qs = qs.filter(series_id__in=selection.series)
    return qs


def revision_map(selection: Selection) -> dict[int, int]:
    """{slice id: revision id} of everything selected (small: two integers per slice)."""
    slices = _slices(selection)
    if selection.round is not None:
        frozen = TrainingRound.objects.get(project_id=selection.project, number=selection.round).revision_ids
        pairs = MaskRevision.objects.filter(pk__in=frozen, slice__in=slices).values_list("slice_id", "pk")
        return dict(pairs)
    if selection.track == MaskRevision.Track.MAIN:
        pairs = slices.filter(state__in=STATES[selection.state], head_revision__isnull=False).values_list(
            "pk", "head_revision_id"
        )
        return dict(pairs)
    newest: dict[int, int] = {}
    revisions = MaskRevision.objects.filter(slice__in=slices, track=selection.track, is_conflict=False)
    for slice_id, rev_id in revisions.order_by("id").values_list("slice_id", "pk"):
        newest[slice_id] = rev_id  # ordered by id: the last one wins
    return newest


def describe(selection: Selection) -> str:
    what = (
        f"round {selection.round}'s training set"
        if selection.round is not None
        else (f"{selection.state} slices" if selection.track == "main" else f"the {selection.track} track")
    )
    scope = []
    if selection.subjects:
        scope.append(f"subjects {selection.subjects}")
    if selection.series:
        scope.append(f"series {selection.series}")
    return what + (f" of {', '.join(scope)}" if scope else "")


def require_items(selection: Selection) -> dict[int, int]:
    """The selection's revisions, or InvalidInput (400) when it selects nothing."""
    chosen = revision_map(selection)
    if not chosen:
        raise InvalidInput(f"nothing to export: no labelled slice matches ({describe(selection)})")
    return chosen


def iter_series(chosen: dict[int, int]) -> Iterator[SeriesItems]:
    """Series by series, each with its chosen planes in order. Slices come in per series, so memory
    holds one series' Slice rows at a time, never the pixel data."""
    ids = list(chosen)
    series_ids: set[int] = set()
    for start in range(0, len(ids), CHUNK):  # chunks keep SQLite under its bound-parameter limit
        series_ids.update(
            Slice.objects.filter(pk__in=ids[start : start + CHUNK]).values_list("series_id", flat=True)
        )
    for series_id in sorted(series_ids):
        series = Series.objects.select_related("session__subject").get(pk=series_id)
        slices = Slice.objects.filter(series_id=series_id).order_by("index")
        yield SeriesItems(series, [(s, chosen[s.pk]) for s in slices if s.pk in chosen])
