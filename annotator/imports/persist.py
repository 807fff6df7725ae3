"""Persisting read series: Subject/Session/Series/SourceFile/Slice rows, slice arrays and imported masks.

One call, one transaction. Storage files written before a failure are deleted again, so a failed
import leaves neither rows nor files behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from annotator.imports.labelmap import LabelMap, map_mask, merge_masks
from annotator.imports.types import ImportedSeries, ImportReport
from annotator.imports.volume import resample_onto
from annotator.models import Project, Series, Session, Slice, SliceState, SourceFile, Subject
from annotator.services.masks import save_imported_mask
from annotator.services.slicedata import channel_stats, save_array
from annotator.users import Viewer
from mlcore.data import class_for_label


@dataclass
class Planned:
    """A series with its derived data: class labels (P, R, C) uint8 or None, extra aligned channels."""

    item: ImportedSeries
    labels: np.ndarray | None
    channels: dict[str, np.ndarray] = field(default_factory=dict)
    reference: Planned | None = None  # the T2w series this one is resampled onto (no own slices)
    mask_names: list[str] = field(default_factory=list)
    # Foreground classes the source masks label (from their label tables and values): for the others
    # the truth is unknown in this series (e.g. vertebra-only masks say nothing about discs).
    labelled_classes: set[int] = field(default_factory=set)


def file_sha256(path: Path) -> str:
    # hashlib.file_digest reads into one reused 256 KB buffer: reading 1 MB chunks held two of them
    # at a time, ~2 MB of an import's peak (issue 17).
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def content_hash(item: ImportedSeries) -> str:
    """sha256 over the sorted sha256 of every source file: the same files give the same hash."""
    return hashlib.sha256("".join(sorted(file_sha256(p) for _, p in item.source_files)).encode()).hexdigest()


def zscore_stats_by_plane(volume: np.ndarray) -> tuple[float, float]:
    """`mlcore.preprocess.zscore_stats` (mean and std over the non-zero voxels, all voxels if none;
    std never 0) computed plane by plane, so a volume is never copied whole as float64 (Chan et al.'s
    pairwise merge of per-plane counts, means and squared deviations; equal up to rounding)."""
    count, mean, m2 = 0, 0.0, 0.0
    nonzero = bool(np.any(volume))
    for plane in volume:
        values = np.asarray(plane, dtype=np.float64)
        if nonzero:
            values = values[values != 0]
        n = int(values.size)
        if not n:
            continue
        plane_mean = float(values.mean())
        plane_m2 = float(((values - plane_mean) ** 2).sum())
        total = count + n
        delta = plane_mean - mean
        mean += delta * n / total
        m2 += plane_m2 + delta * delta * count * n / total
        count = total
    std = float(np.sqrt(m2 / count)) if count else 0.0
    return mean, (std if std > 1e-8 else 1.0)


def labelled_classes(item: ImportedSeries, mapped: list[np.ndarray], classes: list[str]) -> set[int]:
    """Classes present in the mapped masks, plus those their label tables name."""
    found = {
        int(v) for labels in mapped for plane in labels for v in np.flatnonzero(np.bincount(plane.ravel()))
    }
    found.discard(0)
    for mask in item.masks:
        for name in mask.label_table.values():
            index = class_for_label(name, classes)
            if index:
                found.add(index)
    return found


def plan(
    series: list[ImportedSeries],
    label_map: LabelMap | None,
    classes: list[str],
    channels: list[str] | None = None,
) -> list[Planned]:
    """Map masks onto classes and align the other channels onto the first per session (pure: no DB,
    no storage). `channels` is the project's channel list (e.g. ["STIR", "T1c"]); without one, T1w
    is aligned onto T2w."""
    ref_modality, others = (channels[0], channels[1:]) if channels else ("T2w", ["T1w"])
    planned = []
    for item in series:
        mapped = [map_mask(m, label_map, classes) for m in item.masks]
        for mask in item.masks:  # the source values are mapped: free them (a view would keep them)
            mask.volume = np.empty((0, *mask.volume.shape[1:]), mask.volume.dtype)
        planned.append(
            Planned(
                item,
                (mapped[0] if len(mapped) == 1 else merge_masks(mapped)) if mapped else None,
                {item.modality: item.volume},
                mask_names=[m.source_name for m in item.masks],
                labelled_classes=labelled_classes(item, mapped, classes),
            )
        )
    sessions: dict[tuple[str, str], list[Planned]] = {}
    for p in planned:
        sessions.setdefault((p.item.subject, p.item.session), []).append(p)
    for members in sessions.values():
        for moving in (p for p in members if p.item.modality in others):
            refs = [p for p in members if p.item.modality == ref_modality and p.item.view == moving.item.view]
            if not refs:
                continue
            ref = max(refs, key=lambda p: p.item.volume.size)
            moving.reference = ref
            shape = ref.item.volume.shape
            ref.channels[moving.item.modality] = resample_onto(
                moving.item.volume, moving.item.affine, shape, ref.item.affine
            )
            if moving.labels is not None:
                moved = resample_onto(moving.labels, moving.item.affine, shape, ref.item.affine, order=0)
                ref.labels = moved if ref.labels is None else merge_masks([moved, ref.labels])
                ref.mask_names += moving.mask_names
                ref.labelled_classes |= moving.labelled_classes
    return sorted(planned, key=lambda p: p.reference is not None)  # references first (persist)


def persist(planned: Iterable[Planned], project: Project, user: Viewer | None, report: ImportReport) -> None:
    """Write everything in one transaction, in the given order (`plan` puts references first, so a
    T1w row can point at its T2w row); on any error delete the storage files written so far.
    `planned` may be a generator that reads and plans each series when its turn comes (PNG imports)."""
    written: list[str] = []
    try:
        with transaction.atomic():
            rows: dict[int, Series] = {}
            for p in planned:
                rows[id(p)] = _persist_one(
                    p, project, user, report, written, rows.get(id(p.reference)) if p.reference else None
                )
    except BaseException:
        for path in written:
            default_storage.delete(path)
        raise


def _persist_one(
    p: Planned,
    project: Project,
    user: Viewer | None,
    report: ImportReport,
    written: list[str],
    reference_row: Series | None,
) -> Series:
    item = p.item
    subject, _ = Subject.objects.get_or_create(project=project, label=item.subject)
    session, _ = Session.objects.get_or_create(subject=subject, label=item.session)
    digest = content_hash(item)
    existing = Series.objects.filter(session=session, content_hash=digest).first()
    if existing is not None:
        report.skipped_duplicates.append(item.description or item.source_files[0][0])
        return existing
    norm = {}
    for channel, volume in p.channels.items():
        mean, std = zscore_stats_by_plane(volume)
        norm[channel] = {"mean": mean, "std": std}
    series = Series.objects.create(
        session=session,
        modality=item.modality,
        view=item.view,
        source_format=item.source_format,
        description=item.description[:300],
        series_uid=item.series_uid[:128],
        shape=list(item.volume.shape),
        spacing=[float(v) for v in item.spacing],
        affine=np.asarray(item.affine).tolist(),
        dtype=str(item.volume.dtype),
        content_hash=digest,
        aligned_to=reference_row,
        metadata={
            **item.metadata,
            "norm": norm,
            "imported_by": getattr(user, "username", None),
            "masks": p.mask_names,
        },
    )
    for name, path in item.source_files:
        source = SourceFile(
            series=series, name=name[:500], sha256=file_sha256(path), size=path.stat().st_size
        )
        with open(path, "rb") as handle:
            source.file.save(Path(name).name, File(handle), save=False)
        written.append(str(source.file.name))
        source.save()
    report.series_ids.append(series.pk)
    if p.reference is None:
        _create_slices(series, p, written, report)
    return series


def _create_slices(series: Series, p: Planned, written: list[str], report: ImportReport) -> None:
    """One Slice per plane; planes with imported labels get an `import` revision as head, `accepted`."""
    planes, height, width = p.item.volume.shape
    for index in range(planes):
        channels, stats = {}, {}
        for channel, volume in p.channels.items():
            plane = np.ascontiguousarray(volume[index])  # (R, C), original dtype
            path = save_array(f"slices/{series.pk}/{index}_{channel}.npy", plane)
            written.append(path)
            channels[channel], stats[channel] = path, channel_stats(plane)
        labels = p.labels[index] if p.labels is not None else None
        labelled = bool(labels is not None and labels.any())
        slice_ = Slice.objects.create(
            series=series,
            index=index,
            height=height,
            width=width,
            channels=channels,
            stats=stats,
            state=SliceState.ACCEPTED if labelled else SliceState.UNLABELLED,
        )
        report.slices += 1
        if labels is not None and labelled:
            save_imported_mask(
                slice_,
                labels,
                {"files": p.mask_names, "plane": index, "labelled_classes": sorted(p.labelled_classes)},
            )
            report.masks += 1
