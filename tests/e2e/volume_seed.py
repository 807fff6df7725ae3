"""Seed scripts for the volume-aware editor's browser test and benchmark: one series of `n` slices
assigned to alice, some pre-labelled and ranked, two carrying imported masks (labelled neighbours)."""

from __future__ import annotations

_TEMPLATE = r"""
import json
import numpy as np
from django.contrib.auth.models import Group, User
from annotator.models import Assignment, Series, Session, Slice, Subject
from annotator.services.masks import save_imported_mask, save_model_prelabel
from annotator.services.projects import default_project
from annotator.services.roles import ensure_groups
from annotator.services.slicedata import channel_stats, save_array

N, H, W = __N__, __H__, __W__
LABELLED = __LABELLED__
PRELABELLED = __PRELABELLED__
ensure_groups()
alice = User.objects.create_user("alice", password="alice-pass-123")
alice.groups.add(Group.objects.get(name="annotator"))
project = default_project()
ses = Session.objects.create(subject=Subject.objects.create(project=project, label="VOL01"), label="V01")
series = Series.objects.create(session=ses, modality="T2w", source_format=Series.Format.SYNTHETIC,
                               shape=[N, H, W], spacing=[1.0, 1.0, 1.0], content_hash="e2e-volume")
yy, xx = np.mgrid[:H, :W]


def labels_at(k):
    # Every class a disc whose centre drifts with the slice index: neighbours differ a little.
    out = np.zeros((H, W), np.uint8)
    for c in range(1, 12):
        cx = W * (0.1 + 0.075 * (c - 1)) + k * W / 200
        cy = H * 0.5 + H * 0.25 * np.sin(c + k / 4)
        out[(xx - cx) ** 2 + (yy - cy) ** 2 <= (min(H, W) * (0.05 + 0.004 * k)) ** 2] = c
    return out


ids = []
for k in range(N):
    image = (1500 + 1000 * np.sin(xx / 9.0 + k / 3) * np.cos(yy / 13.0)).astype(np.int16)
    path = save_array(f"slices/{series.pk}/{k}_T2w.npy", image)
    s = Slice.objects.create(series=series, index=k, height=H, width=W, channels={"T2w": path},
                             stats={"T2w": channel_stats(image)}, rank=k + 1, rank_score=1.0 / (k + 1))
    Assignment.objects.create(slice=s, annotator=alice)
    if k in PRELABELLED:
        save_model_prelabel(s, labels_at(k), {"model": "e2e"})
    if k in LABELLED:
        save_imported_mask(Slice.objects.get(pk=s.pk), labels_at(k), {"source": "e2e"})
    ids.append(s.pk)
print("SEED=" + json.dumps({"project": project.pk, "series": series.pk, "slices": ids}))
"""


def volume_seed(
    n: int = 12,
    h: int = 96,
    w: int = 128,
    labelled: tuple[int, ...] | None = None,
    prelabelled: tuple[int, ...] = (1, 2),
) -> str:
    """The `manage.py shell` script seeding one series (see tests/e2e/editor_server.editor_server)."""
    labelled = (0, n - 1) if labelled is None else labelled
    return (
        _TEMPLATE.replace("__N__", str(n))
        .replace("__H__", str(h))
        .replace("__W__", str(w))
        .replace("__LABELLED__", repr(sorted(labelled)))
        .replace("__PRELABELLED__", repr(sorted(prelabelled)))
    )


if __name__ == "__main__":
    # python -m tests.e2e.volume_seed N H W -- node script.mjs : a command against a live server
    # seeded with one N-slice HxW series (labelled at both ends), as bench/bench_editor.mjs uses it.
    import json
    import os
    import subprocess
    import sys

    from tests.e2e.editor_server import editor_server

    args = sys.argv[1 : sys.argv.index("--")] if "--" in sys.argv else sys.argv[1:]
    n, h, w = (int(a) for a in (args + ["12", "512", "512"])[:3])
    cmd = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else []
    with editor_server(seed=volume_seed(n, h, w)) as info:
        env = {**os.environ, "SPINELAB_URL": info["url"], "SPINELAB_IDS": json.dumps(info["ids"])}
        sys.exit(subprocess.run(cmd, env=env).returncode if cmd else 0)
