import math

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError, DataError
from benchmarks.core.metrics import (
    accuracy,
    ams,
    ams_at_cut,
    ams_scan,
    choose_cut,
    classification_metrics,
    cut_from_scan,
    higgs_metrics,
    max_ams,
    per_class_accuracy,
    to_labels,
    weighted_auc,
)
from datasets.base import Part

pytestmark = pytest.mark.sklearn


def test_ams_hand_computed_values():
    # sqrt(2((s+b+10) ln(1+s/(b+10)) - s)) worked out by hand
    assert ams(1.0, 0.0) == pytest.approx(0.31116547960072, rel=1e-10)
    assert ams(10.0, 90.0) == pytest.approx(0.98399164475695, rel=1e-10)
    assert ams(2.0, 10.0) == pytest.approx(0.44005444139367, rel=1e-10)
    assert ams(0.0, 50.0) == 0.0
    assert isinstance(ams(1.0, 2.0), float)


def test_ams_small_signal_limit_and_b_reg():
    # s << b: AMS -> s / sqrt(b + b_reg); log1p keeps this accurate
    assert ams(1e-3, 1e6 - 10) == pytest.approx(1e-6, rel=1e-6)
    assert ams(5.0, 20.0, b_reg=0.0) == pytest.approx(math.sqrt(2 * (25 * math.log(1.25) - 5)), rel=1e-12)
    with pytest.raises(ConfigError):
        ams(1.0, 1.0, b_reg=-1)


def test_ams_vectorised_matches_scalar():
    s = np.array([0.0, 1.0, 10.0, 3.0])
    b = np.array([5.0, 0.0, 90.0, 1e4])
    out = ams(s, b)
    assert out.shape == (4,)
    np.testing.assert_allclose(out, [ams(si, bi) for si, bi in zip(s, b)], rtol=1e-12)
    np.testing.assert_allclose(ams(s, 7.0), [ams(si, 7.0) for si in s], rtol=1e-12)


def _random_with_ties(n=400, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    scores = np.round(rng.random(n) * 0.6 + 0.4 * y, 1)  # ~10 distinct values: many ties
    w = rng.uniform(0.1, 3.0, n)
    return scores, y, w


def test_ams_scan_matches_brute_force_with_ties():
    scores, y, w = _random_with_ties()
    cuts, values = ams_scan(scores, y, w)
    unique = np.unique(scores)
    np.testing.assert_array_equal(cuts, unique)  # one cut per distinct score, ascending
    brute = []
    for c in unique:
        sel = scores >= c
        brute.append(ams(w[sel & (y == 1)].sum(), w[sel & (y == 0)].sum()))
    np.testing.assert_allclose(values, brute, rtol=1e-10)


def test_ams_scan_continuous_scores_and_float32():
    rng = np.random.default_rng(1)
    n = 300
    y = rng.integers(0, 2, n)
    scores = rng.random(n).astype(np.float32)
    w = rng.uniform(0.5, 2, n)
    cuts, values = ams_scan(scores, y, w)
    assert len(cuts) == len(np.unique(scores))
    for c, v in zip(cuts[::37], values[::37]):
        assert v == pytest.approx(ams_at_cut(scores, y, w, c), rel=1e-10)


def test_ams_scan_validates_input():
    with pytest.raises(DataError, match="equal lengths"):
        ams_scan(np.zeros(3), np.zeros(2), np.ones(3))
    with pytest.raises(DataError, match="NaN"):
        ams_scan(np.array([0.1, np.nan]), np.array([0, 1]), np.ones(2))


def test_max_ams_is_best_cut():
    scores, y, w = _random_with_ties(seed=3)
    best, cut = max_ams(scores, y, w)
    assert best == pytest.approx(ams_at_cut(scores, y, w, cut))
    assert all(ams_at_cut(scores, y, w, c) <= best + 1e-12 for c in np.unique(scores))


def test_choose_cut_is_mean_of_top_fraction_cuts():
    scores, y, w = _random_with_ties(seed=2)
    cuts, values = ams_scan(scores, y, w)
    k = max(1, int(0.3 * len(values)))
    expected = np.mean(cuts[np.argsort(values)[::-1][:k]])
    assert choose_cut(scores, y, w, top_fraction=0.3) == pytest.approx(expected)
    # a tiny fraction keeps at least one cut: the argmax
    assert choose_cut(scores, y, w, top_fraction=1e-6) == pytest.approx(max_ams(scores, y, w)[1])
    assert choose_cut(scores, y, w, top_fraction=1.0) == pytest.approx(np.mean(np.unique(scores)))


def test_cut_from_scan_hand_example():
    cuts = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0])
    values = np.array([1.0, 2.0, 5.0, 4.0, 3.0, 0.5, 0.4, 0.3, 0.2, 0.1])
    assert cut_from_scan(cuts, values, 0.1) == pytest.approx(0.7)
    assert cut_from_scan(cuts, values, 0.2) == pytest.approx(0.65)
    assert cut_from_scan(cuts, values, 0.3) == pytest.approx(0.6)
    with pytest.raises(ConfigError):
        cut_from_scan(cuts, values, 0.0)


