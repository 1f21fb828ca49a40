"""Where tensors live and in what precision: `auto` picks CUDA when present, bfloat16 where native."""
from __future__ import annotations

import contextlib
import functools
import sys

import torch

from .errors import RnnlabError


def resolve_device(name: str = "auto") -> torch.device:
    """Map 'auto' | 'cpu' | 'cuda' | 'cuda:N' to a torch.device, refusing CUDA when there is none.

    Other torch device types (mps, xpu, meta, ...) are refused: rnnlab is tested on CPU and CUDA only,
    and 'meta' tensors hold no data at all."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError, ValueError):
        raise RnnlabError(f"unknown device {name!r}", "use --device auto, cpu or cuda") from None
    if device.type not in ("cpu", "cuda"):
        raise RnnlabError(f"--device {name} is not supported (rnnlab runs on the CPU and CUDA GPUs)",
                          "use --device auto, cpu or cuda")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RnnlabError("CUDA was requested but no CUDA device is available", "use --device cpu or --device auto")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise RnnlabError(f"--device {name}: this machine has {count} CUDA device(s), numbered from 0",
                              f"use --device cuda:0{f' to cuda:{count - 1}' if count > 1 else ''}")
    if device.type == "cpu" and device.index not in (None, 0):
        raise RnnlabError(f"--device {name}: there is one CPU device", "use --device cpu")
    return device


@functools.lru_cache(maxsize=None)
def _cpu_has_native_bf16() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def native_bfloat16(device: torch.device) -> bool:
    """True when bfloat16 matrix work runs in hardware on this device (AMX/AVX512-BF16, Ampere+)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return _cpu_has_native_bf16()
    return False


def resolve_dtype(name: str, device: torch.device, warn=lambda msg: print(msg, file=sys.stderr)) -> torch.dtype:
    """'auto' -> bfloat16 where native else float32; 'bfloat16' on unsupported hardware warns and falls back."""
    if name == "float32":
        return torch.float32
    if name not in ("auto", "bfloat16"):
        raise RnnlabError(f"unknown dtype {name!r}", "use --dtype auto, float32 or bfloat16")
    if native_bfloat16(device):
        return torch.bfloat16
    if name == "bfloat16":
        warn(f"note: {device.type} here has no native bfloat16; training in float32 instead")
    return torch.float32


def autocast(device: torch.device, dtype: torch.dtype):
    """Mixed-precision context for the forward pass; a no-op for float32 and float64."""
    if dtype not in (torch.bfloat16, torch.float16):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
