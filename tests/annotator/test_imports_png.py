"""PNG slice imports with .npy masks mapped onto the project's classes."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from annotator.errors import ImportFailed
from annotator.imports import import_path
from annotator.models import Series, Slice
from annotator.services.masks import revision_labels
from annotator.services.slicedata import load_array
from tests.conftest import shared_data

VERTEBRAE, DISCS = 1, 3


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


@pytest.fixture
def png_tree(tmp_path) -> Path:
    """Slices 0 (empty mask), 1 (discs only) and 2 (discs + vertebrae) of sagittal-png, with subjects."""
    source = shared_data("sagittal-png")
    tree = tmp_path / "png"
    (tree / "images").mkdir(parents=True)
    (tree / "masks").mkdir()
    for stem in ("0", "1", "2"):
        shutil.copy(source / "images" / f"{stem}.png", tree / "images")
        shutil.copy(source / "masks" / f"{stem}.npy", tree / "masks")
    (tree / "subjects.csv").write_text("image,subject\n0.png,V01\n1.png,V01\n2.png,V02\n")
    return tree


def test_sagittal_png_slices_import_with_their_masks(project, media, png_tree):
    report = import_path(png_tree, project, label_map="sagittal-png")

    assert len(report.series_ids) == 3 and report.slices == 3 and report.masks == 2
    assert sorted(Series.objects.values_list("session__subject__label", flat=True)) == ["V01", "V01", "V02"]
    two = Slice.objects.get(series__description="images/2.png")
    source = np.load(png_tree / "masks" / "2.npy")
    labels = revision_labels(two.head_revision)
    assert two.state == "accepted" and two.head_revision.source == "import"
    assert np.array_equal(labels == DISCS, source == 1) and np.array_equal(labels == VERTEBRAE, source == 2)
    assert load_array(two.channels["T2w"]).dtype == np.uint8
    empty = Slice.objects.get(series__description="images/0.png")
    assert empty.state == "unlabelled" and empty.head_revision is None


def test_png_masks_without_a_label_map_are_refused_naming_the_file(project, media, png_tree):
    with pytest.raises(ImportFailed, match=r"masks/1\.npy: label value 1 is not in the label map"):
        import_path(png_tree, project)
    assert Series.objects.count() == 0


def test_import_png_command_uses_the_named_label_map(project, media, png_tree, capsys):
    call_command("import_png", str(png_tree), "--label-map", "sagittal-png")
    assert "imported 3 series, 3 slices, 2 reference masks" in capsys.readouterr().out


def test_a_corrupt_png_after_good_ones_leaves_no_series_and_no_files(project, media, tmp_path):
    """PNG imports write each slice before reading the next (issue 17): a bad file late in the tree
    still undoes the slices written before it, rows and stored files alike."""
    from PIL import Image

    tree = tmp_path / "pngs" / "images"
    tree.mkdir(parents=True)
    for stem in ("0", "1"):
        Image.fromarray(np.full((24, 16), 40 * (int(stem) + 1), np.uint8)).save(tree / f"{stem}.png")
    (tree / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")

    with pytest.raises(ImportFailed, match=r"images/2\.png: not a readable PNG"):
        import_path(tree.parent, project)
    assert Series.objects.count() == 0 and Slice.objects.count() == 0
    assert [p for p in media.rglob("*") if p.is_file()] == []

    (tree / "2.png").unlink()  # the same tree without the bad file imports
    assert import_path(tree.parent, project).slices == 2
    assert len([p for p in media.rglob("*.npy") if p.is_file()]) == 2
