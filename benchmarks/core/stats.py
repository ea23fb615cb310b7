"""Uncertainties and comparisons: mean/std over seeds, bootstrap intervals, paired tests.

Bootstraps resample *test events* with replacement, each event keeping its weight. The
AMS and accuracy versions are vectorised: a resample only matters through a handful of
per-category weight sums (signal/background x selected or not, correct or not), which
are computed for many resamples at once with one ``np.bincount``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .errors import ConfigError, DataError
from .metrics import B_REG, ams, signal_scores, to_labels

# Events drawn per bincount batch: large enough to amortise Python overhead, small enough
# that the index/key temporaries stay in a few tens of MB.
_BATCH_DRAWS = 1_000_000


def mean_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0 for one value; NaNs for none)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        return float("nan"), float("nan")
    if v.size == 1:
        return float(v[0]), 0.0
    return float(v.mean()), float(v.std(ddof=1))


def _check(n_boot: int, alpha: float) -> None:
    if int(n_boot) < 1:
        raise ConfigError(f"n_boot must be >= 1, got {n_boot}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")


def _interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def bootstrap_ci(
    metric_fn: Callable[..., float],
    *arrays,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric_fn(*arrays)`` over resampled events.

    Every array is indexed with the same resample, so weights stay with their events.
    Generic (one metric call per resample); prefer the vectorised AMS/accuracy versions.
    """
    _check(n_boot, alpha)
    arrays = tuple(np.asarray(a) for a in arrays)
    if not arrays:
        raise ConfigError("bootstrap_ci needs at least one array")
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays) or n == 0:
        raise DataError(f"bootstrap arrays must be non-empty and equally long, got {[a.shape[0] for a in arrays]}")
    rng = np.random.default_rng(seed)
    stats = np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, n, size=n)
        stats[i] = metric_fn(*(a[idx] for a in arrays))
    return _interval(stats, alpha)


