"""What experiments leave behind: figures drawn without a display, and JSON results."""
from __future__ import annotations

import json
from pathlib import Path


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path, tight: bool = True) -> Path:
    """Write `fig` as a PNG at 100 dpi and free it."""
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    return Path(path)


def write_json(path, result, indent=None) -> None:
    """One JSON document per file, newline-terminated."""
    Path(path).write_text(json.dumps(result, indent=indent) + "\n")
