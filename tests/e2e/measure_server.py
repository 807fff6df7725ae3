"""A throw-away SpineLab for the measurement browser test: temp SQLite + media, `runserver` on a free
loopback port, seeded with a 3-class spine project (background, vertebrae, discs) whose series holds a
real mid-sagittal slice of ../shared/data/mids-lumbar with its vertebra mask (sub-VB301), or, where the
data is absent, a synthetic column of five bodies with a crushed middle one."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from tests.e2e.editor_server import editor_server

ROOT = Path(__file__).resolve().parents[2]

SEED = r"""
import json, os
from pathlib import Path
import numpy as np
from django.contrib.auth.models import Group, User
from annotator.models import Assignment, Series, Session, Slice, Subject
from annotator.services.masks import save_imported_mask, save_model_prelabel
from annotator.services.projects import create_project
from annotator.services.roles import ensure_groups
from annotator.services.slicedata import channel_stats, save_array

ensure_groups()
users = {}
for name, role in (("alice", "annotator"), ("sam", "supervisor")):
    u = User.objects.create_user(name, password=f"{name}-pass-123")
    u.groups.add(Group.objects.get(name=role))
    users[name] = u
project = create_project("spine", "Lumbar spine (real)", ["background", "vertebrae", "discs"])

shared = Path(os.environ.get("SPINELAB_SHARED_DATA", Path.cwd().parent / "shared" / "data")) / "mids-lumbar"
mask_path = next(iter(sorted(shared.glob("derivatives/*/sub-VB301/*/*desc-vertebrae_dseg.nii.gz"))), None)
image_path = next(iter(sorted(shared.glob("sub-VB301/*/*/*/*_T2w.nii.gz"))), None)
if mask_path is not None and image_path is not None:
    from mlcore.io import read_sagittal
    images, affine = read_sagittal(image_path)
    masks, _ = read_sagittal(mask_path)
    spacing = [float(v) for v in np.linalg.norm(affine[:3, :3], axis=0)]
    mid = int(np.argmax((masks > 0).sum(axis=(1, 2))))
    planes = [mid - 6, mid, mid + 6]
    images = [images[i] for i in planes]
    labels = [(masks[i] > 0).astype(np.uint8) for i in planes]
    subject, source = "VB301", "mids-lumbar sub-VB301"
else:
    from tests.mlcore.measure_shapes import Body, spine
    spacing = [3.0, 0.6, 0.9]
    normal, crushed = Body(depth=36, ant=26, post=26), Body(depth=36, ant=17, post=17)
    column = spine([normal, normal, crushed, normal, normal], (0.6, 0.9), size_mm=(230.0, 80.0))
    rng = np.random.default_rng(0)
    labels = [column, column, column]
    images = [300 + 900 * (column > 0) + rng.normal(0, 60, column.shape) for _ in range(3)]
    subject, source = "SYN01", "synthetic"
h, w = labels[0].shape
sub = Subject.objects.create(project=project, label=subject)
ses = Session.objects.create(subject=sub, label="1")
series = Series.objects.create(session=ses, modality="T2w", source_format=Series.Format.NIFTI,
                               shape=[3, h, w], spacing=spacing, content_hash="e2e-measure")
ids = []
for index, (image, mask) in enumerate(zip(images, labels)):
    arr = np.asarray(image, dtype=np.float32).astype(np.int16)
    path = save_array(f"slices/{series.pk}/{index}_T2w.npy", arr)
    s = Slice.objects.create(series=series, index=index, height=h, width=w, channels={"T2w": path},
                             stats={"T2w": channel_stats(arr)})
    Assignment.objects.create(slice=s, annotator=users["alice"])
    if index == 1:
        save_imported_mask(s, mask, {"source": source})
    else:
        save_model_prelabel(s, mask, {"model": "reference mask as a stand-in"})
    ids.append(s.pk)
print("SEED=" + json.dumps({"series": series.pk, "slices": ids, "source": source, "size": [h, w]}))
"""


def measure_server() -> AbstractContextManager[dict]:
    """Yield {"url", "ids", "var"}: the editor test server seeded with measurable vertebrae."""
    # a loaded 2-core machine can be slow to start Django
    return editor_server(SEED, prefix="spinelab-e2e-measure-", start_timeout=90)
