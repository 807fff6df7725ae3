"""Test-time batch-norm statistics (AdaBN): re-estimated on a scan, nothing else changes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mlcore.models import build_model
from mlcore.predict import adapt_batchnorm, batchnorm_statistics
from mlcore.preprocess import Plan

PLAN = Plan(target_spacing=(2.0, 2.0), patch_size=(16, 16))


def tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("UD", 1, 3, filters=4).eval()


def scan(shift: float, n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [(rng.normal(size=(1, 16, 16)) * 2.0 + shift).astype(np.float32) for _ in range(n)]


def first_norm(model: torch.nn.Module) -> torch.nn.BatchNorm2d:
    return next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_the_statistics_become_the_scans_own_and_the_model_itself_is_untouched():
    model = tiny()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = scan(shift=5.0)
    seen: list[torch.Tensor] = []
    hook = first_norm(model).register_forward_hook(lambda _m, inputs, _out: seen.append(inputs[0]))
    with torch.no_grad():
        model(torch.from_numpy(np.stack(images)))  # one window per image at the plan's spacing
    hook.remove()
    adapted = adapt_batchnorm(model, PLAN, images, [(2.0, 2.0)] * 3)
    norm = first_norm(adapted)
    torch.testing.assert_close(norm.running_mean, seen[0].mean(dim=(0, 2, 3)))
    torch.testing.assert_close(norm.running_var, seen[0].var(dim=(0, 2, 3), unbiased=True))
    assert not adapted.training and not norm.training
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key])  # the original keeps its statistics
        if "running" not in key and "num_batches" not in key:
            torch.testing.assert_close(adapted.state_dict()[key], value)  # weights are not trained


def test_against_a_reference_only_the_shift_from_it_moves_the_stored_statistics():
    model, spacings = tiny(), [(2.0, 2.0)] * 3
    first_norm(model).running_mean.fill_(0.25)  # stored statistics unlike any measured ones
    plain, shifted = scan(0.0), scan(5.0)
    reference = batchnorm_statistics(model, PLAN, plain, spacings)
    same = first_norm(adapt_batchnorm(model, PLAN, plain, spacings, reference=reference))
    torch.testing.assert_close(same.running_mean, first_norm(model).running_mean)  # no shift, no change
    torch.testing.assert_close(same.running_var, first_norm(model).running_var)
    moved = first_norm(adapt_batchnorm(model, PLAN, shifted, spacings, reference=reference))
    target = batchnorm_statistics(model, PLAN, shifted, spacings)[0][0]
    torch.testing.assert_close(moved.running_mean, first_norm(model).running_mean + target - reference[0][0])
    with pytest.raises(ValueError, match="reference statistics for 1 BatchNorm layers"):
        adapt_batchnorm(model, PLAN, plain, spacings, reference=reference[:1])


def test_nothing_to_adapt_on_or_with_is_refused():
    with pytest.raises(ValueError, match="at least one image"):
        adapt_batchnorm(tiny(), PLAN, [], [])
    with pytest.raises(ValueError, match="spacings"):
        adapt_batchnorm(tiny(), PLAN, scan(0.0), [(2.0, 2.0)])
    no_norm = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1))
    with pytest.raises(ValueError, match="no BatchNorm"):
        adapt_batchnorm(no_norm, PLAN, scan(0.0), [(2.0, 2.0)] * 3)
