"""One rank of tests/test_distributed.py: RANK, WORLD_SIZE, MASTER_* come from the test's environment.

    python -m tests.ddp_worker CONFIG.json      {"model": {...}, "train": {...}, "resume": {...}|null,
                                                  "score": CKPT|null, "score_out": PATH}
                                                 or {"argv": ["tag", "train", ...]}
Trains (or resumes) the run the config names; then, given a checkpoint, scores its validation split
with the ranks' rows split and writes rank 0's number to score_out. With "argv", runs that command line
(rnnlab.cli.main) and exits with its code.
"""
import json
import sys

import torch

import rnnlab
from rnnlab import distributed
from rnnlab.config import ModelConfig, TrainConfig


def main(path: str) -> None:
    torch.set_num_threads(1)
    spec = json.loads(open(path).read())
    if "argv" in spec:
        from rnnlab.cli import main as cli
        sys.exit(cli(spec["argv"]))
    if spec.get("resume"):
        rnnlab.resume(spec["train"]["out"], spec["resume"], progress=False)
    else:
        rnnlab.train(ModelConfig(**spec["model"]), TrainConfig(**spec["train"]), progress=False)
    if spec.get("score"):
        from rnnlab.runs import _training_corpus
        from rnnlab.checkpoint import load_checkpoint
        from rnnlab.evaluation import evaluate
        ckpt = load_checkpoint(spec["score"], prefer="last")
        val = _training_corpus(ckpt, ckpt.train_cfg.data, "").val
        nats = evaluate(ckpt.model, val, torch.device("cpu")).nats
        if distributed.is_root():
            open(spec["score_out"], "w").write(json.dumps({"nats": nats}))


if __name__ == "__main__":
    main(sys.argv[1])
