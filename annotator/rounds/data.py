"""Slices as mlcore inputs: z-score normalised channel stacks and labelled Samples.

Normalisation is per volume (the paper's pre-processing): `Series.metadata["norm"][channel]` holds
mean/std computed at import; when it is missing it is computed here over all the series' slices
(mlcore.data.zscore_stats) and cached on the series.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from annotator.errors import InvalidInput
from annotator.models import MaskRevision, Series, Slice
from annotator.services.masks import revision_labels
from annotator.services.slicedata import load_channel


def lacking_channels(slices: list[Slice], channels: list[str]) -> dict[str, list[int]]:
    """{channel: ids of the slices without it} for the channels some slice lacks."""
    lacking: dict[str, list[int]] = {}
    for slice_ in slices:
        for channel in channels:
            if channel not in (slice_.channels or {}):
                lacking.setdefault(channel, []).append(slice_.pk)
    return lacking


def series_norm(series: Series, channel: str) -> tuple[float, float]:
    """(mean, std) of one channel of a series; computed over its slices and saved when missing."""
    norm = (series.metadata or {}).get("norm", {}).get(channel)
    if norm and norm.get("std"):
        return float(norm["mean"]), float(norm["std"])
    from mlcore.data import zscore_stats

    planes = [load_channel(s, channel) for s in series.slices.order_by("index") if channel in s.channels]
    if not planes:
        raise InvalidInput(f"series {series.pk} has no {channel} channel")
    sizes = {p.shape for p in planes}
    volume = np.stack(planes) if len(sizes) == 1 else np.concatenate([p.ravel() for p in planes])
    mean, std = zscore_stats(volume)
    metadata = dict(series.metadata or {})
    metadata.setdefault("norm", {})[channel] = {"mean": float(mean), "std": float(std)}
    Series.objects.filter(pk=series.pk).update(metadata=metadata)
    series.metadata = metadata
    return float(mean), float(std)


class ImageLoader:
    """Loads normalised (C, H, W) float32 stacks, caching each series' statistics."""

    def __init__(self, channels: list[str]) -> None:
        self.channels = channels
        self._norm: dict[tuple[int, str], tuple[float, float]] = {}

    def norm(self, slice_: Slice, channel: str) -> tuple[float, float]:
        key = (slice_.series_id, channel)
        if key not in self._norm:
            self._norm[key] = series_norm(slice_.series, channel)
        return self._norm[key]

    def image(self, slice_: Slice) -> np.ndarray:
        """(C, H, W) float32, each channel z-scored with its volume's mean/std."""
        from mlcore.data import zscore

        planes = []
        for channel in self.channels:
            mean, std = self.norm(slice_, channel)
            planes.append(np.asarray(zscore(load_channel(slice_, channel).astype(np.float32), mean, std)))
        return np.stack(planes).astype(np.float32)

    def norm_summary(self) -> dict[str, Any]:
        return {f"{sid}:{ch}": {"mean": m, "std": s} for (sid, ch), (m, s) in self._norm.items()}


def has_channels(slice_: Slice, channels: list[str]) -> bool:
    return all(c in (slice_.channels or {}) for c in channels)


def slice_spacing(slice_: Slice) -> tuple[float, float]:
    """(row, col) mm per pixel of a slice, from its series (1 mm where the source did not say)."""
    spacing = list(slice_.series.spacing or [])
    if len(spacing) != 3 or not all(isinstance(v, (int, float)) and v > 0 for v in spacing[1:]):
        return (1.0, 1.0)
    return (float(spacing[1]), float(spacing[2]))


def partial_classes(rev: MaskRevision) -> tuple[int, ...] | None:
    """The foreground classes an imported mask labels, when its source labelled only some (e.g. the
    vertebra-only masks of one data set): training then never teaches the others as background."""
    classes = (rev.meta or {}).get("labelled_classes") if rev.source == MaskRevision.Source.IMPORT else None
    if not isinstance(classes, list) or not classes:
        return None
    return tuple(sorted(int(c) for c in classes))


def load_samples(revision_ids: list[int], channels: list[str]) -> list[Any]:
    """mlcore.data.Sample per revision: image (C, H, W) normalised, mask (H, W) int64, subject label,
    (row, col) spacing."""
    from mlcore.data import Sample

    loader = ImageLoader(channels)
    revisions = MaskRevision.objects.filter(pk__in=revision_ids).select_related(
        "slice__series__session__subject"
    )
    samples = []
    for rev in sorted(revisions, key=lambda r: r.pk):
        slice_ = rev.slice
        samples.append(
            Sample(
                id=str(slice_.pk),
                subject=slice_.series.session.subject.label,
                volume=str(slice_.series_id),
                index=slice_.index,
                image=loader.image(slice_),
                mask=revision_labels(rev).astype(np.int64),
                spacing=slice_spacing(slice_),
                labelled=partial_classes(rev),
            )
        )
    return samples
