import numpy as np
import pytest

from benchmarks.controls import independent_permutation, shuffle_labels
from benchmarks.core.stats import consistent_with_chance
from datasets import load_dataset, make_splits
from models import create_model

pytestmark = pytest.mark.sklearn


@pytest.mark.parametrize("counts", [(30, 30, 30), (66, 34), (500, 250, 7)])
def test_independent_permutation_keeps_counts_and_carries_no_information(counts):
    y = np.repeat(np.arange(len(counts)), counts)
    rng = np.random.default_rng(0)
    out = independent_permutation(rng.permutation(y), rng)
    assert np.array_equal(np.bincount(out, minlength=len(counts)), counts)
    # Contingency table true x shuffled matches independence up to rounding.
    yy = np.sort(y)
    out = independent_permutation(yy, rng)
    table = np.zeros((len(counts), len(counts)))
    np.add.at(table, (yy, out), 1)
    expected = np.outer(counts, counts) / len(y)
    assert np.abs(table - expected).max() < 1.0


def test_shuffle_keeps_weights_with_events_and_test_labels():
    ds = load_dataset("higgsml-toy", n_events=2000)
    s = make_splits(ds, 0)
    f = shuffle_labels(s, 0)
    assert np.array_equal(f.train.weights, s.train.weights) and np.array_equal(f.train.ids, s.train.ids)
    assert not np.array_equal(f.train.y, s.train.y)
    assert all(np.array_equal(a.y, b.y) for a, b in zip(f.tests, s.tests))


def test_shuffled_control_on_iris_lands_near_chance():
    ds = load_dataset("iris")
    accs, flags = [], []
    for seed in range(12):
        s = make_splits(ds, seed)
        f = shuffle_labels(s, seed)
        m = create_model("random-forest", n_estimators=50, random_state=seed, n_jobs=1).fit(f.train.X, f.train.y, f.train.weights)
        test = s.test("test")
        acc = float((m.predict_proba(test.X).argmax(1) == test.y).mean())
        accs.append(acc)
        flags.append(consistent_with_chance(acc, len(test.y), 3, class_counts=np.bincount(test.y)))
        real = create_model("random-forest", n_estimators=50, random_state=seed, n_jobs=1).fit(s.train.X, s.train.y)
        assert (real.predict_proba(test.X).argmax(1) == test.y).mean() > 0.85
    assert 0.25 < np.mean(accs) < 0.42, accs
    assert sum(flags) >= 11, accs


def test_ams_control_verdicts():
    from benchmarks.core.scoring import get_metric

    def _ams_control_verdict(value, low, high, real):
        return get_metric("ams").control_verdict(value, low, high, real)[1]

    assert _ams_control_verdict(1.05, 1.0, 1.1, 3.0) == "yes"
    assert "just above" in _ams_control_verdict(1.15, 1.0, 1.1, 3.0)
    assert "leak" in _ams_control_verdict(1.5, 1.0, 1.1, 3.0)  # beyond two interval widths
    assert "leak" in _ams_control_verdict(1.15, 1.0, 1.1, 1.2)  # close to the real model's AMS
