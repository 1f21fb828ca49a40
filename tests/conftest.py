import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHAKESPEARE = REPO / "rnnlab" / "text" / "datasets" / "tiny_shakespeare.txt"


@pytest.fixture(autouse=True)
def _few_threads():
    torch.set_num_threads(2)


@pytest.fixture
def small_text(tmp_path) -> Path:
    """The first 60,000 characters of tiny Shakespeare as a file."""
    path = tmp_path / "small.txt"
    path.write_text(SHAKESPEARE.read_text()[:60000])
    return path


def run_cli(*args, cwd=None):
    """Run `python -m rnnlab ARGS`; return (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "rnnlab", *map(str, args)], capture_output=True, text=True, cwd=cwd)
    return proc.returncode, proc.stdout, proc.stderr