def test_choose_cut_needs_signal():
    with pytest.raises(DataError, match="no signal"):
        choose_cut(np.array([0.2, 0.7]), np.array([0, 0]), np.ones(2))


def test_accuracy_labels_probabilities_and_weights():
    y = np.array([0, 1, 2, 1])
    pred = np.array([0, 1, 1, 1])
    assert accuracy(y, pred) == pytest.approx(0.75)
    proba = np.eye(3)[pred] * 0.8 + 0.05
    assert accuracy(y, proba) == pytest.approx(0.75)
    assert accuracy(y, pred, w=[1, 1, 2, 0]) == pytest.approx(0.5)
    # 1-D binary probabilities are thresholded at 0.5
    assert accuracy([0, 1, 1], np.array([0.2, 0.6, 0.4])) == pytest.approx(2 / 3)
    np.testing.assert_array_equal(to_labels(np.array([2.0, 0.0])), [2, 0])


def test_per_class_accuracy():
    y = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0, 2])
    out = per_class_accuracy(y, pred, 4)
    assert out[:3] == pytest.approx([0.5, 2 / 3, 1.0])
    assert math.isnan(out[3])  # no events of class 3


def test_weighted_auc():
    y = np.array([0, 0, 1, 1])
    s = np.array([0.1, 0.4, 0.35, 0.8])
    assert weighted_auc(y, s) == pytest.approx(0.75)
    # a weight of 2 equals repeating the event
    w = np.array([1, 2, 1, 1])
    assert weighted_auc(y, s, w) == pytest.approx(
        weighted_auc(np.r_[y, 0], np.r_[s, 0.4])
    )
    assert math.isnan(weighted_auc(np.zeros(3), np.array([0.1, 0.2, 0.3])))


def _part(name, y, w):
    n = len(y)
    return Part(name, np.zeros((n, 1)), np.asarray(y), np.asarray(w, float), np.arange(n))


def test_higgs_metrics_cut_from_validation_only():
    rng = np.random.default_rng(5)

    def make(n, name):
        y = (rng.random(n) < 0.4).astype(int)
        w = np.where(y == 1, 0.5, 20.0)
        p = np.clip(rng.normal(0.3 + 0.4 * y, 0.2), 0, 1)
        return _part(name, y, w), p

    val, p_val = make(2000, "val")
    pub, p_pub = make(2000, "public")
    priv, p_priv = make(2000, "private")
    m = higgs_metrics(p_val, val, [(pub, p_pub), (priv, p_priv)])
    cut = choose_cut(p_val, val.y, val.weights)
    assert m["cut"] == pytest.approx(cut)
    assert m["ams_val"] == pytest.approx(ams_at_cut(p_val, val.y, val.weights, cut))
    assert m["ams_public"] == pytest.approx(ams_at_cut(p_pub, pub.y, pub.weights, cut))
    assert m["ams_private"] == pytest.approx(ams_at_cut(p_priv, priv.y, priv.weights, cut))
    assert m["ams_max_public"] >= m["ams_public"]
    assert m["ams_max_private"] >= m["ams_private"]
    assert 0.5 < m["auc"] <= 1 and 0.5 < m["auc_public"] <= 1
    # (n, 2) probability tables and a shuffled test set leave the validation cut unchanged
    m2 = higgs_metrics(np.c_[1 - p_val, p_val], val, {pub: rng.permutation(p_pub)})
    assert m2["cut"] == pytest.approx(m["cut"])
    assert "ams_private" not in m2


def test_classification_metrics():
    y = np.array([0, 1, 2, 2])
    proba = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0, 0, 1]])
    part = _part("test", y, [1, 1, 5, 1])
    m = classification_metrics(proba, part, 3)
    assert m["accuracy"] == pytest.approx(0.75)  # unweighted despite the weights
    assert m["per_class_accuracy"] == pytest.approx([1.0, 1.0, 0.5])
    assert m["n_test"] == 4


def test_weighted_auc_equals_scikit_learns_with_ties_and_weights():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(7)
    for k in range(200):
        n = int(rng.integers(2, 400))
        y = rng.integers(0, 2, n)
        if y.min() == y.max():
            continue
        s = np.round(rng.random(n), int(rng.integers(1, 4)))  # 1-3 decimals: many tied scores
        w = rng.uniform(0.01, 5.0, n) if k % 2 else None
        assert weighted_auc(y, s, w) == pytest.approx(roc_auc_score(y, s, sample_weight=w), abs=1e-12)
    assert weighted_auc(np.array([0, 1, 1]), np.array([0.5, 0.5, 0.5])) == 0.5  # all tied: chance
    assert math.isnan(weighted_auc(np.array([0, 1]), np.array([0.1, 0.9]), np.array([0.0, 1.0])))
