"""What a round trains on: the accepted head revisions of a project, and the project's stable
patient-level k-fold split (saved once, extended with new subjects, never reshuffled)."""

from __future__ import annotations

import hashlib

from annotator.errors import InvalidInput
from annotator.models import MaskRevision, Project, ProjectSplit, Slice, SliceState
from annotator.rounds.data import lacking_channels


def accepted_training_set(project: Project, channels: list[str] | None = None) -> list[MaskRevision]:
    """The main-track head revision of every accepted slice of the project, in slice order (each with
    its slice, series, session and subject loaded). With `channels`, an accepted slice lacking one of
    them refuses the whole set with a 400 naming the channel and the slices (never dropped silently)."""
    slices = (
        Slice.objects.filter(
            series__session__subject__project=project,
            state=SliceState.ACCEPTED,
            head_revision__isnull=False,
            head_revision__track=MaskRevision.Track.MAIN,
        )
        .select_related("series__session__subject", "head_revision")
        .order_by("pk")
    )
    revisions = []
    for slice_ in slices:
        revision = slice_.head_revision
        assert revision is not None  # filtered above
        revision.slice = slice_  # the caller reads subjects and channels through it
        revisions.append(revision)
    lacking = lacking_channels([r.slice for r in revisions], channels or [])
    if lacking:
        detail = "; ".join(
            f"{len(ids)} lack {channel} (slices {', '.join(map(str, ids[:10]))}{', ...' if len(ids) > 10 else ''})"
            for channel, ids in lacking.items()
        )
        raise InvalidInput(
            f"this round trains on {'+'.join(channels or [])}, but of the {len(revisions)} accepted slices "
            f"{detail}: import the missing sequence for them, or choose channels every accepted slice has",
            lacking=lacking,
        )
    return revisions


def _tiebreak(seed: int, label: str) -> str:
    return hashlib.sha256(f"{seed}:{label}".encode()).hexdigest()


def assign_folds(assignment: dict[str, int], subjects: list[str], k: int, seed: int) -> dict[str, int]:
    """Pure: keep every existing assignment; give each new subject (in a seeded hash order) to the
    currently smallest fold (lowest index on ties). The first call uses mlcore.folds.patient_kfold."""
    result = dict(assignment)
    new = [s for s in sorted(set(subjects)) if s not in result]
    if not result and new:
        from mlcore.folds import patient_kfold

        for fold, members in enumerate(patient_kfold(new, k=k, seed=seed)):
            for subject in members:
                result[subject] = fold
        return result
    for subject in sorted(new, key=lambda s: _tiebreak(seed, s)):
        sizes = [sum(1 for f in result.values() if f == i) for i in range(k)]
        result[subject] = sizes.index(min(sizes))
    return result


def ensure_split(project: Project, k: int, seed: int, subjects: list[str]) -> ProjectSplit:
    """The project's k-fold split, created once, extended with new subjects (old ones never move)."""
    split = ProjectSplit.objects.select_for_update().filter(project=project, k=k).first()
    if split is None:
        split = ProjectSplit.objects.create(project=project, k=k, seed=seed, assignment={})
    updated = assign_folds(split.assignment, subjects, k, split.seed)
    if updated != split.assignment:
        split.assignment = updated
        split.save(update_fields=["assignment", "updated_at"])
    return split
