"""Echo state networks: a fixed random reservoir, a linear readout fitted by ridge regression.

    from rnnlab.esn import EchoStateNetwork, mackey_glass, nrmse

The public names are imported on first use (PEP 562), so `import rnnlab.esn` loads neither NumPy
nor torch nor numba.
"""
from __future__ import annotations

from ..lazy import lazy_exports

_EXPORTS = {  # public name -> the submodule that defines it
    "EchoStateNetwork": "model", "nrmse": "model", "ridge_solve": "readout", "RidgeAccumulator": "readout",
    "spectral_radius": "init", "sparse_reservoir": "init",
    "mackey_glass": "tasks", "mackey_glass_benchmark": "tasks", "frequency_generator": "tasks",
}

__all__ = list(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
