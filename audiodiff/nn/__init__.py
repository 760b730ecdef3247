"""Network building blocks and the 1-D U-Net; they know nothing about sigma."""

from audiodiff.nn.unet import UNet1d

__all__ = ["UNet1d"]
