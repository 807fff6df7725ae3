"""MIDS/NIfTI imports: sagittal planes from the affine, masks as revisions, T1w onto T2w, no duplicates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from django.core.management import CommandError, call_command
from scipy.ndimage import binary_dilation, binary_erosion

from annotator.errors import ImportFailed
from annotator.imports import import_path
from annotator.models import MaskRevision, Series, Slice, SourceFile
from annotator.services.masks import revision_labels
from annotator.services.slicedata import load_array
from tests.conftest import shared_data

VERTEBRAE, DISCS = 1, 3


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return Path(settings.MEDIA_ROOT)


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray, sidecar: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(data, affine), str(path))
    if sidecar is not None:
        path.with_name(path.name.replace(".nii.gz", ".json")).write_text(json.dumps(sidecar))
    return path


def stack(series: Series, channel: str) -> np.ndarray:
    """(P, R, C) volume of one channel, read back from the stored slices."""
    return np.stack([load_array(s.channels[channel]) for s in series.slices.order_by("index")])


def copy_case(source: Path, dest: Path, subject: str) -> None:
    shutil.copytree(source / f"sub-{subject}", dest / f"sub-{subject}")
    shutil.copytree(
        source / "derivatives" / "manual_seg" / f"sub-{subject}",
        dest / "derivatives" / "manual_seg" / f"sub-{subject}",
    )


def block_mask() -> np.ndarray:
    """Value 1 in planes 1..2 of a 4x6x6 volume: two labelled planes."""
    mask = np.zeros((4, 6, 6), np.uint8)
    mask[1:3, 2:4, 2:4] = 1
    return mask


def tiny_case(root: Path, masks: dict[str, tuple[np.ndarray, dict]]) -> np.ndarray:
    """A 4x6x6 RAS T2w volume with the given desc -> (mask, label table JSON) derivatives."""
    image = np.arange(4 * 6 * 6, dtype=np.int16).reshape(4, 6, 6)
    write_nifti(
        root / "sub-P01/ses-E01/mim-mr/anat/sub-P01_ses-E01_vp-sag_T2w.nii.gz",
        image,
        np.eye(4),
        {"EchoTime": 0.1},
    )
    for desc, (mask, table) in masks.items():
        write_nifti(
            root / f"derivatives/manual/sub-P01/ses-E01/sub-P01_ses-E01_vp-sag_desc-{desc}_dseg.nii.gz",
            mask.astype(np.uint8),
            np.eye(4),
            table,
        )
    return image


def test_mids_lumbar_import_finds_the_sagittal_axis_and_stores_vertebra_and_disc_masks(
    project, media, tmp_path
):
    source = shared_data("mids-lumbar")
    tree = tmp_path / "tree"
    for subject in ("VB301", "IVD11"):
        copy_case(source, tree, subject)

    report = import_path(tree, project, label_map="mids-lumbar")

    vb = Series.objects.get(session__subject__label="VB301")
    ivd = Series.objects.get(session__subject__label="IVD11")
    assert vb.shape == [77, 224, 224] and ivd.shape == [67, 221, 221]
    assert vb.slices.count() == 77 and report.slices == 77 + 67
    assert (vb.modality, vb.view, vb.dtype, ivd.dtype) == ("T2w", "sag", "uint8", "uint16")
    # Source axes are (S->I, A->P, L->R): planes are found along axis 2; rows and cols stay as they are.
    raw = np.asanyarray(
        nib.load(
            str(tree / "sub-VB301/ses-1/mim-mr/anat/sub-VB301_ses-1_run-1_bp-lsspine_vp-sag_T2w.nii.gz")
        ).dataobj
    )
    assert np.array_equal(load_array(vb.slices.get(index=30).channels["T2w"]), raw[:, :, 30])
    vb_heads = MaskRevision.objects.filter(slice__series=vb, source="import")
    ivd_heads = MaskRevision.objects.filter(slice__series=ivd, source="import")
    assert vb_heads.exists() and ivd_heads.exists()
    assert all(r.labelled_pixels[VERTEBRAE] > 0 or r.labelled_pixels[DISCS] == 0 for r in vb_heads)
    assert (
        sum(r.labelled_pixels[VERTEBRAE] for r in vb_heads)
        > 0
        == sum(r.labelled_pixels[DISCS] for r in vb_heads)
    )
    assert (
        sum(r.labelled_pixels[DISCS] for r in ivd_heads)
        > 0
        == sum(r.labelled_pixels[VERTEBRAE] for r in ivd_heads)
    )
    labelled = vb.slices.exclude(head_revision=None)
    assert set(labelled.values_list("state", flat=True)) == {"accepted"}
    assert set(vb.slices.filter(head_revision=None).values_list("state", flat=True)) == {"unlabelled"}
    assert vb.metadata["norm"]["T2w"]["std"] > 0
    assert report.masks == vb_heads.count() + ivd_heads.count()


def test_reimporting_the_same_files_creates_no_duplicates(project, media, tmp_path):
    tiny_case(tmp_path / "tree", {"vertebrae": (block_mask(), {"Labels": {"1": "L1"}})})
    first = import_path(tmp_path / "tree", project, label_map="mids-lumbar")
    again = import_path(tmp_path / "tree", project, label_map="mids-lumbar")

    assert len(first.series_ids) == 1 and again.series_ids == [] and len(again.skipped_duplicates) == 1
    assert Series.objects.count() == 1 and Slice.objects.count() == 4 and MaskRevision.objects.count() == 2
    originals = SourceFile.objects.filter(series_id=first.series_ids[0])
    assert {Path(s.name).name for s in originals} >= {
        "sub-P01_ses-E01_vp-sag_T2w.nii.gz",
        "sub-P01_ses-E01_vp-sag_T2w.json",
    }
    stored = next(s for s in originals if s.name.endswith("T2w.nii.gz"))
    assert stored.file.read() == (tmp_path / "tree" / stored.name).read_bytes()


def test_lr_axis_in_the_middle_of_the_array_still_gives_sagittal_planes(project, media, tmp_path):
    data = np.zeros((10, 4, 12), dtype=np.int16)  # axes: A->P, L->R, I->S
    data[7, 0, 10] = 999
    affine = np.array([[0, 1.0, 0, 0], [-1.0, 0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1]])
    write_nifti(tmp_path / "one/sub-X/sub-X_T2w.nii.gz", data, affine)

    import_path(tmp_path / "one", project)

    series = Series.objects.get()
    assert series.shape == [4, 12, 10]  # 4 sagittal planes of 12 rows (S->I) x 10 cols (A->P)
    volume = stack(series, "T2w")
    assert list(zip(*np.nonzero(volume), strict=True)) == [(0, 1, 7)]
    assert series.metadata["source_axcodes"] == "PRS"


def test_t1w_is_resampled_onto_the_t2w_grid_through_world_coordinates(project, media, tmp_path):
    def cube(xyz: np.ndarray) -> np.ndarray:  # (3, N) world mm -> (N,) inside the cube
        return np.all((xyz >= np.c_[[4, 4, 6]]) & (xyz < np.c_[[12, 14, 18]]), axis=0)

    t2_affine = np.diag([1.0, 1.0, 1.0, 1.0])  # RAS, 1 mm, shape 16x20x24
    t1_affine = np.array(
        [[0, 2.0, 0, 0], [0, 0, -2.0, 19], [2.0, 0, 0, 0], [0, 0, 0, 1]]
    )  # axes S, R, P at 2 mm

    def grid(shape: tuple[int, int, int], aff: np.ndarray) -> np.ndarray:  # (3, N) world mm of every voxel
        return (aff @ np.vstack([np.indices(shape).reshape(3, -1), np.ones(np.prod(shape))]))[:3]

    t2 = np.where(cube(grid((16, 20, 24), t2_affine)), 500, 5).reshape(16, 20, 24).astype(np.int16)
    t1 = np.where(cube(grid((12, 8, 10), t1_affine)), 1000, 10).reshape(12, 8, 10).astype(np.int16)
    anat = tmp_path / "tree/sub-P01/ses-E01/anat"
    write_nifti(anat / "sub-P01_ses-E01_T2w.nii.gz", t2, t2_affine)
    write_nifti(anat / "sub-P01_ses-E01_T1w.nii.gz", t1, t1_affine)

    import_path(tmp_path / "tree", project)

    t2_series = Series.objects.get(modality="T2w")
    t1_series = Series.objects.get(modality="T1w")
    assert t1_series.aligned_to == t2_series and t1_series.slices.count() == 0
    assert t2_series.slices.count() == 16 and set(t2_series.slices.first().channels) == {"T2w", "T1w"}
    bright = stack(t2_series, "T2w") == 500
    t1_on_t2 = stack(t2_series, "T1w")
    assert np.all(t1_on_t2[binary_erosion(bright, iterations=2)] == 1000)
    assert np.all(t1_on_t2[~binary_dilation(bright, np.ones((3, 3, 3)), iterations=2)] <= 10)
    assert set(t2_series.metadata["norm"]) == {"T2w", "T1w"}


def test_vertebra_and_disc_masks_of_one_image_are_merged_into_one_label_map(project, media, tmp_path):
    vertebrae = np.zeros((4, 6, 6), np.uint8)
    vertebrae[1, 0:2, 0:2] = 2
    discs = np.zeros((4, 6, 6), np.uint8)
    discs[1, 3:5, 3:5] = 5
    tiny_case(
        tmp_path / "tree",
        {"vertebrae": (vertebrae, {"Labels": {"2": "L2"}}), "discs": (discs, {"Labels": {"5": "L1-L2"}})},
    )

    import_path(tmp_path / "tree", project, label_map="mids-lumbar")

    plane = Slice.objects.get(head_revision__isnull=False)
    labels = revision_labels(plane.head_revision)
    # RAS input: planes keep their order (L->R), rows are flipped (S->I), cols flipped (A->P).
    assert plane.index == 1 and plane.state == "accepted"
    assert (labels == VERTEBRAE).sum() == 4 and (labels == DISCS).sum() == 4
    assert (
        labels[4:6, 4:6].tolist() == [[VERTEBRAE] * 2] * 2 and labels[1:3, 1:3].tolist() == [[DISCS] * 2] * 2
    )


def test_label_table_names_matching_the_schema_map_automatically(project, media, tmp_path):
    mask = np.zeros((4, 6, 6), np.uint8)
    mask[0, 0, 0], mask[0, 1, 1] = 1, 3
    tiny_case(
        tmp_path / "tree", {"lumbar12": (mask, {"Labels": {"1": "vertebrae", "3": "Intervertebral discs"}})}
    )

    import_path(tmp_path / "tree", project)

    counts = MaskRevision.objects.get().labelled_pixels
    assert counts[VERTEBRAE] == 1 and counts[DISCS] == 1


def test_a_label_value_outside_the_mapping_fails_naming_file_and_value(project, media, tmp_path):
    mask = np.zeros((4, 6, 6), np.uint8)
    mask[0, 0, 0] = 7
    tiny_case(tmp_path / "tree", {"vertebrae": (mask, {"Labels": {"7": "T12"}})})

    with pytest.raises(ImportFailed, match=r"desc-vertebrae_dseg\.nii\.gz: label value 7 \(T12\)"):
        import_path(tmp_path / "tree", project, label_map="mids-lumbar")
    assert Series.objects.count() == 0 and not any(p.is_file() for p in media.rglob("*"))


def test_a_mask_whose_shape_differs_from_its_image_is_refused(project, media, tmp_path):
    tiny_case(tmp_path / "tree", {"vertebrae": (np.zeros((4, 6, 5)), {})})

    with pytest.raises(ImportFailed, match=r"desc-vertebrae_dseg\.nii\.gz: mask shape .* does not match"):
        import_path(tmp_path / "tree", project, label_map="mids-lumbar")
    assert Series.objects.count() == 0


def test_import_mids_command_prints_a_summary_and_fails_cleanly(project, media, tmp_path, capsys):
    tiny_case(tmp_path / "tree", {"vertebrae": (block_mask(), {})})

    call_command("import_mids", str(tmp_path / "tree"), "--label-map", "mids-lumbar")
    assert "imported 1 series, 4 slices, 2 reference masks" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no-such-map"):
        call_command("import_mids", str(tmp_path / "tree"), "--label-map", "no-such-map")


def test_the_phantom_mids_tree_imports_with_automatic_class_mapping_and_t1w_channels(
    project, media, tmp_path
):
    from mlcore.phantom import write_mids

    write_mids(tmp_path / "phantom", n_subjects=1, n_slices=3, size=(32, 32), seed=0)

    report = import_path(tmp_path / "phantom", project)

    t2 = Series.objects.get(modality="T2w")
    assert report.slices == 3 and t2.shape == [3, 32, 32]
    assert Series.objects.get(modality="T1w").aligned_to == t2
    assert set(t2.slices.first().channels) == {"T2w", "T1w"}
    # The phantom writes (N, H, W) stacks already ordered L->R, S->I, A->P: stored planes equal its arrays.
    expected = np.asanyarray(nib.load(str(next((tmp_path / "phantom").rglob("*_dseg.nii.gz")))).dataobj)
    for slice_ in t2.slices.all():
        assert np.array_equal(revision_labels(slice_.head_revision), expected[slice_.index])


def test_other_sites_instance_labels_import_onto_the_vertebra_class_without_a_label_map(
    project, media, tmp_path
):
    source = shared_data("mids-multisite")
    tree = tmp_path / "tree"
    copy_case(source, tree, "VB102")
    report = import_path(tree, project)
    series = Series.objects.get(session__subject__label="VB102")
    heads = MaskRevision.objects.filter(slice__series=series, source="import")
    assert report.masks == heads.count() > 0
    raw = nib.load(str(next(tree.rglob("*_desc-vertebrae_dseg.nii.gz"))))
    assert sum(r.labelled_pixels[VERTEBRAE] for r in heads) == int((np.asarray(raw.dataobj) > 0).sum())
    # the masks say nothing about discs: the revisions record which classes their source labelled
    assert {tuple(r.meta["labelled_classes"]) for r in heads} == {(VERTEBRAE,)}
