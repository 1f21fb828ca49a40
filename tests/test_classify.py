"""rnnlab classify: metrics, the task, runs (train, eval, predict, resume, folds), bad input, --encoder-from."""
import json
import random

import numpy as np
import pytest
import torch

from rnnlab.cli import main
from rnnlab.errors import RnnlabError
from rnnlab.tasks import classify_run
from rnnlab.tasks.classify import classification_metrics
from rnnlab.tasks.classify_config import ClassifyConfig
from rnnlab.tasks.classify_data import holdout, kfold
from rnnlab.text.labelled import load_labelled

TINY = dict(embed=16, hidden=16, batch_size=16, lr=1e-2, warmup_steps=5, eval_every=20, log_every=10,
            input_dropout=0.0, word_dropout=0.0, head_dropout=0.0, device="cpu", dtype="float32")


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these models are tiny, and a second spinning thread on a busy 2-core machine made
    every backward pass 10x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """400 label<TAB>text lines: 'good' makes a sentence pos, 'bad' neg, among 40 filler words."""
    r = random.Random(0)
    path = tmp_path_factory.mktemp("data") / "toy.txt"
    lines = []
    for _ in range(400):
        label = r.choice(["pos", "neg"])
        words = r.choices([f"w{i}" for i in range(40)], k=r.randint(3, 12))
        words.insert(r.randrange(len(words) + 1), "good" if label == "pos" else "bad")
        lines.append(f"{label}\t{' '.join(words)}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def run(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "rt"
    result = classify_run.train(ClassifyConfig(data=str(toy), out=str(out), max_steps=60, **TINY), progress=False,
                                say=lambda m: None)
    return out, result


def test_metrics_against_hand_computed_values():
    m = classification_metrics(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0]), ["a", "b"])
    assert m["accuracy"] == pytest.approx(0.6) and m["n"] == 5
    assert m["per_class"]["a"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert m["per_class"]["b"]["f1"] == pytest.approx(2 / 3)
    assert m["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)


def test_splits_and_folds_are_seeded_partitions():
    train, val = holdout(100, 0.1, seed=3)
    assert len(val) == 10 and sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    assert np.array_equal(holdout(100, 0.1, seed=3)[1], val) and not np.array_equal(holdout(100, 0.1, 4)[1], val)
    folds = kfold(103, 10, seed=0)
    tests = np.concatenate([t for _, t in folds])
    assert sorted(tests.tolist()) == list(range(103)) and {len(t) for _, t in folds} == {10, 11}
    assert all(len(np.intersect1d(tr, te)) == 0 for tr, te in folds)


def test_run_learns_and_eval_predict_speak_json(run, capsys):
    out, result = run
    assert result.best.metrics["accuracy"] >= 0.9 and result.run.steps == 60
    assert (out / "best" / "model.safetensors").exists() and (out / "metrics.jsonl").exists()
    assert main(["classify", "eval", str(out), "--json"]) == 0
    score = json.loads(capsys.readouterr().out)
    assert set(score) >= {"accuracy", "macro_f1", "n", "per_class"} and score["n"] == 40
    assert score["accuracy"] == pytest.approx(result.best.metrics["accuracy"])
    assert sum(d["support"] for d in score["per_class"].values()) == 40
    assert main(["classify", "predict", str(out), "w1 w2 good w3", "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)
    assert pred["label"] == "pos" and sum(pred["probabilities"].values()) == pytest.approx(1.0)
    assert pred["probabilities"]["pos"] > 0.8


def test_resume_is_exact(toy, tmp_path):
    cfg = dict(data=str(toy), lr_decay_steps=40, **TINY)
    quiet = dict(progress=False, say=lambda m: None)
    classify_run.train(ClassifyConfig(out=str(tmp_path / "a"), max_steps=40, **cfg), **quiet)
    classify_run.train(ClassifyConfig(out=str(tmp_path / "b"), max_steps=20, **cfg), **quiet)
    classify_run.resume(tmp_path / "b", {"max_steps": 40}, **quiet)
    a, b = classify_run.load(tmp_path / "a", "cpu", "last"), classify_run.load(tmp_path / "b", "cpu", "last")
    for (name, p), q in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(p, q), name


def test_folds_report_mean_std_and_each_fold(toy, tmp_path):
    cv = classify_run.cross_validate(ClassifyConfig(data=str(toy), out=str(tmp_path / "cv"), folds=2, max_steps=30,
                                                    **TINY), progress=False, say=lambda m: None)
    accs = [f["accuracy"] for f in cv["folds"]]
    assert cv["k"] == 2 and [f["n"] for f in cv["folds"]] == [200, 200]
    assert cv["mean_accuracy"] == pytest.approx(np.mean(accs)) and cv["std_accuracy"] == pytest.approx(np.std(accs, ddof=1))
    assert (tmp_path / "cv" / "fold-2" / "last").is_dir()
    fold = classify_run.evaluate(classify_run.load(tmp_path / "cv" / "fold-2", "cpu", "last"))
    assert fold["n"] == 200 and fold["accuracy"] == pytest.approx(accs[1])     # eval scores the fold's own test part


def _error(capsys, *argv) -> str:
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    return err


def test_bad_input_exits_2_with_one_line(run, toy, tmp_path, capsys):
    out, _ = run
    csv = tmp_path / "r.csv"
    csv.write_text("review,label\ngood film,pos\nbad film,neg\n")
    assert "no column 'text'" in _error(capsys, "classify", "train", "--data", str(csv), "--out", str(tmp_path / "x"))
    (tmp_path / "empty.txt").write_text("")
    assert "empty" in _error(capsys, "classify", "train", "--data", str(tmp_path / "empty.txt"))
    one = tmp_path / "one.txt"
    one.write_text("pos\tgood\npos\tfine\n")
    assert "one class" in _error(capsys, "classify", "train", "--data", str(one))
    assert "empty" in _error(capsys, "classify", "predict", str(out), "  ")
    unseen = tmp_path / "unseen.txt"
    unseen.write_text("pos\tgood\nneutral\tw1 w2\n")
    assert "never saw: 'neutral'" in _error(capsys, "classify", "eval", str(out), "--data", str(unseen))
    ragged = tmp_path / "vec.txt"
    ragged.write_text("good 1 2 3\nbad 1 2\n")
    assert "line 2 has 2 numbers" in _error(capsys, "classify", "train", "--data", str(toy), "--embeddings",
                                            str(ragged), "--out", str(tmp_path / "y"), "--max-steps", "1")


def test_embeddings_file_sets_width_and_counts_found_words(toy, tmp_path):
    vec = tmp_path / "vec.txt"
    vec.write_text("good 1 0 0 0\nbad -1 0 0 0\nnotthere 0 0 0 1\n")
    said = []
    cfg = ClassifyConfig(data=str(toy), embeddings=str(vec), freeze_embeddings=True, out=str(tmp_path / "e"),
                         **{**TINY, "embed": None})
    data = load_labelled(str(toy))
    task = classify_run.build_task(cfg, data, *holdout(len(data), 0.1, cfg.seed), say=said.append)
    emb = task.model.encoder.embed.weight
    assert emb.shape[1] == 4 and not emb.requires_grad
    assert emb[task.vocab.index["bad"]].tolist() == [-1, 0, 0, 0]
    assert "2 of 42 words found" in said[0]


def test_ngram_term_is_a_scaled_bag_of_ngrams():
    from rnnlab.models.classifier import Classifier, ClassifierConfig
    from rnnlab.models.encoder import EncoderConfig
    from rnnlab.tasks.classify_data import word_ngrams
    assert word_ngrams(["a", "b", "c"], 2) == ["a", "b", "c", "a b", "b c"]
    torch.manual_seed(0)
    model = Classifier(ClassifierConfig(EncoderConfig(vocab_size=10, embed=4, hidden=3), ("max",), 2,
                                        ngram_vocab=8)).eval()
    with torch.no_grad():
        model.ngrams.weight.normal_()
    tokens, lengths = torch.tensor([[2, 3, 4]]), torch.tensor([3])
    plain = model(tokens, lengths)
    grams = torch.tensor([[5, 7, 2, 0, 0]])                               # three n-grams, padded
    w = model.ngrams.weight
    expect = plain + model.cfg.ngram_scale * (w[5] + w[7] + w[2]) / 3 ** 0.5
    torch.testing.assert_close(model(tokens, lengths, grams), expect)
    torch.testing.assert_close(model(tokens, lengths, grams[:, :3]), expect)   # padding changes nothing


def test_ngram_run_predicts_and_evaluates(toy, tmp_path, capsys):
    out = tmp_path / "ng"
    r = classify_run.train(ClassifyConfig(data=str(toy), out=str(out), max_steps=30, ngrams=2, **TINY),
                           progress=False, say=lambda m: None)
    clf = classify_run.load(out, "cpu")
    assert clf.gram_vocab is not None and clf.model.ngrams.weight.shape[0] == clf.gram_vocab.size
    assert classify_run.evaluate(clf)["accuracy"] == pytest.approx(r.best.metrics["accuracy"])
    assert classify_run.predict(clf, "w3 bad w4")["label"] == "neg"
