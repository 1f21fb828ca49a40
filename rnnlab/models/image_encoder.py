"""A small convolutional encoder: an RGB image to a grid of feature vectors (the annotation vectors a_i).

    uint8 (B, H, W, 3) ──scale to [-1, 1]──▶ (B, 3, H, W)
      ──[conv 3x3 (stride 2 where the grid halves) ─ BatchNorm ─ ReLU] x len(channels)──▶ (B, D, H/8, W/8)
      ──+ a learned embedding of each grid cell's position──▶ a (B, S = H/8 * W/8, D)

The position embedding lets a context vector (a weighted sum of grid cells) say where it looked, which
the relations (left of, above) need. 64x64 images give an 8x8 grid.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..errors import require


@dataclass
class ImageEncoderConfig:
    image_size: int = 64
    channels: tuple = (32, 64, 64, 128, 128)    # conv layers' widths; the last is D
    strides: tuple = (2, 2, 1, 2, 1)            # three halvings: 64 -> 8

    @property
    def grid(self) -> int:
        side = self.image_size
        for s in self.strides:
            side = (side + 2 - 3) // s + 1
        return side

    @property
    def features(self) -> int:
        return self.channels[-1]

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ImageEncoderConfig":
        return cls(d["image_size"], tuple(d["channels"]), tuple(d["strides"]))


class ImageEncoder(nn.Module):
    def __init__(self, cfg: ImageEncoderConfig):
        super().__init__()
        require(len(cfg.channels) == len(cfg.strides) and cfg.grid >= 1, "the image encoder's layers do not fit",
                "give as many strides as channels")
        self.cfg = cfg
        layers, width = [], 3
        for c, s in zip(cfg.channels, cfg.strides):
            layers += [nn.Conv2d(width, c, 3, stride=s, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
            width = c
        self.conv = nn.Sequential(*layers)
        self.position = nn.Parameter(torch.zeros(cfg.grid * cfg.grid, cfg.features).normal_(0, 0.1))

    def forward(self, images: Tensor) -> Tensor:
        """uint8 (B, H, W, 3) -> annotation vectors (B, S, D)."""
        x = images.permute(0, 3, 1, 2).float() / 127.5 - 1.0                   # (B, 3, H, W) in [-1, 1]
        f = self.conv(x)                                                       # (B, D, g, g)
        return f.flatten(2).transpose(1, 2) + self.position                    # (B, S, D)
