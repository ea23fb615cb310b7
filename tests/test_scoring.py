"""Metric objects: the registry, task checks, and that each object computes what the pure
functions compute (so that moving scoring behind objects changed no number)."""
from __future__ import annotations

import ast
from dataclasses import FrozenInstanceError, fields
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from benchmarks.core import metrics, stats
from benchmarks.core.errors import ConfigError, DataError
from benchmarks.core.scoring import Metric, MetricText, SplitArrays, get_metric, list_metrics
from datasets import Dataset

pytestmark = pytest.mark.sklearn


def _part(name, y, w):
    return SimpleNamespace(name=name, y=np.asarray(y), weights=np.asarray(w, dtype=np.float64))


def _binary(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.int64)
    s = np.clip(0.5 * y + rng.normal(0.25, 0.25, n), 0, 1)
    w = np.where(y == 1, rng.uniform(0.001, 0.003, n), rng.uniform(1, 3, n))
    return y, np.stack([1 - s, s], axis=1), w


def test_registry_names_and_unknown_name():
    assert list_metrics() == ["accuracy", "ams", "roc-auc"]
    with pytest.raises(ConfigError, match="unknown metric 'acuracy' .*did you mean accuracy"):
        get_metric("acuracy")


def test_dataset_validates_its_metric():
    X, y = np.zeros((6, 2)), np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ConfigError, match="unknown metric"):
        Dataset("d", X, y, ("a", "b"), ("x", "y", "z"), metric="acc")
    with pytest.raises(DataError, match="needs a binary task"):
        Dataset("d", X, y, ("a", "b"), ("x", "y", "z"), weights=np.ones(6), metric="ams")
    with pytest.raises(DataError, match="needs event weights"):
        Dataset("d", X, y % 2, ("a", "b"), ("x", "y"), metric="ams")
    with pytest.raises(DataError, match="needs a binary task"):
        Dataset("d", X, y, ("a", "b"), ("x", "y", "z"), metric="roc-auc")


def test_ams_object_scores_as_the_functions_do():
    y, p, w = _binary()
    val, pub = _part("val", y[:300], w[:300]), _part("public", y[300:], w[300:])
    ams = get_metric("ams")
    out = ams.score(p[:300], val, [(pub, p[300:])], 2)
    assert out == metrics.higgs_metrics(p[:300, 1], val, [(pub, p[300:, 1])])
    cut = metrics.choose_cut(p[:300, 1], y[:300], w[:300])
    assert ams.objective(p[:300], val) == metrics.ams_at_cut(p[:300, 1], y[:300], w[:300], cut)
    arrays = SplitArrays(y[300:], p[300:], w[300:])
    assert ams.value(arrays, out) == out["ams_public"]
    assert ams.test_key("private") == "ams_private" and ams.validation_key == "ams_val"
    cuts, values, chosen, reliable = ams.threshold_curve(SplitArrays(y[:300], p[:300], w[:300]))
    assert chosen == cut and len(cuts) == len(values) == len(reliable)
    n_bkg = np.array([((p[:300, 1] >= c) & (y[:300] == 0)).sum() for c in cuts])
    assert np.array_equal(reliable, n_bkg >= 10)
    assert ams.unreliable({"n_bkg_public": 9}, "ams_public") and not ams.unreliable({"n_bkg_public": 10}, "ams_public")
    assert not ams.unreliable({"n_bkg_public": 0}, "ams_max_public") and not ams.unreliable({}, "ams_public")


