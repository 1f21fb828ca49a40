"""Where the decoder looked: the image beside one panel per generated word, its attention over the grid
upsampled onto the image."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..reports import pyplot, save_figure
from .caption_decode import Caption


def attention_figure(image: np.ndarray, caption: Caption, path: str | Path, columns: int = 6) -> Path:
    """Write a PNG: the image, then each word (and </s>) over its α_t (S = g x g) as a heat map."""
    plt = pyplot()
    words = caption.words + ["</s>"]
    n = len(words) + 1
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.8 * columns, 1.9 * rows), squeeze=False)
    side = int(round(math.sqrt(caption.attention.shape[1])))
    h, w = image.shape[:2]
    for ax in axes.flat:
        ax.axis("off")
    axes.flat[0].imshow(image)
    axes.flat[0].set_title("image", fontsize=9)
    for k, word in enumerate(words):
        ax = axes.flat[k + 1]
        alpha = caption.attention[k].reshape(side, side)                       # (g, g)
        ax.imshow(image)
        ax.imshow(alpha, cmap="magma", alpha=0.6, extent=(-0.5, w - 0.5, h - 0.5, -0.5), interpolation="bilinear")
        ax.set_title(word, fontsize=9)
    fig.suptitle(caption.text, fontsize=10)
    return save_figure(fig, path)
