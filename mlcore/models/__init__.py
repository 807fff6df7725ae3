"""Network zoo: the paper's eight U-Net/FCN variants plus smp baselines, behind one registry.

model = build_model("UVD", in_channels=2, num_classes=12)   # filters=8 for tiny CPU models
logits = model.eval()(x)                                     # (B, 12, H, W), any H, W
opt = make_optimiser(model.spec, model.parameters())         # Adam, lr 0.00033
"""

from .base import SegmentationNet
from .registry import MODELS, build_model, enable_mc_dropout, get_spec, list_models, make_optimiser
from .spec import ModelSpec

__all__ = [
    "MODELS",
    "ModelSpec",
    "SegmentationNet",
    "build_model",
    "enable_mc_dropout",
    "get_spec",
    "list_models",
    "make_optimiser",
]
