"""Data-parallel training on 2 CPU processes (gloo on loopback) equals one process on the combined batch."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import rnnlab
from rnnlab.checkpoint import load_checkpoint
from rnnlab.config import ModelConfig, TrainConfig
from rnnlab.evaluation import evaluate
from rnnlab.runs import _training_corpus

ROOT = Path(__file__).resolve().parent.parent
MODEL = dict(model="lstm", hidden=16, layers=2, embed=8, dropout=0.0)   # dropout 0: masks differ per rank


def train_cfg(text, out, **kw):
    base = dict(data=str(text), seq_len=16, batch_size=4, max_steps=5, max_minutes=None, eval_every=5, log_every=1,
                sample_chars=0, out=str(out), seed=3, warmup_steps=2, lr=1e-2, grad_clip=1.0, dtype="float32")
    return {**base, **kw}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(spec: dict, tmp_path: Path, world: int = 2) -> list[str]:
    """Run tests/ddp_worker.py as `world` ranks on loopback; their stderr, rank by rank."""
    path = tmp_path / f"spec-{free_port()}.json"
    path.write_text(json.dumps(spec))
    env = {**os.environ, "WORLD_SIZE": str(world), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port()),
           "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "tests.ddp_worker", str(path)], cwd=ROOT, stderr=subprocess.PIPE,
                              text=True, env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}) for r in range(world)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(errs)
    return errs


@pytest.fixture
def long_text(tmp_path) -> Path:
    """~40k characters: 4 validation rows, so that the ranks split them unevenly (2 + 1 of 3)."""
    g = torch.Generator().manual_seed(0)
    words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "and", "runs", "away", "home"]
    picks = torch.randint(len(words), (7000,), generator=g).tolist()
    path = tmp_path / "text.txt"
    path.write_text(" ".join(words[i] for i in picks) + "\n")
    return path


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], rtol=0, atol=1e-5)


def test_two_processes_equal_one_on_the_combined_batch(long_text, tmp_path):
    single = tmp_path / "single"
    rnnlab.train(ModelConfig(**MODEL), TrainConfig(**train_cfg(long_text, single, batch_size=8)), progress=False)
    ddp = tmp_path / "ddp"
    errs = launch({"model": MODEL, "train": train_cfg(long_text, ddp, batch_size=4), "score": str(single),
                   "score_out": str(tmp_path / "score.json")}, tmp_path)
    assert_same_weights(single / "last", ddp / "last")
    rows = [json.loads(line) for line in (ddp / "metrics.jsonl").read_text().splitlines()]
    expected = [json.loads(line) for line in (single / "metrics.jsonl").read_text().splitlines()]
    assert [r["chars_seen"] for r in rows] == [r["chars_seen"] for r in expected] == [5 * 8 * 16]
    assert rows[0]["train_loss"] == pytest.approx(expected[0]["train_loss"], abs=1e-5)
    assert rows[0]["val_nats"] == pytest.approx(expected[0]["val_nats"], abs=1e-5)
    # rank 0 alone wrote the run and printed; the run holds what a single-process run holds
    assert sorted(p.name for p in ddp.iterdir()) == sorted(p.name for p in single.iterdir())
    assert "rnnlab:" in errs[0] and errs[1].strip() == ""
    assert json.loads((ddp / "last" / "config.json").read_text())["world_size"] == 2
    # distributed validation (rows split 2 + 1 over the ranks, sums added) equals one process on the same weights
    ckpt = load_checkpoint(single, prefer="last")
    val = _training_corpus(ckpt, ckpt.train_cfg.data, "").val
    alone = evaluate(ckpt.model, val, torch.device("cpu")).nats
    assert json.loads((tmp_path / "score.json").read_text())["nats"] == pytest.approx(alone, abs=1e-6)


@pytest.mark.slow
def test_resume_on_one_process_keeps_the_combined_batch(long_text, tmp_path):
    """2 ranks x 4 rows for 3 steps, then 1 process (8 rows) to step 6, equals 6 steps at 8 rows."""
    straight = tmp_path / "straight"
    rnnlab.train(ModelConfig(**MODEL), TrainConfig(**train_cfg(long_text, straight, batch_size=8, max_steps=6,
                                                               eval_every=3)), progress=False)
    run = tmp_path / "run"
    launch({"model": MODEL, "train": train_cfg(long_text, run, max_steps=3, eval_every=3)}, tmp_path)
    result = rnnlab.resume(run, {"max_steps": 6}, progress=False)
    assert result.steps == 6
    assert json.loads((run / "last" / "config.json").read_text())["train"]["batch_size"] == 8
    assert_same_weights(straight / "last", run / "last")


def test_two_tagger_processes_equal_one_and_rank_0_alone_reports(tmp_path):
    """The task path (tag train under torchrun): 2 ranks x 8 sentences equal 1 process x 16, dropout off."""
    from tests.test_tag_cli import SMALL, _write
    from tests.test_tag_model import synthetic
    train, val = _write(tmp_path / "train.conll", synthetic(96, 1)), _write(tmp_path / "dev.conll", synthetic(24, 2))
    from rnnlab.cli import main
    at = SMALL.index("--batch-size")
    small = SMALL[:at] + SMALL[at + 2:]
    flags = ["--data", train, "--val", val, "--max-steps", "4", "--eval-every", "4", "--dtype", "float32", *small]
    for name in ("input-dropout", "dropout", "word-dropout", "head-dropout", "char-dropout"):
        flags += [f"--{name}", "0"]                                     # masks differ per rank
    single = tmp_path / "single"
    assert main(["tag", "train", *flags, "--batch-size", "16", "--out", str(single)]) == 0
    ddp = tmp_path / "ddp"
    errs = launch({"argv": ["tag", "train", *flags, "--batch-size", "8", "--out", str(ddp)]}, tmp_path)
    assert_same_weights(single / "last", ddp / "last")
    assert "done" in errs[0] and errs[1].strip() == ""


def test_two_classifier_processes_equal_one(tmp_path):
    """classify train under torchrun: 2 ranks x 8 sentences equal 1 process x 16, dropout off."""
    g = torch.Generator().manual_seed(0)
    words = {"pos": ["good", "great", "fine", "fun"], "neg": ["bad", "dull", "poor", "slow"]}
    lines = []
    for i in range(96):
        label = ("pos", "neg")[i % 2]
        picks = torch.randint(4, (int(torch.randint(3, 9, (1,), generator=g)),), generator=g).tolist()
        lines.append(f"{label}\t" + " ".join(["the", "film"] + [words[label][k] for k in picks]))
    data = tmp_path / "pairs.txt"
    data.write_text("\n".join(lines) + "\n")
    flags = ["classify", "train", "--data", str(data), "--max-steps", "4", "--eval-every", "4", "--dtype", "float32",
             "--embed", "8", "--hidden", "8", "--warmup-steps", "1", "--no-progress"]
    for name in ("input-dropout", "dropout", "word-dropout", "embed-dropout", "head-dropout"):
        flags += [f"--{name}", "0"]                                     # masks differ per rank
    from rnnlab.cli import main
    single, ddp = tmp_path / "single", tmp_path / "ddp"
    assert main([*flags, "--batch-size", "16", "--out", str(single)]) == 0
    errs = launch({"argv": [*flags, "--batch-size", "8", "--out", str(ddp)]}, tmp_path)
    assert_same_weights(single / "last", ddp / "last")
    assert "done" in errs[0] and errs[1].strip() == ""
