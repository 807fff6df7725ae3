"""The network zoo: every registered model trains and predicts on odd sizes; defaults match the paper."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from mlcore.models import MODELS, ModelSpec, build_model, enable_mc_dropout, list_models, make_optimiser

# The paper's table (shared/REFERENCE.md): optimiser, lr, activation, initial filters, deep supervision
PAPER = {
    "UAD": ("RMSprop", 0.001, "ReLU", 16, True),
    "UVAD": ("Adam", 0.00033, "PReLU", 32, True),
    "UAMD": ("Adam", 0.00033, "ReLU", 16, True),
    "UVD": ("Adam", 0.00033, "PReLU", 32, True),
    "UMD": ("Adam", 0.00033, "ReLU", 32, True),
    "UD": ("Adam", 0.00033, "ReLU", 64, True),
    "U1": ("Adadelta", 1.0, "ReLU", 64, False),
    "FCN8": ("Adam", 0.00033, "ReLU", 32, False),
}
BASELINES = ["unet_resnet34", "unetplusplus", "deeplabv3plus"]
H, W = 27, 21  # odd: not a multiple of any network stride (16 or 32)


def tiny(name: str, in_channels: int, num_classes: int, **overrides: object) -> nn.Module:
    torch.manual_seed(0)
    return build_model(name, in_channels, num_classes, filters=4, **overrides)


def test_the_registry_holds_the_papers_eight_networks_and_the_smp_baselines() -> None:
    assert list_models() == [*PAPER, *BASELINES]
    assert all(isinstance(spec, ModelSpec) and spec.name == name for name, spec in MODELS.items())


@pytest.mark.parametrize("name", list(PAPER))
def test_spec_defaults_match_the_papers_table(name: str) -> None:
    spec = MODELS[name]
    assert (spec.optimiser, spec.lr, spec.activation, spec.filters, spec.deep_supervision) == PAPER[name]


@pytest.mark.parametrize("name", ["UAD", "UVAD", "UAMD", "UVD", "UMD"])
def test_module_letters_in_the_name_switch_on_their_blocks(name: str) -> None:
    spec = MODELS[name]
    assert spec.attention == ("A" in name[1:])
    assert spec.multikernel == ("M" in name[1:])
    assert (spec.encoder == "vgg16") == ("V" in name[1:])


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize(("in_channels", "num_classes"), [(1, 12), (2, 3)])
def test_every_model_trains_and_predicts_full_size_logits_on_odd_sized_input(
    name: str, in_channels: int, num_classes: int
) -> None:
    model = tiny(name, in_channels, num_classes)
    x = torch.randn(2, in_channels, H, W)  # (B, C, H, W)
    assert (model.in_channels, model.num_classes, model.spec.name) == (in_channels, num_classes, name)

    model.train()
    out = model(x)
    if model.deep_supervision:
        assert isinstance(out, list) and len(out) >= 2
        assert out[0].shape == (2, num_classes, H, W)
        sizes = [o.shape[-2] * o.shape[-1] for o in out]
        assert sizes == sorted(sizes, reverse=True) and sizes[1] < sizes[0]
    else:
        assert isinstance(out, torch.Tensor)
        out = [out]
    sum(o.float().square().mean() for o in out).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)

    model.eval()
    with torch.no_grad():
        logits = model(x)
        features = model.encode(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, num_classes, H, W)
    assert features.ndim == 2 and features.shape[0] == 2 and torch.isfinite(features).all()


@pytest.mark.parametrize("name", list_models())
def test_every_model_has_a_bottleneck_dropout_with_the_requested_p(name: str) -> None:
    model = tiny(name, 1, 3, dropout=0.3)
    ps = [m.p for m in model.modules() if isinstance(m, nn.Dropout2d)]
    assert ps and all(p == 0.3 for p in ps)


def test_mc_dropout_samples_differ_while_eval_predictions_repeat() -> None:
    model = tiny("U1", 1, 3, dropout=0.5)
    x = torch.randn(1, 1, 32, 32)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
        assert enable_mc_dropout(model) == 1
        assert not torch.equal(model(x), model(x))
    assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))


@pytest.mark.parametrize("name", list(PAPER) + BASELINES)
def test_make_optimiser_uses_the_specs_optimiser_and_learning_rate(name: str) -> None:
    params = [nn.Parameter(torch.zeros(3))]
    spec = MODELS[name]
    opt = make_optimiser(name, params)
    assert type(opt) is getattr(torch.optim, spec.optimiser)
    assert opt.param_groups[0]["lr"] == spec.lr
    assert make_optimiser(spec, params, lr=0.01).param_groups[0]["lr"] == 0.01


def test_an_unknown_model_name_raises_value_error_naming_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="UVD.*FCN8"):
        build_model("UVDX", 1, 12)
    with pytest.raises(ValueError, match="valid names"):
        make_optimiser("nope", [nn.Parameter(torch.zeros(1))])


def test_bad_overrides_and_sizes_are_rejected_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="unknown override.*filtres"):
        build_model("UD", 1, 12, filtres=8)
    with pytest.raises(ValueError, match="in_channels must be a positive integer"):
        build_model("UD", 0, 12)
    with pytest.raises(ValueError, match="dropout"):
        build_model("UD", 1, 12, dropout=1.5)


def test_wrong_input_rank_or_channels_say_which_shape_would_work() -> None:
    model = tiny("UD", 2, 12).eval()
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\).*x\[None\]"):
        model(torch.randn(2, H, W))
    with pytest.raises(ValueError, match=r"2 input channel\(s\), i.e. shape \(B, 2, H, W\)"):
        model(torch.randn(1, 1, H, W))


@pytest.mark.parametrize("name", ["UVAD", "UAMD", "FCN8"])
def test_images_smaller_than_the_stride_still_give_full_size_logits(name: str) -> None:
    model = tiny(name, 1, 12).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, 5, 7)).shape == (1, 12, 5, 7)


def test_switching_deep_supervision_off_gives_a_single_tensor_in_training() -> None:
    model = tiny("UVD", 1, 12, deep_supervision=False).train()
    assert model(torch.randn(2, 1, 16, 16)).shape == (2, 12, 16, 16)


@pytest.mark.parametrize("name", ["UAMD", "UVAD", "FCN8"])
def test_models_run_with_channels_last_and_bf16_autocast(name: str) -> None:
    model = tiny(name, 2, 12).to(memory_format=torch.channels_last).train()
    x = torch.randn(2, 2, 33, 35).to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x)
    first = out[0] if isinstance(out, list) else out
    assert first.shape == (2, 12, 33, 35) and torch.isfinite(first.float()).all()
    first.float().mean().backward()


def test_the_torch_free_architecture_table_matches_the_registry():
    from mlcore.architectures import ARCHITECTURES, PAPER_ARCHITECTURES
    from mlcore.models import MODELS

    assert {name: spec.description for name, spec in MODELS.items()} == ARCHITECTURES
    assert list(PAPER_ARCHITECTURES) == list(MODELS)[:8]


@pytest.mark.parametrize("name", ["UD", "UAMD", "unet_resnet34"])
def test_instance_norm_labels_each_image_by_its_own_statistics(name: str) -> None:
    model = tiny(name, 1, 12, norm="instance", dropout=0.0)  # no dropout sampling in train mode
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert any(isinstance(m, nn.InstanceNorm2d) for m in model.modules())
    a, b = torch.randn(1, 1, 64, 48), 30.0 * torch.randn(1, 1, 64, 48) + 100.0
    for train in (True, False):  # no running statistics: a slice's logits never depend on its batch
        model.train(train)
        with torch.no_grad():
            alone, together = model(a), model(torch.cat([a, b]))
        first = alone[0] if isinstance(alone, list) else alone
        both = together[0] if isinstance(together, list) else together
        torch.testing.assert_close(both[:1], first, rtol=1e-3, atol=1e-3)
    with pytest.raises(ValueError, match="unknown norm 'group'; valid: batch, instance"):
        build_model("UD", 1, 12, norm="group")