def test_accuracy_object_and_its_chance_model():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 90)
    p = rng.dirichlet(np.ones(3), 90)
    acc = get_metric("accuracy")
    out = acc.score(p[:30], _part("val", y[:30], np.ones(30)), [(_part("test", y[30:], np.ones(60)), p[30:])], 3)
    assert out["accuracy"] == metrics.accuracy(y[30:], p[30:]) and out["accuracy_val"] == metrics.accuracy(y[:30], p[:30])
    mean, lo, hi = acc.chance(SplitArrays(y[30:], p[30:], np.ones(60)), out, seed=0)
    counts = [int((y[30:] == c).sum()) for c in range(3)]
    assert (lo, hi) == stats.chance_interval_accuracy(60, 3, class_counts=counts) and mean == pytest.approx(1 / 3)
    assert acc.control_verdict(0.34, lo, hi, 0.9)[0] and not acc.control_verdict(0.99, lo, hi, 0.99)[0]
    assert acc.threshold_curve(SplitArrays(y, p, np.ones(90))) is None and acc.audit([], out, 0) is None


def test_roc_auc_object_is_the_weighted_auc():
    y, p, w = _binary()
    auc = get_metric("roc-auc")
    out = auc.score(p[:300], _part("val", y[:300], w[:300]), [(_part("test", y[300:], w[300:]), p[300:])], 2)
    assert out["roc_auc"] == pytest.approx(roc_auc_score(y[300:], p[300:, 1], sample_weight=w[300:]), abs=1e-12)
    assert out["roc_auc_val"] == auc.objective(p[:300], _part("val", y[:300], w[:300]))
    with pytest.raises(DataError, match="both classes"):
        auc.objective(p[:10], _part("val", np.ones(10, dtype=int), np.ones(10)))
    # The chance model (scores permuted over events) sits at 0.5 and excludes a real model.
    mean, lo, hi = auc.chance(SplitArrays(y, p, w), out, seed=0)
    assert lo < 0.5 < hi and abs(mean - 0.5) < 0.02 and out["roc_auc"] > hi


def test_generic_bootstrap_of_the_base_class_matches_the_vectorised_accuracy():
    """A metric that only defines `value` gets intervals and paired tests from the base class;
    on accuracy they draw the same resamples as the vectorised versions, so must agree."""

    class PlainAccuracy(Metric):
        def value(self, arrays, state):
            return metrics.accuracy(arrays.y, arrays.proba)

    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    pa = np.where(rng.random((200, 1)) < 0.8, np.eye(2)[y], np.eye(2)[1 - y])
    pb = np.where(rng.random((200, 1)) < 0.7, np.eye(2)[y], np.eye(2)[1 - y])
    a, b = SplitArrays(y, pa, np.ones(200)), SplitArrays(y, pb, np.ones(200))
    generic = PlainAccuracy().paired(a, {}, b, {}, n_boot=300, seed=4)
    fast = get_metric("accuracy").paired(a, {}, b, {}, n_boot=300, seed=4)
    for key in ("diff", "ci_low", "ci_high", "p_value"):
        assert generic[key] == pytest.approx(fast[key], abs=1e-12), key
    assert PlainAccuracy().interval(a, {}, 300, 4) == pytest.approx(get_metric("accuracy").interval(a, {}, 300, 4))


def test_ams_chance_and_verdicts():
    y, p, w = _binary(2000)
    ams = get_metric("ams")
    state = {"cut": 0.6}
    mean, lo, hi = ams.chance(SplitArrays(y, p, w), state, seed=0)
    k = int((p[:, 1] >= 0.6).sum())
    assert (mean, lo, hi) == stats.random_selection_ams(y, w, k, seed=0)
    assert ams.control_verdict(mean, lo, hi, 3.0) == (True, "yes")
    assert ams.control_verdict(hi + 0.1 * (hi - lo), lo, hi, None)[1].startswith("yes (just above")
    ok, text = ams.control_verdict(hi + 2 * (hi - lo), lo, hi, None)
    assert not ok and "leak" in text
    assert np.isnan(ams.chance(SplitArrays(y, p, w), {"cut": 2.0}, seed=0)[0])  # nothing selected


@pytest.mark.parametrize("name, margin", [("accuracy", 0.01), ("roc-auc", 0.005), ("ams", 0.05)])
def test_every_metric_has_a_margin_option_with_its_default(name, margin):
    assert get_metric(name).margin == margin
    assert get_metric(name).options() == {}  # defaults are not stored
    changed = get_metric(name, margin=0.02)
    assert changed.margin == 0.02 and changed.options() == {"margin": 0.02}
    # What a run stores rebuilds the same metric (reports.records.dataset_metric does this).
    assert get_metric(name, **changed.options()).margin == 0.02


