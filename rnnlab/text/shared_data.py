"""Where the corpora that are not bundled (rt-polarity, wnut17, ...) are looked for."""
from __future__ import annotations

import os
from pathlib import Path


def data_roots() -> list[Path]:
    """$RNNLAB_DATA, then the shared data folder beside the checkout (../shared/data), then ./data."""
    roots = [Path(os.environ["RNNLAB_DATA"])] if os.environ.get("RNNLAB_DATA") else []
    here = Path(__file__).resolve().parents[2]         # the repository (or site-packages) root
    return roots + [here.parent / "shared" / "data", here / "data", Path.cwd() / "data"]


def find_folder(name: str) -> Path | None:
    """The first data root holding folder `name`, or None."""
    return next((root / name for root in data_roots() if (root / name).is_dir()), None)
