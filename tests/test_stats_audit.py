import math

import numpy as np
import pytest

from benchmarks.core import audit, stats
from benchmarks.core.errors import ConfigError, DataError
from benchmarks.core.metrics import accuracy, ams, ams_at_cut, choose_cut

pytestmark = pytest.mark.sklearn

S_TOTAL, B_TOTAL = 692.0, 410_999.0  # HiggsML-like full-luminosity totals


def _higgs_like(n, seed, signal_shift=0.35):
    """Scores/labels/weights with per-class weights renormalised to full luminosity."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.34).astype(int)
    scores = np.clip(rng.normal(0.35 + signal_shift * y, 0.18), 0, 1)
    w = np.where(y == 1, 1.0, 300.0) * rng.uniform(0.5, 1.5, n)
    w[y == 1] *= S_TOTAL / w[y == 1].sum()
    w[y == 0] *= B_TOTAL / w[y == 0].sum()
    return scores, y, w


# ------------------------------------------------------------------------- stats


def test_mean_std():
    assert stats.mean_std([1, 2, 3]) == pytest.approx((2.0, 1.0))
    assert stats.mean_std([4.5]) == (4.5, 0.0)
    m, s = stats.mean_std([])
    assert math.isnan(m) and math.isnan(s)


def test_bootstrap_ci_mean_matches_normal_theory():
    rng = np.random.default_rng(0)
    x = rng.normal(10, 2, 400)
    low, high = stats.bootstrap_ci(np.mean, x, n_boot=500, seed=1)
    assert low < x.mean() < high
    assert (high - low) == pytest.approx(2 * 1.96 * x.std() / 20, rel=0.2)
    with pytest.raises(ConfigError):
        stats.bootstrap_ci(np.mean, x, n_boot=0)


def test_bootstrap_category_sums_exact_totals():
    cat = np.array([0, 1, 1, 2, 2, 2])
    sums = stats.bootstrap_category_sums(cat, np.ones(6), 3, n_boot=50, seed=0)
    assert sums.shape == (50, 3)
    np.testing.assert_allclose(sums.sum(axis=1), 6)  # every resample draws n events
    np.testing.assert_allclose(sums.mean(axis=0), [1, 2, 3], rtol=0.25)
    assert len({tuple(r) for r in sums}) > 5  # resamples differ


def test_bootstrap_ams_ci_agrees_with_generic_rescaled_loop():
    scores, y, w = _higgs_like(4000, seed=1)
    cut = 0.6
    observed = ams_at_cut(scores, y, w, cut)
    low, high = stats.bootstrap_ams_ci(scores, y, w, cut, n_boot=1000, seed=0)
    assert low < observed < high

    def rescaled_ams(sc, yy, ww):
        ww = ww.copy()
        ww[yy == 1] *= S_TOTAL / ww[yy == 1].sum()
        ww[yy == 0] *= B_TOTAL / ww[yy == 0].sum()
        return ams_at_cut(sc, yy, ww, cut)

    g_low, g_high = stats.bootstrap_ci(rescaled_ams, scores, y, w, n_boot=1000, seed=7)
    assert low == pytest.approx(g_low, rel=0.08)
    assert high == pytest.approx(g_high, rel=0.08)


def test_bootstrap_ams_rescales_weights_to_split_totals():
    # Selecting every event: after per-class rescaling each resample has exactly the
    # split's totals, so the interval collapses onto AMS(S_TOTAL, B_TOTAL).
    scores, y, w = _higgs_like(3000, seed=2)
    low, high = stats.bootstrap_ams_ci(scores, y, w, cut=-1.0, n_boot=200)
    assert low == pytest.approx(ams(S_TOTAL, B_TOTAL), rel=1e-9)
    assert high == pytest.approx(low, rel=1e-9)


def test_bootstrap_accuracy_ci_binomial_width():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 2000)
    pred = np.where(rng.random(2000) < 0.8, y, (y + 1) % 3)
    acc = accuracy(y, pred)
    low, high = stats.bootstrap_accuracy_ci(y, pred, n_boot=800, seed=0)
    assert low < acc < high
    assert high - low == pytest.approx(2 * 1.96 * math.sqrt(acc * (1 - acc) / 2000), rel=0.2)


def test_paired_ams_comparison_identical_and_better_model():
    scores, y, w = _higgs_like(20_000, seed=3)
    same = stats.paired_ams_comparison(scores, 0.6, scores, 0.6, y, w, n_boot=300)
    assert same["diff"] == 0 and same["p_value"] == 1.0 and not same["significant"]
    rng = np.random.default_rng(4)
    weak = np.clip(scores + rng.normal(0, 0.3, len(scores)), 0, 1)
    res = stats.paired_ams_comparison(scores, 0.6, weak, 0.6, y, w, n_boot=300)
    assert res["metric_a"] == pytest.approx(ams_at_cut(scores, y, w, 0.6))
    assert res["metric_b"] == pytest.approx(ams_at_cut(weak, y, w, 0.6))
    assert res["diff"] > 0 and res["ci_low"] > 0 and res["significant"]
    assert res["p_value"] < 0.05


def test_paired_accuracy_and_generic_comparison_agree():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 1500)
    pa = np.where(rng.random(1500) < 0.85, y, 1 - y)
    pb = np.where(rng.random(1500) < 0.80, y, 1 - y)
    fast = stats.paired_accuracy_comparison(y, pa, pb, n_boot=600, seed=0)
    assert fast["diff"] == pytest.approx(accuracy(y, pa) - accuracy(y, pb))
    slow = stats.paired_comparison(
        lambda i: accuracy(y[i], pa[i]), lambda i: accuracy(y[i], pb[i]), len(y), n_boot=600, seed=1
    )
    assert slow["diff"] == pytest.approx(fast["diff"])
    assert slow["ci_low"] == pytest.approx(fast["ci_low"], abs=0.01)
    assert slow["ci_high"] == pytest.approx(fast["ci_high"], abs=0.01)
    assert fast["significant"] and fast["ci_low"] > 0
    tie = stats.paired_accuracy_comparison(y, pa, pa, n_boot=100)
    assert tie["p_value"] == 1.0 and not tie["significant"]


def test_paired_seed_test():
    assert stats.paired_seed_test([0.8], [0.7]) is None
    # d = [1, 2, 3]: t = 2 / (1 / sqrt 3), df 2 -> p = 1 - t / sqrt(2 + t^2)
    t = 2 * math.sqrt(3)
    p = stats.paired_seed_test([2, 4, 6], [1, 2, 3])
    assert p == pytest.approx(1 - t / math.sqrt(2 + t * t), rel=1e-6)
    assert stats.paired_seed_test([1, 2], [1, 2]) == 1.0
    with pytest.raises(DataError):
        stats.paired_seed_test([1, 2], [1])


def test_chance_interval_and_consistency():
    low, high = stats.chance_interval_accuracy(30, 3)
    assert low < 1 / 3 < high and 0 <= low and high < 0.6
    assert stats.consistent_with_chance(0.33, 30, 3)
    assert not stats.consistent_with_chance(0.95, 30, 3)
    # a constant majority-class guesser on imbalanced labels is still chance
    counts = [80, 10, 10]
    assert not stats.consistent_with_chance(0.8, 100, 3)
    assert stats.consistent_with_chance(0.8, 100, 3, class_counts=counts)


# ------------------------------------------------------------------------- audit


@pytest.fixture(scope="module")
def audit_setup():
    sv, yv, wv = _higgs_like(150_000, seed=10)
    cut = choose_cut(sv, yv, wv)
    tests = [audit.ScoredPart(name, *_higgs_like(150_000, seed=s)) for name, s in (("public", 11), ("private", 12))]
    return tests, cut


def test_audit_double_luminosity_is_sqrt2(audit_setup):
    tests, cut = audit_setup
    honest = audit.honest(tests, cut)
    mean_honest = np.mean(list(honest.values()))
    doubled = audit.combined_unscaled(tests, cut)
    assert doubled / mean_honest == pytest.approx(math.sqrt(2), rel=0.04)
    assert doubled / audit.combined_rescaled(tests, cut) == pytest.approx(math.sqrt(2), rel=0.02)


def test_audit_max_per_split_and_subsamples(audit_setup):
    tests, cut = audit_setup
    honest = audit.honest(tests, cut)
    best = audit.max_ams_per_split(tests)
    for t in tests:
        assert best[t.name]["ams"] >= honest[t.name]
        assert best[t.name]["ams"] == pytest.approx(ams_at_cut(t.scores, t.y, t.w, best[t.name]["cut"]))
    t = tests[0]
    sub = audit.max_over_subsamples(t.scores, t.y, t.w, cut, n_subsamples=40, fraction=0.1, seed=0)
    assert sub["max"] >= sub["mean"] and sub["std"] > 0
    # rescaled subsamples are unbiased-ish estimates of the full-split AMS
    assert sub["mean"] == pytest.approx(honest[t.name], rel=0.1)
    assert audit.fixed_cut(t.scores, t.y, t.w, 0.5) == pytest.approx(ams_at_cut(t.scores, t.y, t.w, 0.5))


def test_audit_table_rows(audit_setup):
    tests, cut = audit_setup
    rows = audit.audit_table(tests, cut, n_subsamples=10)
    kinds = [r["kind"] for r in rows]
    assert kinds == ["result", "optimistic", "inflated", "chance", "chance", "reference"]
    assert all(r["label"] and r["explanation"] for r in rows)
    assert rows[0]["values"]["public"] == pytest.approx(audit.honest(tests, cut)["public"])
    assert rows[2]["values"]["unscaled"] > rows[2]["values"]["rescaled"]


def test_scored_part_from_part():
    from datasets.base import Part

    part = Part("public", np.zeros((3, 1)), np.array([0, 1, 1]), np.ones(3), np.arange(3))
    sp = audit.ScoredPart.from_part(part, np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6]]))
    np.testing.assert_allclose(sp.scores, [0.1, 0.8, 0.6])
    assert audit.honest([sp], 0.5)["public"] == pytest.approx(ams(2.0, 0.0))
    with pytest.raises(DataError):
        audit.ScoredPart.from_part(part, np.array([0.1, 0.2]))


def test_minimum_detectable_difference_is_context_of_every_comparison():
    from scipy.stats import norm

    assert stats.minimum_detectable_difference(1.0) == pytest.approx(norm.ppf(0.975) + norm.ppf(0.8))
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    a = np.where(rng.random(400) < 0.80, y, 1 - y)
    b = np.where(rng.random(400) < 0.79, y, 1 - y)
    out = stats.paired_accuracy_comparison(y, a, b, n_boot=500, seed=1, margin=0.01)
    assert out["mdd"] == pytest.approx(stats.minimum_detectable_difference(out["se"]))
    # 80% vs 79% on 400 events: neither shown different nor within one accuracy point.
    assert out["verdict"] == "inconclusive" and not out["significant"] and "below_resolution" not in out
    # Twice the events: the MDD improves by about sqrt(2).
    y2, a2, b2 = (np.concatenate([v, v]) for v in (y, a, b))
    out2 = stats.paired_accuracy_comparison(y2, a2, b2, n_boot=500, seed=1, margin=0.01)
    assert out2["mdd"] == pytest.approx(out["mdd"] / np.sqrt(2), rel=0.2)


# Constructed resampled differences: 1000 evenly spread quantiles, so that the intervals are
# known without sampling. np.linspace(-1, 1, 1001) * h + c has its 2.5% / 97.5% quantiles at
# c -/+ 0.95 h and its 5% / 95% quantiles at c -/+ 0.9 h.
def _diffs(centre: float, half_width: float) -> np.ndarray:
    return centre + half_width * np.linspace(-1.0, 1.0, 1001)


def test_verdict_different_when_the_95_interval_excludes_zero():
    out = stats.paired_verdict(_diffs(0.03, 0.02), margin=0.01)  # 95% CI [0.011, 0.049]
    assert out["verdict"] == "different" and not out["equivalent"]
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((0.011, 0.049))


def test_verdict_equivalent_when_the_90_interval_lies_inside_the_margin():
    out = stats.paired_verdict(_diffs(0.002, 0.005), margin=0.01)  # 95% CI [-0.00275, 0.00675] holds 0
    assert out["verdict"] == "equivalent" and out["equivalent"]
    assert (out["tost_low"], out["tost_high"]) == pytest.approx((-0.0025, 0.0065))  # inside ±0.01


def test_verdict_inconclusive_when_neither():
    # 95% CI [-0.0165, 0.0215] holds 0; 90% CI [-0.015, 0.020] pokes out of ±0.01.
    out = stats.paired_verdict(_diffs(0.0025, 0.02), margin=0.01)
    assert out["verdict"] == "inconclusive" and not out["equivalent"]
    # The same differences with a margin of 0.025 are equivalent; without a margin never.
    assert stats.paired_verdict(_diffs(0.0025, 0.02), margin=0.025)["verdict"] == "equivalent"
    assert stats.paired_verdict(_diffs(0.002, 0.005), margin=None)["verdict"] == "inconclusive"


def test_a_real_but_negligible_difference_is_different_and_within_the_margin():
    out = stats.paired_verdict(_diffs(0.004, 0.003), margin=0.01)  # 95% CI [0.00115, 0.00685]
    assert out["verdict"] == "different" and out["equivalent"]


def test_verdict_rejects_a_bad_margin():
    for bad in (0.0, -0.01, float("inf"), float("nan")):
        with pytest.raises(ConfigError, match="margin"):
            stats.paired_verdict(_diffs(0.0, 0.01), margin=bad)


def test_paired_summary_keeps_p_value_interval_and_mdd_beside_the_verdict():
    diffs = np.random.default_rng(0).normal(0.7, 0.3, 1000)  # excludes 0 at 95%; mdd = 2.8 * 0.3 = 0.84
    out = stats._paired_summary(0.7, diffs, 0.05, margin=0.05)
    assert out["verdict"] == "different" and out["significant"] and abs(out["diff"]) < out["mdd"]
    assert out["p_value"] < 0.05 and out["margin"] == 0.05
    noisy = stats._paired_summary(0.2, diffs - 0.5, 0.05, margin=0.05)  # centred on 0.2: not significant
    assert noisy["verdict"] == "inconclusive" and not noisy["significant"] and noisy["p_value"] >= 0.05


def test_every_metric_paired_gives_the_verdict_for_its_margin():
    from benchmarks.core.scoring import SplitArrays, get_metric

    # 4000 events; A alone right on 10 of them, B alone right on 10 others: difference 0,
    # standard error about sqrt(20) / 4000 = 0.0011, so the 90% interval is about ±0.0018.
    n = 4000
    y = np.zeros(n, dtype=int)
    a, b = y.copy(), y.copy()
    a[:10], b[10:20] = 1, 1  # each wrong (says 1 for a 0) where the other is right

    def arrays(labels):
        return SplitArrays(y, np.stack([1.0 - labels, labels], axis=1), np.ones(n))

    assert (a == y).sum() == (b == y).sum() == n - 10
    out = get_metric("accuracy").paired(arrays(a), {}, arrays(b), {}, 1000, 0)
    assert out["diff"] == 0 and out["margin"] == 0.01 and out["verdict"] == "equivalent"
    tight = get_metric("accuracy", margin=0.001).paired(arrays(a), {}, arrays(b), {}, 1000, 0)
    assert tight["verdict"] == "inconclusive"
    b[20:220] = 1  # B wrong on 200 more events: A is better
    assert get_metric("accuracy").paired(arrays(a), {}, arrays(b), {}, 1000, 0)["verdict"] == "different"


def test_corrected_resampled_ttest_by_hand():
    """Five folds (n_test / n_train = 1/4) of A against B.

    d = a - b = (0.02, 0.03, 0.01, 0.04, 0.01); mean 0.11 / 5 = 0.022; deviations (-0.002, 0.008,
    -0.012, 0.018, -0.012), squares summing to 680e-6, var(d, ddof=1) = 680e-6 / 4 = 170e-6.
    t = 0.022 / sqrt((1/5 + 1/4) x 170e-6) = 0.022 / sqrt(76.5e-6) = 0.022 / 0.0087464 = 2.51531,
    df = 4. Student's t with 4 degrees of freedom has the CDF 1/2 + (3/8) x u (1 - x^2 / 12 / (1 + x^2/4))
    with u = x / sqrt(1 + x^2/4): u = 2.51531 / 1.60677 = 1.56545, 1 - 6.32680 / 12 / 2.58170 = 0.79578,
    F = 0.5 + 0.375 x 1.56545 x 0.79578 = 0.96716, p = 2 (1 - F) = 0.06568 (below, the same closed form
    unrounded). The plain paired t-test divides by sqrt(170e-6 / 5) instead: t = 3.773, p = 0.0196.
    """
    a = [0.80, 0.82, 0.78, 0.84, 0.81]
    b = [0.78, 0.79, 0.77, 0.80, 0.80]
    out = stats.corrected_resampled_ttest(a, b, 0.25)
    t = 0.022 / math.sqrt((1 / 5 + 1 / 4) * 170e-6)
    u = t / math.sqrt(1 + t * t / 4)
    p = 2 * (1 - (0.5 + 0.375 * u * (1 - t * t / 12 / (1 + t * t / 4))))
    assert out["t"] == pytest.approx(t, rel=1e-9) and out["t"] == pytest.approx(2.51531, abs=1e-5)
    assert out["df"] == 4 and out["p_value"] == pytest.approx(p, rel=1e-9) and p == pytest.approx(0.06568, abs=1e-5)
    plain = stats.paired_seed_test(a, b)
    assert plain == pytest.approx(0.0196, abs=1e-4) and out["p_value"] > plain


def test_corrected_resampled_ttest_edges():
    assert stats.corrected_resampled_ttest([0.5], [0.4], 0.25) is None
    assert stats.corrected_resampled_ttest([0.5, 0.6], [0.5, 0.6], 0.25)["p_value"] == 1.0
    assert stats.corrected_resampled_ttest([0.6, 0.7], [0.5, 0.6], 0.25)["p_value"] == 0.0
    with pytest.raises(ConfigError):
        stats.corrected_resampled_ttest([0.5, 0.6], [0.4, 0.6], 0.0)
    with pytest.raises(DataError):
        stats.corrected_resampled_ttest([0.5, 0.6], [0.4], 0.25)


def test_selection_counts_at_a_cut():
    from benchmarks.core.metrics import higgs_metrics, selection_counts

    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    y = np.array([1, 0, 1, 0, 1])
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert selection_counts(scores, y, w, 0.5) == {"n_sig": 2, "n_bkg": 1, "w_sig": 4.0, "w_bkg": 2.0}
    part = type("P", (), {"name": "public", "y": y, "weights": w})()
    out = higgs_metrics(scores, part, [(part, scores)])
    assert out["n_bkg_public"] == int(((scores >= out["cut"]) & (y == 0)).sum())
    assert out["w_sig_val"] == float(w[(scores >= out["cut"]) & (y == 1)].sum())