def bootstrap_category_sums(cat, w, n_cat: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """Weight sums per category for `n_boot` resamples (with replacement) of the events.

    Returns an (n_boot, n_cat) array; row r holds, for resample r, the sum of ``w`` over
    the drawn events of each category ``cat`` in 0..n_cat-1. Exact multinomial bootstrap.
    """
    cat = np.asarray(cat, dtype=np.intp).ravel()
    w = np.asarray(w, dtype=np.float64).ravel()
    n = cat.shape[0]
    if n == 0 or w.shape[0] != n:
        raise DataError(f"bootstrap needs equally long non-empty arrays, got {n} and {w.shape[0]}")
    rng = np.random.default_rng(seed)
    out = np.empty((n_boot, n_cat))
    rows = max(1, _BATCH_DRAWS // n)
    offsets = (n_cat * np.arange(rows, dtype=np.intp))[:, None]
    for start in range(0, n_boot, rows):
        r = min(rows, n_boot - start)
        idx = rng.integers(0, n, size=(r, n))
        key = np.take(cat, idx)
        key += offsets[:r]  # one bincount for the whole batch: row r uses bins r*n_cat...
        sums = np.bincount(key.ravel(), weights=np.take(w, idx).ravel(), minlength=r * n_cat)
        out[start : start + r] = sums.reshape(r, n_cat)
    return out


def rescaled_ams(s_sel, s_tot, b_sel, b_tot, s_target: float, b_target: float, b_reg: float):
    """AMS with each class's weights rescaled to the split's original totals.

    A resample changes the per-class weight sums; AMS is only comparable once they are
    brought back to the luminosity the split was normalised to.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(s_tot > 0, s_sel * (s_target / s_tot), 0.0)
        b = np.where(b_tot > 0, b_sel * (b_target / b_tot), 0.0)
    return ams(s, b, b_reg)


def ams_inputs(scores, y, w):
    scores = signal_scores(scores)
    y = np.asarray(y).ravel()
    w = np.asarray(w, dtype=np.float64).ravel()
    if not (scores.shape[0] == y.shape[0] == w.shape[0]) or y.shape[0] == 0:
        raise DataError(f"AMS needs equal non-empty lengths: {scores.shape[0]} scores, {y.shape[0]} labels, {w.shape[0]} weights")
    return scores, (y == 1), w


def bootstrap_ams_ci(
    scores,
    y,
    w,
    cut: float,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    b_reg: float = B_REG,
) -> tuple[float, float]:
    """Bootstrap interval of the AMS at a fixed cut, weights rescaled per class per resample."""
    _check(n_boot, alpha)
    scores, sig, w = ams_inputs(scores, y, w)
    cat = 2 * sig.astype(np.intp) + (scores >= cut)  # 0 b-out, 1 b-in, 2 s-out, 3 s-in
    sums = bootstrap_category_sums(cat, w, 4, n_boot, seed)
    values = rescaled_ams(
        sums[:, 3], sums[:, 2] + sums[:, 3], sums[:, 1], sums[:, 0] + sums[:, 1],
        float(w[sig].sum()), float(w[~sig].sum()), b_reg,
    )
    return _interval(values, alpha)


def bootstrap_accuracy_ci(
    y, pred, w=None, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap interval of the (weighted) accuracy; `pred` may be labels or probabilities."""
    _check(n_boot, alpha)
    y = np.asarray(y).ravel()
    correct = to_labels(pred) == y
    w = np.ones(y.shape[0]) if w is None else np.asarray(w, dtype=np.float64).ravel()
    sums = bootstrap_category_sums(correct, w, 2, n_boot, seed)
    return _interval(sums[:, 1] / sums.sum(axis=1), alpha)


# ----------------------------------------------------------------- paired comparisons


def minimum_detectable_difference(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true difference a two-sided test at `alpha` detects with probability `power`,
    for a difference estimated with standard error `se`: (z_{1-alpha/2} + z_{power}) * se.

    Context for a comparison's design (how large a difference this test data can see); a
    non-significant difference is always below it, so it is no verdict by itself.
    """
    from scipy.stats import norm

    if not 0 < power < 1:
        raise ConfigError(f"power must be in (0, 1), got {power}")
    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * se)


VERDICTS = ("different", "equivalent", "inconclusive")


def paired_verdict(diffs, margin: float | None, alpha: float = 0.05) -> dict:
    """What a paired bootstrap of a difference says, from its resampled differences ``diffs``.

    - ``different``: the (1 - alpha) percentile interval excludes 0;
    - ``equivalent`` (within ±margin): two one-sided tests at level alpha, i.e. the
      (1 - 2 alpha) interval (90% for alpha 0.05) lies strictly inside (-margin, +margin);
    - ``inconclusive``: neither. Not different is not the same as equivalent: the data may
      be too few to tell a difference that matters from none.

    A difference can be both significant and smaller than the margin (a real but negligible
    one, on a large test set): it is reported ``different``, with ``equivalent`` True beside
    it. Without a margin (None) no equivalence is claimed.
    """
    d = np.asarray(diffs, dtype=np.float64).ravel()
    if d.size == 0 or not 0 < alpha < 0.5:
        raise ConfigError(f"a verdict needs resampled differences and alpha in (0, 0.5), got {d.size}, {alpha}")
    if margin is not None and not (np.isfinite(margin) and margin > 0):
        raise ConfigError(f"the equivalence margin must be a positive finite number, got {margin}")
    low, high = _interval(d, alpha)
    tost_low, tost_high = _interval(d, 2 * alpha)
    different = bool(low > 0 or high < 0)
    equivalent = bool(margin is not None and -margin < tost_low and tost_high < margin)
    verdict = "different" if different else "equivalent" if equivalent else "inconclusive"
    return {"verdict": verdict, "ci_low": low, "ci_high": high, "tost_low": tost_low, "tost_high": tost_high,
            "equivalent": equivalent, "margin": None if margin is None else float(margin)}


def _paired_summary(diff: float, diffs: np.ndarray, alpha: float, margin: float | None = None) -> dict:
    """The paired comparison of every metric: the verdict of `paired_verdict` (different,
    equivalent within ±margin, inconclusive), its intervals, a two-sided bootstrap p-value
    and, as context, the minimum detectable difference (``mdd``: 80% power, from the
    bootstrap spread). ``significant`` is the verdict ``different`` (the interval excludes 0).

    p = 2 * min(share of resampled differences <= 0, share >= 0), with the +1 correction
    so that it is never reported as exactly 0; it agrees with the interval up to the
    granularity of the resamples.
    """
    n = diffs.shape[0]
    tail = min(int((diffs <= 0).sum()), int((diffs >= 0).sum()))
    p = min(1.0, (2 * tail + 1) / (n + 1))
    verdict = paired_verdict(diffs, margin, alpha)
    se = float(np.std(diffs, ddof=1)) if n > 1 else float("nan")
    mdd = minimum_detectable_difference(se, alpha) if n > 1 else float("nan")
    return {
        "diff": float(diff),
        **verdict,
        "p_value": p,
        "significant": verdict["verdict"] == "different",
        "alpha": alpha,
        "n_boot": n,
        "se": se,
        "mdd": mdd,
    }


def paired_comparison(
    metric_a: Callable[[np.ndarray], float],
    metric_b: Callable[[np.ndarray], float],
    n_events: int,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    margin: float | None = None,
) -> dict:
    """Paired bootstrap of metric(A) - metric(B) on the same test events.

    ``metric_a(idx)`` / ``metric_b(idx)`` evaluate each model on the events ``idx`` (an
    index array, repeats allowed); both get the same resample. Returns dict(diff, ci_low,
    ci_high, p_value, significant, alpha, n_boot, metric_a,
    metric_b) and the verdict of `paired_verdict` for `margin`. Generic, one call per resample; see
    `paired_ams_comparison` and `paired_accuracy_comparison` for the vectorised cases.
    """
    _check(n_boot, alpha)
    if n_events < 1:
        raise DataError("paired comparison needs at least one event")
    everything = np.arange(n_events)
    value_a, value_b = float(metric_a(everything)), float(metric_b(everything))
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for i in range(n_boot):
        idx = rng.integers(0, n_events, size=n_events)
        diffs[i] = metric_a(idx) - metric_b(idx)
    out = _paired_summary(value_a - value_b, diffs, alpha, margin)
    out.update(metric_a=value_a, metric_b=value_b)
    return out


def paired_ams_comparison(
    scores_a,
    cut_a: float,
    scores_b,
    cut_b: float,
    y,
    w,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
    b_reg: float = B_REG,
    margin: float | None = None,
) -> dict:
    """Paired bootstrap of AMS(A at cut_a) - AMS(B at cut_b) on the same events and weights."""
    _check(n_boot, alpha)
    scores_a, sig, w = ams_inputs(scores_a, y, w)
    scores_b = signal_scores(scores_b)
    if scores_b.shape[0] != scores_a.shape[0]:
        raise DataError(f"models scored different events: {scores_a.shape[0]} vs {scores_b.shape[0]}")
    sel_a, sel_b = scores_a >= cut_a, scores_b >= cut_b
    # 8 categories: 4*signal + 2*selected_by_A + selected_by_B
    cat = 4 * sig.astype(np.intp) + 2 * sel_a + sel_b
    s_target, b_target = float(w[sig].sum()), float(w[~sig].sum())

    def both(sums: np.ndarray):
        s_tot, b_tot = sums[:, 4:].sum(axis=1), sums[:, :4].sum(axis=1)
        ams_a = rescaled_ams(sums[:, 6] + sums[:, 7], s_tot, sums[:, 2] + sums[:, 3], b_tot, s_target, b_target, b_reg)
        ams_b = rescaled_ams(sums[:, 5] + sums[:, 7], s_tot, sums[:, 1] + sums[:, 3], b_tot, s_target, b_target, b_reg)
        return ams_a, ams_b

    observed = np.bincount(cat, weights=w, minlength=8)[None, :]
    obs_a, obs_b = both(observed)
    boot_a, boot_b = both(bootstrap_category_sums(cat, w, 8, n_boot, seed))
    out = _paired_summary(float(obs_a[0] - obs_b[0]), boot_a - boot_b, alpha, margin)
    out.update(metric_a=float(obs_a[0]), metric_b=float(obs_b[0]))
    return out


def paired_accuracy_comparison(
    y, pred_a, pred_b, w=None, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0,
    margin: float | None = None,
) -> dict:
    """Paired bootstrap of accuracy(A) - accuracy(B) on the same test events."""
    _check(n_boot, alpha)
    y = np.asarray(y).ravel()
    ca, cb = to_labels(pred_a) == y, to_labels(pred_b) == y
    w = np.ones(y.shape[0]) if w is None else np.asarray(w, dtype=np.float64).ravel()
    # Only events where exactly one model is right move the difference.
    cat = 2 * ca.astype(np.intp) + cb  # 0 neither, 1 only B, 2 only A, 3 both
    sums = bootstrap_category_sums(cat, w, 4, n_boot, seed)
    diffs = (sums[:, 2] - sums[:, 1]) / sums.sum(axis=1)
    acc_a, acc_b = float(np.dot(ca, w) / w.sum()), float(np.dot(cb, w) / w.sum())
    out = _paired_summary(acc_a - acc_b, diffs, alpha, margin)
    out.update(metric_a=acc_a, metric_b=acc_b)
    return out


def paired_seed_test(values_a: Sequence[float], values_b: Sequence[float]) -> float | None:
    """Two-sided paired t-test p-value of A vs B over seeds (same seed, same splits).

    None with fewer than 2 seeds (or without scipy). Identical per-seed differences give
    1.0 when they are all zero and 0.0 otherwise (a zero-variance t statistic).
    """
    a = np.asarray(values_a, dtype=np.float64).ravel()
    b = np.asarray(values_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise DataError(f"paired seed test needs one value per seed for both: {a.size} vs {b.size}")
    if a.size < 2:
        return None
    d = a - b
    if np.all(d == d[0]):
        return 1.0 if d[0] == 0 else 0.0
    try:
        from scipy.stats import ttest_rel
    except ImportError:  # pragma: no cover - scipy ships with scikit-learn
        return None
    return float(ttest_rel(a, b).pvalue)


def corrected_resampled_ttest(values_a: Sequence[float], values_b: Sequence[float],
                              test_train_ratio: float) -> dict | None:
    """Nadeau and Bengio's (2003) corrected resampled t-test of A vs B over J paired resamples.

    With repeated cross-validation or random splits the resamples' training sets overlap,
    so the per-resample differences d_j are correlated and the plain paired t-test's
    variance var(d)/J is far too small (its p-values too small). The correction:
    t = mean(d) / sqrt((1/J + n_test/n_train) var(d, ddof=1)), on J - 1 degrees of freedom,
    two-sided p. Returns dict(t, df, p_value); None with fewer than 2 resamples. Identical
    differences give p = 1.0 when they are all zero and 0.0 otherwise (as `paired_seed_test`).
    """
    from scipy.stats import t as t_dist

    a = np.asarray(values_a, dtype=np.float64).ravel()
    b = np.asarray(values_b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise DataError(f"the corrected resampled t-test needs one value per resample for both: {a.size} vs {b.size}")
    ratio = float(test_train_ratio)
    if not (np.isfinite(ratio) and ratio > 0):
        raise ConfigError(f"test_train_ratio must be a positive finite number, got {test_train_ratio}")
    j = a.size
    if j < 2:
        return None
    d = a - b
    if np.all(d == d[0]):
        return {"t": 0.0 if d[0] == 0 else float(np.sign(d[0]) * np.inf), "df": j - 1,
                "p_value": 1.0 if d[0] == 0 else 0.0}
    t = float(d.mean() / np.sqrt((1.0 / j + ratio) * d.var(ddof=1)))
    return {"t": t, "df": j - 1, "p_value": float(2 * t_dist.sf(abs(t), j - 1))}


# ------------------------------------------------------------------ chance level


def chance_interval_accuracy(
    n_test: int, n_classes: int, alpha: float = 0.05, class_counts: Sequence[int] | None = None
) -> tuple[float, float]:
    """Central (1 - alpha) binomial interval of test accuracy under label-independent guessing.

    Uniform random guessing is right with probability 1/n_classes. With `class_counts` (the
    test labels' counts) any guess independent of the features is right with a probability
    between the smallest and largest class share (constant majority guess = largest), so
    the interval spans Binomial(n, min share) low to Binomial(n, max share) high.
    """
    if n_test < 1 or n_classes < 2:
        raise ConfigError(f"chance interval needs n_test >= 1 and n_classes >= 2, got {n_test}, {n_classes}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
    from scipy.stats import binom

    if class_counts is None:
        p_lo = p_hi = 1.0 / n_classes
    else:
        shares = np.asarray(class_counts, dtype=np.float64)
        shares = shares / shares.sum()
        p_lo, p_hi = float(shares.min()), float(shares.max())
    low = binom.ppf(alpha / 2, n_test, p_lo) / n_test
    high = binom.ppf(1 - alpha / 2, n_test, p_hi) / n_test
    return float(low), float(high)


def random_selection_ams(y, w, k: int, n_draws: int = 200, seed: int = 0,
                         alpha: float = 0.05) -> tuple[float, float, float]:
    """(mean, low, high) AMS of `k` events picked at random (weights as stored): the chance
    distribution of a selection that knows nothing of the labels."""
    y = np.asarray(y).ravel()
    w = np.asarray(w, dtype=np.float64).ravel()
    if not 0 < k <= len(y):
        raise DataError(f"cannot pick {k} of {len(y)} events")
    rng = np.random.default_rng(seed)
    sig = y == 1
    values = np.empty(n_draws)
    for i in range(n_draws):
        pick = rng.choice(len(y), size=k, replace=False)
        values[i] = ams(w[pick][sig[pick]].sum(), w[pick][~sig[pick]].sum())
    low, high = _interval(values, alpha)
    return float(values.mean()), low, high


def consistent_with_chance(
    accuracy: float,
    n_test: int,
    n_classes: int,
    alpha: float = 0.05,
    class_counts: Sequence[int] | None = None,
) -> bool:
    """True when `accuracy` lies inside the chance interval (shuffled-label control)."""
    low, high = chance_interval_accuracy(n_test, n_classes, alpha, class_counts)
    return bool(low - 1e-12 <= accuracy <= high + 1e-12)


# ------------------------------------------------------------ ranks across datasets
#
# A leaderboard scores k models on N datasets: an (N, k) table, one row per dataset, higher
# is better in every row. These are the usual average-rank statistics (Demšar 2006, JMLR 7:
# "Statistical comparisons of classifiers over multiple data sets"), the normalised score and
# a Bradley-Terry (Elo) rating of the pairwise outcomes (as TabArena and Chatbot Arena do).


def _score_table(scores) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 2 or s.shape[0] < 1 or s.shape[1] < 2:
        raise DataError(f"a leaderboard needs an (N datasets, k >= 2 models) score table, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise DataError("a leaderboard's score table must be finite (leave out datasets a model lacks)")
    return s


def rank_rows(scores) -> np.ndarray:
    """Each model's rank on each dataset: 1 = the highest score; tied models share the
    average of the ranks they span (two models tied for first both get 1.5)."""
    from scipy.stats import rankdata

    s = _score_table(scores)
    return np.vstack([rankdata(-row, method="average") for row in s])


def friedman_test(ranks) -> dict:
    """Friedman's test that all k models rank alike over N datasets (Demšar 2006, sec. 3.2.2).

    chi2_F = 12 N / (k (k+1)) * (sum_j R_j^2 - k (k+1)^2 / 4), with R_j the mean ranks, divided
    by the tie correction 1 - sum(t^3 - t) / (N k (k^2 - 1)) (t: the size of each group of
    tied models in a dataset's row), exactly as ``scipy.stats.friedmanchisquare`` computes it;
    on k-1 degrees of freedom. Ties, common on small tables, enter as average ranks, which
    shrink the ranks' spread; without the correction chi2_F would be too small. Iman and
    Davenport's less conservative F_F = (N-1) chi2_F / (N (k-1) - chi2_F), from the corrected
    chi2_F, on (k-1, (k-1)(N-1)) degrees of freedom. A table whose every row is one tie gives
    chi2_F = 0. Needs N >= 2 and k >= 2.
    """
    from scipy.stats import chi2 as chi2_dist, f as f_dist

    r = np.asarray(ranks, dtype=np.float64)
    if r.ndim != 2 or r.shape[0] < 2 or r.shape[1] < 2:
        raise DataError(f"Friedman's test needs at least 2 datasets and 2 models, got a table of shape {r.shape}")
    n, k = r.shape
    mean_ranks = r.mean(axis=0)
    ties = sum(float(np.sum(counts ** 3 - counts)) for counts in
               (np.unique(row, return_counts=True)[1].astype(np.float64) for row in r))
    correction = 1.0 - ties / (n * k * (k * k - 1.0))
    raw = max(0.0, 12.0 * n / (k * (k + 1)) * (float(np.sum(mean_ranks ** 2)) - k * (k + 1) ** 2 / 4.0))
    chi2 = raw / correction if correction > 1e-12 else 0.0  # every row one tie: nothing to rank
    rest = n * (k - 1) - chi2  # 0 when every dataset ranks the models identically
    ff = (n - 1) * chi2 / rest if rest > 1e-12 else float("inf")
    df2 = (k - 1) * (n - 1)
    return {"n": n, "k": k, "mean_ranks": mean_ranks.tolist(), "chi2": chi2, "df": k - 1,
            "p_chi2": float(chi2_dist.sf(chi2, k - 1)), "ff": ff, "df_ff": (k - 1, df2),
            "p_ff": float(f_dist.sf(ff, k - 1, df2)) if np.isfinite(ff) else 0.0}


def nemenyi_q(k: int, alpha: float = 0.05) -> float:
    """The Nemenyi test's critical value q_alpha for k models: the studentized range
    quantile (infinite degrees of freedom) over sqrt(2) (Demšar's Table 5a: 1.960, 2.343,
    2.569, 2.728 ... for k = 2, 3, 4, 5 ... at alpha 0.05)."""
    from scipy.stats import studentized_range

    if int(k) < 2 or not 0 < alpha < 1:
        raise ConfigError(f"the Nemenyi test needs k >= 2 models and alpha in (0, 1), got k={k}, alpha={alpha}")
    return float(studentized_range.ppf(1 - alpha, int(k), np.inf) / np.sqrt(2.0))


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of mean ranks, q_alpha sqrt(k (k+1) / (6 N)): two models
    whose mean ranks differ by at least this much differ significantly."""
    if int(n) < 1:
        raise ConfigError(f"the critical difference needs N >= 1 datasets, got {n}")
    return nemenyi_q(k, alpha) * float(np.sqrt(k * (k + 1) / (6.0 * n)))


def cd_cliques(mean_ranks, cd: float) -> list[tuple[int, ...]]:
    """The bars of a critical-difference diagram: maximal runs of models (indices, best mean
    rank first) whose mean ranks all lie within less than `cd` of each other, i.e. no two of
    them significantly different. Single models are not listed."""
    r = np.asarray(mean_ranks, dtype=np.float64)
    order = np.argsort(r, kind="stable")
    cliques: list[tuple[int, ...]] = []
    for i in range(len(order)):
        j = i
        while j + 1 < len(order) and r[order[j + 1]] - r[order[i]] < cd:
            j += 1
        if j > i and (not cliques or order[j] not in cliques[-1]):
            cliques.append(tuple(int(m) for m in order[i:j + 1]))
    return cliques


def normalised_scores(scores) -> np.ndarray:
    """Per dataset, (score - worst) / (best - worst): 1 for the best model there, 0 for the
    worst; every model gets 1 on a dataset where all score alike."""
    s = _score_table(scores)
    low, high = s.min(axis=1, keepdims=True), s.max(axis=1, keepdims=True)
    span = high - low
    return np.where(span > 0, (s - low) / np.where(span > 0, span, 1.0), 1.0)


def pairwise_wins(scores) -> np.ndarray:
    """wins[i, j]: over the datasets, how often model i scored above model j (a tie gives
    each half a win). The battles an Elo rating is fitted to."""
    s = _score_table(scores)
    diff = s[:, :, None] - s[:, None, :]
    return (diff > 0).sum(axis=0) + 0.5 * (diff == 0).sum(axis=0) - 0.5 * np.eye(s.shape[1]) * s.shape[0]


def elo_ratings(wins, base: float = 1000.0, prior_draws: float = 1.0, tol: float = 1e-10,
                max_iter: int = 100_000) -> np.ndarray:
    """Elo ratings from pairwise outcomes by Bradley-Terry maximum likelihood.

    ``wins[i, j]``: how often i beat j (ties counted half each way). Fitted with Hunter's
    (2004) MM iteration; ``prior_draws`` virtual draws between every pair keep a model that
    wins every battle at a finite rating (and make the fit unique). On the Elo scale: a
    rating difference D means odds 10^(D/400) that the higher-rated model wins; the mean is
    ``base``. Two models, one winning all of 3 battles: odds (3 + 1/2) / (1/2) = 7, a
    difference of 400 log10(7) = 338.0.
    """
    w = np.asarray(wins, dtype=np.float64)
    k = w.shape[0]
    if w.shape != (k, k) or k < 2 or (w < 0).any() or not np.isfinite(w).all():
        raise DataError(f"Elo ratings need a square non-negative (k >= 2) win table, got shape {w.shape}")
    off = 1.0 - np.eye(k)
    w = (w + 0.5 * prior_draws) * off
    games = w + w.T
    strength = np.ones(k)
    for _ in range(max_iter):
        new = w.sum(axis=1) / np.sum(games / (strength[:, None] + strength[None, :]), axis=1)
        new = new / np.exp(np.mean(np.log(new)))
        done = np.max(np.abs(np.log(new) - np.log(strength))) < tol
        strength = new
        if done:
            break
    elo = 400.0 * np.log10(strength)
    return elo - elo.mean() + base


__all__ = [
    "mean_std",
    "bootstrap_ci",
    "bootstrap_category_sums",
    "bootstrap_ams_ci",
    "bootstrap_accuracy_ci",
    "paired_comparison",
    "paired_ams_comparison",
    "paired_accuracy_comparison",
    "paired_seed_test",
    "paired_verdict",
    "corrected_resampled_ttest",
    "minimum_detectable_difference",
    "chance_interval_accuracy",
    "consistent_with_chance",
    "random_selection_ams",
    "rank_rows",
    "friedman_test",
    "nemenyi_q",
    "critical_difference",
    "cd_cliques",
    "normalised_scores",
    "pairwise_wins",
    "elo_ratings",
]
