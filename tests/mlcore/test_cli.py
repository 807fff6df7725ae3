"""`python -m mlcore` end to end in a subprocess, on tiny phantom data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from PIL import Image

from mlcore.cli import apply_label_map, parse_label_map
from mlcore.phantom import write_mids

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "--phantom",
    "3",
    "--phantom-slices",
    "2",
    "--size",
    "32",
    "--arch",
    "UD",
    "--filters",
    "4",
    "--epochs",
    "1",
    "--steps-per-epoch",
    "2",
    "--batch-size",
    "2",
    "--folds",
    "3",
    "--device",
    "cpu",
]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlcore", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_cv_on_phantom_prints_the_paper_table_and_writes_json(tmp_path):
    done = run_cli("cv", *TINY, "--out", str(tmp_path), "--save-models")
    assert done.returncode == 0, done.stderr
    assert "vertebrae" in done.stdout and "mean IoU" in done.stdout
    report = json.loads((tmp_path / "cv.json").read_text())
    assert len(report["folds"]) == 3 and len(report["report"]["classes"]) == 12
    assert sorted(p.name for p in tmp_path.glob("fold*.pt")) == ["fold0.pt", "fold1.pt", "fold2.pt"]
    # the CV chose the post-processing (shown beside the raw figure) and the fold models carry it
    assert "post-processing:" in done.stdout
    chosen = report["report"]["postprocess"]["chosen"]
    fold0 = torch.load(tmp_path / "fold0.pt", weights_only=True)
    assert fold0["config"]["postprocess"] == chosen in ("none", "largest_foreground")
    # the fold models then label a NIfTI volume with nothing but the checkpoints and the file
    write_mids(tmp_path / "mids", n_subjects=1, n_slices=3, size=(40, 36), seed=3)
    t2 = next((tmp_path / "mids").rglob("*_T2w.nii.gz"))
    pred = run_cli(
        "predict",
        str(t2),
        "--checkpoint",
        str(tmp_path / "fold0.pt"),
        "--checkpoint",
        str(tmp_path / "fold1.pt"),
        "--out",
        str(tmp_path / "labels"),
    )
    assert pred.returncode == 0, pred.stderr
    pngs = sorted((tmp_path / "labels").glob("*.png"))
    assert len(pngs) == 3 and np.asarray(Image.open(pngs[0])).shape == (40, 36)
    source = nib.load(str(t2))
    out = nib.load(str(next((tmp_path / "labels").glob("*_dseg.nii.gz"))))
    assert out.shape == source.shape and np.allclose(out.affine, source.affine)
    assert int(np.asarray(out.dataobj).max()) <= 11
    table = json.loads(next((tmp_path / "labels").glob("*_dseg.json")).read_text())
    assert table["Labels"]["1"] == "vertebrae"
    # re-estimating the BatchNorm statistics on the scan itself still labels it on its own grid
    adapted = run_cli(
        "predict",
        str(t2),
        "--adapt-bn",
        "--checkpoint",
        str(tmp_path / "fold0.pt"),
        "--out",
        str(tmp_path / "adapted"),
    )
    assert adapted.returncode == 0, adapted.stderr
    out = nib.load(str(next((tmp_path / "adapted").glob("*_dseg.nii.gz"))))
    assert out.shape == source.shape and np.allclose(out.affine, source.affine)
    # a PNG folder is one scan: its slices adapt the statistics together, and each gets its label map
    (tmp_path / "pngs" / "images").mkdir(parents=True)
    for i, plane in enumerate(np.asarray(nib.load(str(t2)).dataobj)[:2]):
        Image.fromarray(np.uint8(255 * plane / max(float(plane.max()), 1.0))).save(
            tmp_path / "pngs" / "images" / f"{i}.png"
        )
    folder = run_cli(
        "predict",
        str(tmp_path / "pngs"),
        "--adapt-bn",
        "--checkpoint",
        str(tmp_path / "fold0.pt"),
        "--out",
        str(tmp_path / "p"),
    )
    assert folder.returncode == 0, folder.stderr
    assert sorted(p.name for p in (tmp_path / "p").glob("*.png")) == ["pngs_0.png", "pngs_1.png"]
    # flip TTA on models that never saw a mirrored slice is refused, naming one, before anything is written
    refused = run_cli(
        "predict",
        str(t2),
        "--tta",
        "--checkpoint",
        str(tmp_path / "fold0.pt"),
        "--out",
        str(tmp_path / "tta"),
    )
    assert refused.returncode == 2 and "fold0.pt" in refused.stderr and "mirroring" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "tta").exists()


def test_train_uses_every_subject_by_default_and_a_wrong_input_is_a_clear_error(tmp_path):
    done = run_cli("train", *TINY, "--augmentation", "paper", "--sampling", "subject", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "3 subjects" not in done.stderr and "saved" in done.stdout
    payload = torch.load(tmp_path / "model.pt", weights_only=True)
    assert payload["config"]["augmentation"] == "paper"  # the paper's settings stay one option away
    assert payload["config"]["sampling"] == "subject"
    wrong = run_cli("train", *TINY, "--sampling", "volume", "--out", str(tmp_path / "wrong"))
    assert wrong.returncode == 2 and "unknown sampling 'volume'" in wrong.stderr
    assert "Traceback" not in wrong.stderr and not (tmp_path / "wrong").exists()
    assert payload["extra"]["subjects"] == ["P0001", "P0002", "P0003"]
    assert payload["config"]["plan"]["target_spacing"] and payload["config"]["channels"] == ["T2w"]
    # a two-channel input for a one-channel model is refused with the reason
    write_mids(tmp_path / "mids", n_subjects=1, n_slices=1, size=(16, 16), seed=0)
    two = run_cli(
        "train", *TINY[:-2], "--channels", "T2w,T1w", "--device", "cpu", "--out", str(tmp_path / "two")
    )
    assert two.returncode == 0, two.stderr
    t2 = next((tmp_path / "mids").rglob("*_T2w.nii.gz"))
    bad = run_cli(
        "predict", str(t2), "--checkpoint", str(tmp_path / "two" / "model.pt"), "--out", str(tmp_path)
    )
    assert bad.returncode == 2 and "expects channels ['T2w', 'T1w']" in bad.stderr
    # the paper's augmentation mirrors, so its model may average with the mirrored slice
    flipped = run_cli(
        "predict",
        str(t2),
        "--tta",
        "--checkpoint",
        str(tmp_path / "model.pt"),
        "--out",
        str(tmp_path / "tta"),
    )
    assert flipped.returncode == 0, flipped.stderr
    assert len(list((tmp_path / "tta").glob("*_dseg.nii.gz"))) == 1


def test_an_instance_norm_model_labels_a_scan_and_has_no_statistics_to_adapt(tmp_path):
    done = run_cli("train", *TINY, "--norm", "instance", "--out", str(tmp_path / "in"))
    assert done.returncode == 0, done.stderr
    checkpoint = str(tmp_path / "in" / "model.pt")
    assert torch.load(checkpoint, weights_only=True)["config"]["model_overrides"]["norm"] == "instance"
    write_mids(tmp_path / "mids", n_subjects=1, n_slices=2, size=(40, 36), seed=3)
    t2 = next((tmp_path / "mids").rglob("*_T2w.nii.gz"))
    labelled = run_cli("predict", str(t2), "--checkpoint", checkpoint, "--out", str(tmp_path / "labels"))
    assert labelled.returncode == 0, labelled.stderr
    out = nib.load(str(next((tmp_path / "labels").glob("*_dseg.nii.gz"))))
    assert out.shape == nib.load(str(t2)).shape
    refused = run_cli(
        "predict", str(t2), "--adapt-bn", "--checkpoint", checkpoint, "--out", str(tmp_path / "adapted")
    )
    assert refused.returncode == 2 and "model.pt has no BatchNorm statistics" in refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "adapted").exists()
    wrong = run_cli("train", *TINY, "--norm", "group", "--out", str(tmp_path / "wrong"))
    assert wrong.returncode == 2 and "--norm" in wrong.stderr and not (tmp_path / "wrong").exists()


def test_simulate_compares_strategies_on_the_same_seeds(tmp_path):
    out = tmp_path / "sim.json"
    done = run_cli(
        "simulate",
        *TINY,
        "--initial",
        "2",
        "--batch",
        "1",
        "--rounds",
        "1",
        "--strategies",
        "random,entropy",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert [p["labelled"] for p in result["curves"]["random"]] == [2, 3]
    assert [p["labelled"] for p in result["curves"]["entropy"]] == [2, 3]
    # Same seed, same initial slices: the strategies share their round-0 model, so their curves start
    # at the same point and differ only by what they chose to label.
    assert result["curves"]["random"][0]["per_seed"] == result["curves"]["entropy"][0]["per_seed"]
    assert "random" in done.stdout and "entropy" in done.stdout
    assert result["command"].startswith("python -m mlcore simulate") and "--rounds 1" in result["command"]


def test_help_lists_the_commands_and_a_bad_checkpoint_is_a_clear_error(tmp_path):
    help_text = run_cli("--help").stdout
    assert all(c in help_text for c in ("train", "cv", "predict", "simulate"))
    (tmp_path / "bad.pt").write_bytes(b"nope")
    write_mids(tmp_path / "mids", n_subjects=1, n_slices=1, size=(16, 16), seed=0)
    t2 = next((tmp_path / "mids").rglob("*_T2w.nii.gz"))
    done = run_cli("predict", str(t2), "--checkpoint", str(tmp_path / "bad.pt"), "--out", str(tmp_path))
    assert done.returncode == 2 and "bad.pt" in done.stderr and "Traceback" not in done.stderr


def test_the_vertebrae_label_map_merges_l1_to_l5_and_drops_other_labels():
    mapping, names = parse_label_map("vertebrae")
    mask = np.array([[0, 1, 3], [5, 6, 2]])
    assert names == ["background", "vertebrae"]
    assert apply_label_map(mask, mapping).tolist() == [[0, 1, 1], [1, 0, 1]]
    assert parse_label_map("1-2:1,7:2")[0] == {1: 1, 2: 1, 7: 2}
