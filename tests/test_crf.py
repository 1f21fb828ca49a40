"""The linear-chain CRF against brute-force enumeration of every tag path on tiny cases."""
import itertools

import pytest
import torch

from rnnlab.models.crf import CRF, bio_constraints


def _crf(K, seed=0, allowed=None):
    g = torch.Generator().manual_seed(seed)
    crf = CRF(K, allowed)
    with torch.no_grad():
        crf.transitions.copy_(torch.randn(K, K, generator=g))
        crf.start.copy_(torch.randn(K, generator=g))
        crf.end.copy_(torch.randn(K, generator=g))
    return crf


def _path_score(crf, em, path):
    """s(y) written out for one unpadded sentence em (T, K)."""
    trans, start, end = crf._scores()
    s = start[path[0]] + end[path[-1]] + sum(em[t, y] for t, y in enumerate(path))
    return s + sum(trans[a, b] for a, b in zip(path, path[1:]))


def _batch(K, lengths, seed=1):
    g = torch.Generator().manual_seed(seed)
    T = max(lengths)
    em = torch.randn(len(lengths), T, K, generator=g)                       # (B, T, K)
    mask = torch.arange(T)[None, :] < torch.tensor(lengths)[:, None]         # (B, T)
    em = em.masked_fill(~mask[:, :, None], 7.0)   # padding values must not matter
    return em, mask


@pytest.mark.parametrize("K,lengths", [(3, [4, 2, 1, 3]), (2, [5]), (4, [3, 3])])
def test_log_partition_equals_logsumexp_over_all_paths(K, lengths):
    crf = _crf(K)
    em, mask = _batch(K, lengths)
    logz = crf.log_partition(em, mask)
    for b, n in enumerate(lengths):
        scores = torch.stack([_path_score(crf, em[b], p) for p in itertools.product(range(K), repeat=n)])
        assert torch.allclose(logz[b], torch.logsumexp(scores, 0), atol=1e-5)


@pytest.mark.parametrize("K,lengths", [(3, [4, 2, 1, 3]), (4, [3, 1])])
def test_viterbi_is_the_argmax_path_and_score_matches(K, lengths):
    crf = _crf(K, seed=3)
    em, mask = _batch(K, lengths, seed=4)
    paths = crf.decode(em, mask)
    for b, n in enumerate(lengths):
        every = list(itertools.product(range(K), repeat=n))
        scores = torch.stack([_path_score(crf, em[b], p) for p in every])
        assert len(paths[b]) == n
        assert tuple(paths[b]) == every[int(scores.argmax())]
    padded = torch.tensor([p + [0] * (max(lengths) - len(p)) for p in paths])
    best = crf.score(em, padded, mask)
    for b, n in enumerate(lengths):
        assert torch.allclose(best[b], _path_score(crf, em[b], paths[b]), atol=1e-5)


def test_nll_is_a_normalised_distribution_and_its_gradient_flows():
    K, n = 3, 3
    crf = _crf(K, seed=5)
    em, mask = _batch(K, [n], seed=6)
    em.requires_grad_(True)
    paths = torch.tensor(list(itertools.product(range(K), repeat=n)))       # (K^n, n)
    nll = crf.nll(em.expand(len(paths), n, K), paths, mask.expand(len(paths), n))
    assert torch.allclose(torch.exp(-nll).sum(), torch.tensor(1.0), atol=1e-5)
    nll[0].backward()
    assert em.grad is not None and torch.isfinite(em.grad).all() and crf.transitions.grad.abs().sum() > 0


def test_bio_constraints_forbid_i_after_o_and_decoding_obeys_them():
    tags = ["O", "B-per", "I-per", "B-loc", "I-loc"]
    trans, start = bio_constraints(tags)
    assert not trans[0, 2] and trans[1, 2] and trans[2, 2] and not trans[3, 2] and not start[2] and start[1]
    assert bio_constraints(["NN", "VB", "DT"]) is None
    crf = _crf(len(tags), seed=7, allowed=(trans, start))
    em, mask = _batch(len(tags), [6, 4], seed=8)
    em[:, :, 2] += 5.0   # I-per everywhere would win unconstrained
    for path in crf.decode(em, mask):
        assert path[0] != 2 and all(trans[a, b] for a, b in zip(path, path[1:]))


def test_constrained_argmax_is_the_likeliest_allowed_path():
    from rnnlab.models.crf import constrained_argmax
    tags = ["O", "B-per", "I-per", "B-loc", "I-loc"]
    trans, start = bio_constraints(tags)
    K = len(tags)
    em, mask = _batch(K, [4, 2, 3], seed=9)
    logp = torch.log_softmax(em, -1)
    paths = constrained_argmax(logp, mask, (trans, start))
    for b, n in enumerate([4, 2, 3]):
        ok = [p for p in itertools.product(range(K), repeat=n)
              if start[p[0]] and all(trans[a, c] for a, c in zip(p, p[1:]))]
        best = max(ok, key=lambda p: sum(float(logp[b, t, y]) for t, y in enumerate(p)))
        assert tuple(paths[b]) == best