def test_ams_keeps_its_cut_rule_beside_the_margin():
    assert get_metric("ams", min_background=10, margin=0.1).options() == {"min_background": 10, "margin": 0.1}


@pytest.mark.parametrize("bad", [0, -0.01, float("inf"), float("nan"), "0.01", True, None.__class__])
def test_a_margin_must_be_a_positive_finite_number(bad):
    with pytest.raises(ConfigError, match="margin must be a positive finite number"):
        get_metric("accuracy", margin=bad)


def test_an_unknown_metric_option_is_still_an_error():
    with pytest.raises(ConfigError, match="unexpected keyword argument 'margins'"):
        get_metric("accuracy", margins=0.01)
    with pytest.raises(ConfigError):
        get_metric("roc-auc", min_background=3)


# ------------------------------------------------------------------ report wording (MetricText)

_ROOT = Path(__file__).resolve().parents[1]
_HOLDERS = {"metric", "scorer", "METRIC"}  # the names a metric object goes by in reports/, benchmarks/ and tests


def _metric_reads() -> tuple[set[str], set[str]]:
    """Every attribute read off a metric object (``metric.X``, ``ctx.data.metric.X``,
    ``ds.scorer.X``) and off its wording (``….text.X``) in reports/ and benchmarks/."""
    on_metric, on_text = set(), set()
    for path in [*(_ROOT / "reports").rglob("*.py"), *(_ROOT / "benchmarks").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Attribute):
                continue
            base = node.value
            holder = base.id if isinstance(base, ast.Name) else base.attr if isinstance(base, ast.Attribute) else None
            if holder in _HOLDERS:
                on_metric.add(node.attr)
            elif holder == "text" and isinstance(base, ast.Attribute) and (
                    (isinstance(base.value, ast.Name) and base.value.id in _HOLDERS)
                    or (isinstance(base.value, ast.Attribute) and base.value.attr in _HOLDERS)):
                on_text.add(node.attr)
    return on_metric, on_text


def test_every_attribute_a_report_reads_off_a_metric_is_declared_on_the_base():
    on_metric, on_text = _metric_reads()
    # The scan sees the readers (a sanity check that it finds what reports/sections.py reads).
    assert {"text", "fmt", "test_key"} <= on_metric and {"chance_title", "table_note", "title"} <= on_text
    assert sorted(a for a in on_metric if not (hasattr(Metric, a) or a in Metric.__annotations__)) == []
    declared = {f.name for f in fields(MetricText)} | {n for n in vars(MetricText) if not n.startswith("_")}
    assert sorted(on_text - declared) == []
    for name in list_metrics():
        metric = get_metric(name)
        assert type(metric.text) is MetricText, name
        assert all(hasattr(metric, a) for a in on_metric) and all(hasattr(metric.text, a) for a in on_text), name
        assert metric.text.title and metric.text.description and metric.text.table_note, name


def test_metric_text_is_frozen_and_prose_stays_off_the_metric_class():
    text = get_metric("ams").text
    with pytest.raises(FrozenInstanceError):
        text.title = "x"
    assert not any(hasattr(Metric, f.name) for f in fields(MetricText))  # no prose left on the maths
    with pytest.raises(TypeError, match="title belong in text"):
        class Stray(Metric):  # noqa: F841 - a prose attribute on the class itself is refused
            title = "stray"


def test_metric_text_notes():
    ams = get_metric("ams")
    assert "private AMS" in ams.text.leaderboard_note(False) and "public AMS" in ams.text.leaderboard_note(True)
    assert get_metric("accuracy").text.leaderboard_note(True) == ""
    assert "at least 5 raw background" in get_metric("ams", min_background=5).text.table_note
    assert "at least" not in ams.text.table_note and get_metric("ams", min_background=5).text.title == "AMS"
