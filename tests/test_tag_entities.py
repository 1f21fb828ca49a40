"""Entity extraction and scores: hand-checked repairs, and seqeval on the same random predictions."""
import random

import pytest

from rnnlab.tasks.entities import entities, is_chunked, score

seqeval = pytest.importorskip("seqeval.metrics")
from seqeval.metrics.sequence_labeling import get_entities  # noqa: E402


def test_repair_rules_by_hand():
    assert entities(["B-per", "I-per", "O", "B-loc"]) == [("per", 0, 1), ("loc", 3, 3)]
    assert entities(["O", "I-per", "I-per"]) == [("per", 1, 2)]                 # I after O starts an entity
    assert entities(["B-per", "I-loc", "I-loc"]) == [("per", 0, 0), ("loc", 1, 2)]   # type change starts one
    assert entities(["B-per", "B-per"]) == [("per", 0, 0), ("per", 1, 1)]
    assert entities(["I-per", "B-per", "I-per"]) == [("per", 0, 0), ("per", 1, 2)]  # IOB1
    assert entities(["S-per", "B-loc", "E-loc", "E-loc"]) == [("per", 0, 0), ("loc", 1, 2), ("loc", 3, 3)]
    assert entities(["U-per", "B-loc", "L-loc"]) == [("per", 0, 0), ("loc", 1, 2)]   # BILOU
    assert entities(["O", "O"]) == []


def test_scheme_detection():
    assert is_chunked(["O", "B-person", "I-person"])
    assert is_chunked(["S-x", "E-x", "O"])
    assert not is_chunked(["NN", "VB", "DT"])
    assert not is_chunked(["O"])
    assert not is_chunked(["O", "B-NP", "PUNCT"])


def _random_tags(rng, prefixes, types, n):
    return [[rng.choice(["O", "O"] + [f"{p}-{t}" for p in prefixes for t in types]) for _ in range(rng.randint(1, 9))]
            for _ in range(n)]


@pytest.mark.parametrize("prefixes", [("B", "I"), ("B", "I", "E", "S"), ("I",)])
def test_entities_and_scores_equal_seqeval(prefixes):
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    rng = random.Random(len(prefixes))
    types = ["per", "loc", "creative-work"]
    gold = _random_tags(rng, prefixes, types, 300)
    pred = [[t if rng.random() < 0.6 else rng.choice(["O", f"{prefixes[0]}-per", "I-loc", "I-per"]) for t in s]
            for s in gold]
    for s in gold + pred:
        assert entities(s) == get_entities(s)
    ours = score(gold, pred)
    assert ours["scheme"] == "entities"
    assert ours["precision"] == pytest.approx(precision_score(gold, pred))
    assert ours["recall"] == pytest.approx(recall_score(gold, pred))
    assert ours["f1"] == pytest.approx(f1_score(gold, pred))
    report = classification_report(gold, pred, output_dict=True, zero_division=0)
    for t in types:
        for k in ("precision", "recall", "f1"):
            assert ours["per_type"][t][k] == pytest.approx(report[t][k if k != "f1" else "f1-score"])
        assert ours["per_type"][t]["support"] == report[t]["support"]


def test_entity_scores_by_hand_and_accuracy():
    gold = [["B-per", "I-per", "O", "B-loc"], ["O", "B-org"]]
    pred = [["B-per", "I-per", "O", "B-per"], ["O", "B-org"]]     # 2 of 3 predicted right, 2 of 3 found
    s = score(gold, pred)
    assert s["precision"] == pytest.approx(2 / 3) and s["recall"] == pytest.approx(2 / 3)
    assert s["accuracy"] == pytest.approx(5 / 6) and s["n_sentences"] == 2 and s["n_tokens"] == 6
    assert s["per_type"]["loc"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1, "predicted": 0}
    assert s["per_type"]["per"]["precision"] == pytest.approx(0.5)


def test_plain_tag_sets_are_per_token():
    gold = [["DT", "NN", "VB"], ["NN", "NN"]]
    pred = [["DT", "NN", "NN"], ["NN", "VB"]]
    s = score(gold, pred)
    assert s["scheme"] == "plain" and s["accuracy"] == pytest.approx(3 / 5)
    assert s["per_type"]["NN"]["precision"] == pytest.approx(2 / 3) and s["per_type"]["NN"]["recall"] == pytest.approx(2 / 3)
    assert s["per_type"]["VB"]["f1"] == 0.0 and s["per_type"]["DT"]["f1"] == 1.0
    assert s["f1"] == pytest.approx((1.0 + 2 / 3 + 0.0) / 3)
