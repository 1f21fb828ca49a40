"""Dependencies point one way (docs/architecture.md): read every module's imports with ast, import nothing."""
import ast
from pathlib import Path

import numpy as np
import pytest
import torch

PACKAGE = Path(__file__).resolve().parents[1] / "rnnlab"


def imports(path: Path) -> set[str]:
    """Absolute names of the modules `path` imports, anywhere in the file (function-level imports too)."""
    module = "rnnlab." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[:len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            found.add(name)
            found |= {f"{name}.{alias.name}" for alias in node.names}     # `from . import runs`
    return {name.removesuffix(".__init__") for name in found}


def offenders(modules: list[Path], forbidden: tuple[str, ...]) -> dict:
    bad = {}
    for path in modules:
        hits = sorted(n for n in imports(path) if any(n == f or n.startswith(f + ".") for f in forbidden))
        if hits:
            bad[str(path.relative_to(PACKAGE))] = hits
    return bad


def test_the_import_reader_resolves_relative_imports():
    names = imports(PACKAGE / "hmm" / "lm.py")
    assert {"rnnlab.checkpoint", "rnnlab.hmm.model", "rnnlab.text.corpus"} <= names


def test_models_and_text_import_no_layer_above_them():
    modules = sorted((PACKAGE / "models").glob("*.py")) + sorted((PACKAGE / "text").glob("*.py"))
    assert modules
    assert offenders(modules, ("rnnlab.esn", "rnnlab.hmm", "rnnlab.trainer", "rnnlab.runs", "rnnlab.cli")) == {}


def test_the_hmm_language_model_does_not_import_its_experiments():
    assert offenders([PACKAGE / "hmm" / "lm.py"], ("rnnlab.hmm.experiments",)) == {}


def test_tasks_do_not_import_the_command_line():
    assert offenders(sorted((PACKAGE / "tasks").glob("*.py")), ("rnnlab.cli",)) == {}


def test_spectral_is_neutral_ground():
    assert offenders([PACKAGE / "spectral.py"], ("rnnlab.esn", "rnnlab.models", "rnnlab.hmm")) == {}


@pytest.mark.parametrize("radius", [0.5, 1.3])
def test_both_initialisers_reach_the_radius_by_one_rule(radius):
    from rnnlab import spectral
    W = spectral.sparse_uniform(80, 0.1, radius, np.random.default_rng(0))
    assert np.abs(np.linalg.eigvals(W)).max() == pytest.approx(radius, rel=1e-9)
    torch.manual_seed(3)
    T = spectral.sparse_uniform_torch(80, 0.1, radius)
    torch.manual_seed(3)
    assert torch.equal(T, spectral.sparse_uniform_torch(80, 0.1, radius))      # torch's seed decides it
    assert np.abs(np.linalg.eigvals(T.numpy())).max() == pytest.approx(radius, rel=1e-9)
