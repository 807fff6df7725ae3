"""The registered architectures by name, as a pure-Python table (no torch), for web processes that
validate a round launch or list the choices. `mlcore.models.registry.MODELS` is tested against it."""

from __future__ import annotations

PAPER_ARCHITECTURES: tuple[str, ...] = ("UAD", "UVAD", "UAMD", "UVD", "UMD", "UD", "U1", "FCN8")

ARCHITECTURES: dict[str, str] = {
    "UAD": "U-Net + attention + deep supervision",
    "UVAD": "U-Net + VGG16 encoder + attention + deep supervision",
    "UAMD": "U-Net + attention + multi-kernel + deep supervision",
    "UVD": "U-Net + VGG16 encoder + deep supervision",
    "UMD": "U-Net + multi-kernel + deep supervision",
    "UD": "U-Net + deep supervision",
    "U1": "plain U-Net",
    "FCN8": "FCN8 on a VGG16-layout encoder",
    "unet_resnet34": "smp.Unet, resnet34 encoder from scratch",
    "unetplusplus": "smp.UnetPlusPlus, resnet34 encoder from scratch",
    "deeplabv3plus": "smp.DeepLabV3Plus, resnet34 encoder from scratch",
}
