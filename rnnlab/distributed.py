"""Multi-process data parallelism on torch.distributed: who this process is, and the few collectives.

`torchrun --nproc-per-node N -m rnnlab train ...` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
MASTER_PORT; the first call here that needs the group joins it (gloo for CPU tensors, nccl for CUDA
tensors, each rank on GPU LOCAL_RANK) and leaves it at exit. Without those variables world_size() is 1, every
helper is a no-op, and nothing imports torch.distributed's machinery.

    rank 0 ..... W-1       each: its share of the batch rows, forward + backward, gradients all-reduced
    rank 0 alone           run lock, checkpoints, metrics, samples, progress; the others wait at barriers
"""
from __future__ import annotations

import atexit
import os
from datetime import timedelta

import torch

from .errors import RnnlabError, require

TIMEOUT = timedelta(minutes=10)   # a collective no rank reaches for this long fails instead of hanging


def _env_world() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def active() -> bool:
    """True in a process group of more than one process (launched by torchrun)."""
    return _env_world() > 1 and "RANK" in os.environ


def world_size() -> int:
    return _env_world() if active() else 1


def rank() -> int:
    return int(os.environ["RANK"]) if active() else 0


def is_root() -> bool:
    """Rank 0: the one process that writes the run directory and prints."""
    return rank() == 0


def follower_exit(stop_signal: int) -> int | None:
    """The exit code a command returns without reporting on a rank other than 0 (128 + the signal that
    stopped the run, else 0); None on rank 0 or alone, which reports."""
    if is_root():
        return None
    return 128 + stop_signal if stop_signal else 0


def on_root(say):
    """`say` on rank 0, a no-op elsewhere (one copy of every message)."""
    return say if is_root() else (lambda message: None)


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0")) if active() else 0


def setup() -> None:
    """Join the process group once: gloo for CPU tensors and, where CUDA is, nccl for CUDA tensors with
    "cuda" meaning this rank's GPU LOCAL_RANK (so a --device cpu run on a GPU machine works too)."""
    import torch.distributed as dist
    if not active() or dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank())
    dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo", timeout=TIMEOUT)
    atexit.register(teardown)


def teardown() -> None:
    """Leave the process group (registered at exit by setup)."""
    import torch.distributed as dist
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if active():
        setup()
        torch.distributed.barrier()


def all_sum(values: torch.Tensor) -> torch.Tensor:
    """The elementwise sum of `values` over all ranks (the tensor itself when alone)."""
    if not active():
        return values
    setup()
    t = values.clone()
    torch.distributed.all_reduce(t)
    return t


def all_gather_rows(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Every rank's `t` concatenated along `dim` in rank order (all ranks' shapes equal)."""
    if not active():
        return t
    setup()
    local = t.contiguous()
    parts = [torch.empty_like(local) for _ in range(world_size())]
    torch.distributed.all_gather(parts, local)
    return torch.cat(parts, dim=dim)


def root_decides(decide):
    """Run `decide()` on rank 0 and hand its result (or its RnnlabError) to every rank.

    The others wait at the broadcast, so a run directory rank 0 refuses ends every rank with the
    same one-line error instead of a hang."""
    if not active():
        return decide()
    setup()
    outcome: list = [None]
    if is_root():
        try:
            outcome = [("ok", decide())]
        except RnnlabError as exc:
            outcome = [("error", (exc.message, exc.hint))]
            torch.distributed.broadcast_object_list(outcome, src=0)
            raise
    torch.distributed.broadcast_object_list(outcome, src=0)
    kind, value = outcome[0]
    if kind == "error":
        raise RnnlabError(*value)
    return value


def rows_of_rank(n: int) -> slice:
    """This rank's contiguous share of n rows (np.array_split's: the first n % W ranks take one more)."""
    W, r = world_size(), rank()
    base, extra = divmod(n, W)
    start = r * base + min(r, extra)
    return slice(start, start + base + (r < extra))


def share_of_batch(index):
    """This rank's share of a batch's example indices (all of them when alone)."""
    return index[rows_of_rank(len(index))] if active() else index


def share_weighted(loss: torch.Tensor, share: int, batch: int) -> torch.Tensor:
    """A rank's mean loss over `share` of the batch's `batch` examples, scaled by W * share / batch so that
    DDP's average of the ranks' gradients is the gradient of the mean over the whole batch."""
    return loss * (world_size() * share / batch) if active() else loss


def per_rank_batch(saved_batch: int, saved_world: int) -> int:
    """The per-rank --batch-size a resume on world_size() processes needs to keep the combined batch of a
    run that trained `saved_batch` rows on each of `saved_world` processes (RnnlabError if it cannot)."""
    combined, W = saved_batch * saved_world, world_size()
    require(combined % W == 0, f"the run trained on {combined} rows per step ({saved_world} x {saved_batch}), "
            f"which {W} processes cannot share equally", f"resume with a number of processes that divides {combined}")
    return combined // W
