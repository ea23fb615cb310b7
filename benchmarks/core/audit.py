"""The AMS audit shown in reports: the honest figure next to the ways AMS gets inflated.

Every function is pure. Test parts carry signal scores, labels and weights renormalised
to the full luminosity of that split (datasets.splits.renormalise); the cut comes from
the validation split (metrics.choose_cut). Only `honest` is a result; every other row is
labelled for what it is, so a reader can see how far each shortcut moves the number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import ConfigError, DataError
from .metrics import B_REG, ams, ams_at_cut, max_ams, signal_scores
from .stats import ams_inputs, mean_std, rescaled_ams


@dataclass(frozen=True, eq=False)
class ScoredPart:
    """One test split with a model's signal scores."""

    name: str
    scores: np.ndarray
    y: np.ndarray
    w: np.ndarray

    @classmethod
    def from_part(cls, part: Any, proba) -> "ScoredPart":
        """From a datasets.base.Part (``.name``, ``.y``, ``.weights``) and its probabilities."""
        scores = signal_scores(proba)
        if scores.shape[0] != len(part.y):
            raise DataError(f"{part.name}: {scores.shape[0]} scores for {len(part.y)} events")
        return cls(part.name, scores, np.asarray(part.y), np.asarray(part.weights, dtype=np.float64))


def honest(tests: Sequence[ScoredPart], cut: float, b_reg: float = B_REG) -> dict[str, float]:
    """AMS of each test split at the validation-chosen cut: the result to quote."""
    return {t.name: ams_at_cut(t.scores, t.y, t.w, cut, b_reg) for t in tests}


def max_ams_per_split(tests: Sequence[ScoredPart], b_reg: float = B_REG) -> dict[str, dict[str, float]]:
    """Max AMS of each test split with the cut tuned on that split: optimistic, not a result."""
    out = {}
    for t in tests:
        value, cut = max_ams(t.scores, t.y, t.w, b_reg)
        out[t.name] = {"ams": value, "cut": cut}
    return out


def _concat(tests: Sequence[ScoredPart]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not tests:
        raise ConfigError("the AMS audit needs at least one test split")
    return (
        np.concatenate([t.scores for t in tests]),
        np.concatenate([t.y for t in tests]),
        np.concatenate([t.w for t in tests]),
    )


def combined_unscaled(tests: Sequence[ScoredPart], cut: float, b_reg: float = B_REG) -> float:
    """AMS on all test splits concatenated WITHOUT rescaling weights, at the validation cut.

    Each split's weights already sum to the full luminosity, so the concatenation counts
    it twice (public + private): s and b double and AMS grows by about sqrt(2). This is
    the inflated figure a naive "score everything" evaluation reports.
    """
    scores, y, w = _concat(tests)
    return ams_at_cut(scores, y, w, cut, b_reg)


def combined_rescaled(tests: Sequence[ScoredPart], cut: float, b_reg: float = B_REG) -> float:
    """AMS on the concatenated test splits with each class's weights brought back to one luminosity.

    The per-class target is the mean of the splits' per-class totals (equal when each
    split was renormalised to the same full-data totals).
    """
    scores, y, w = _concat(tests)
    sig = y == 1
    sel = scores >= cut
    k = len(tests)
    # Rescaling each class by 1/k keeps the mean per-split totals; AMS only sees sums.
    s = float(w[sel & sig].sum()) / k
    b = float(w[sel & ~sig].sum()) / k
    return ams(s, b, b_reg)


def max_over_subsamples(
    scores,
    y,
    w,
    cut: float,
    n_subsamples: int = 100,
    fraction: float = 0.1,
    seed: int = 0,
    b_reg: float = B_REG,
) -> dict[str, float]:
    """AMS at a fixed cut on random subsamples of a test split: max, mean and std.

    Each subsample (``fraction`` of the events, without replacement) has its per-class
    weights rescaled to the split's totals, as a split of that size would be. The max
    shows how far picking a lucky subset can push AMS by chance alone.
    """
    scores, sig, w = ams_inputs(scores, y, w)
    n = scores.shape[0]
    if not 0 < fraction <= 1:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    if n_subsamples < 1:
        raise ConfigError(f"n_subsamples must be >= 1, got {n_subsamples}")
    m = max(1, int(round(fraction * n)))
    cat = 2 * sig.astype(np.intp) + (scores >= cut)  # 0 b-out, 1 b-in, 2 s-out, 3 s-in
    s_target, b_target = float(w[sig].sum()), float(w[~sig].sum())
    rng = np.random.default_rng(seed)
    sums = np.empty((n_subsamples, 4))
    for i in range(n_subsamples):  # loop over subsamples only; each is vectorised
        idx = rng.choice(n, m, replace=False, shuffle=False)
        sums[i] = np.bincount(cat[idx], weights=w[idx], minlength=4)
    values = rescaled_ams(sums[:, 3], sums[:, 2] + sums[:, 3], sums[:, 1], sums[:, 0] + sums[:, 1],
                          s_target, b_target, b_reg)
    mean, std = mean_std(values)
    return {
        "max": float(values.max()),
        "mean": mean,
        "std": std,
        "n_subsamples": int(n_subsamples),
        "fraction": float(fraction),
        "subsample_size": m,
    }


def fixed_cut(scores, y, w, cut: float = 0.5, b_reg: float = B_REG) -> float:
    """AMS at a fixed, untuned cut (0.5 by default): a reference, not tuned on anything."""
    return ams_at_cut(scores, y, w, cut, b_reg)


def _row(kind: str, column: str, label: str, values: dict, cells: dict, explanation: str, **extra) -> dict[str, Any]:
    return {"label": label, "kind": kind, "column": column, "values": values, "cells": cells,
            "explanation": explanation, **extra}


def _chance_row(t: ScoredPart, cut: float, n_subsamples: int, fraction: float, seed: int, b_reg: float) -> dict:
    sub = max_over_subsamples(t.scores, t.y, t.w, cut, n_subsamples, fraction, seed, b_reg)
    return _row("chance", "subsample max (chance)",
                f"Max AMS over {n_subsamples} random {fraction:.0%} subsamples of {t.name} (chance)",
                {"max": sub["max"], "mean": sub["mean"], "std": sub["std"]}, {t.name: sub["max"]},
                f"Validation cut, subsamples of {sub['subsample_size']} events with weights "
                "rescaled per class; the max shows how far picking a lucky subset moves AMS by chance.",
                split=t.name)


def audit_table(
    tests: Sequence[ScoredPart],
    cut: float,
    b_reg: float = B_REG,
    n_subsamples: int = 100,
    fraction: float = 0.1,
    seed: int = 0,
    reference_cut: float = 0.5,
) -> list[dict[str, Any]]:
    """Rows {label, kind, column, values, cells, explanation} for the report's AMS audit.

    ``kind`` is "result" (quote this), "optimistic" (cut tuned on test), "inflated"
    (wrong luminosity), "chance" (subsample fluctuation) or "reference". ``values`` holds
    every figure computed; ``cells`` the ones a table shows, keyed by the column suffix
    (a split name, or unscaled/rescaled), under the short title ``column``. Chance rows,
    one per split, also name their ``split``.
    """
    honest_values = honest(tests, cut, b_reg)
    optimistic = {name: v["ams"] for name, v in max_ams_per_split(tests, b_reg).items()}
    combined = {"unscaled": combined_unscaled(tests, cut, b_reg), "rescaled": combined_rescaled(tests, cut, b_reg)}
    reference = {t.name: fixed_cut(t.scores, t.y, t.w, reference_cut, b_reg) for t in tests}
    n = len(tests)
    return [
        _row("result", "honest", "AMS at validation cut (honest)", {**honest_values, "cut": float(cut)},
             honest_values, "Cut chosen on the validation split only (mean of the top-10% AMS cuts); "
             "each test split's weights renormalised to the full luminosity. This is the result."),
        _row("optimistic", "max over cuts (optimistic)", "Max AMS per test split (optimistic)", optimistic,
             optimistic, "Cut tuned on the test split itself, so it fits that split's noise; "
             "always >= what the cut would give on unseen data. A diagnostic, not a result."),
        # One split has nothing to combine: its figures equal the honest ones, so none is shown.
        _row("inflated", "combined", "Public+private combined, weights not rescaled (inflated)", combined,
             combined if n >= 2 else {}, "Each split's weights already sum to the full luminosity; "
             f"concatenating {n} splits without rescaling counts it {n}x, so AMS grows by about "
             f"sqrt({n}). 'rescaled' is the same events at one luminosity."),
        *(_chance_row(t, cut, n_subsamples, fraction, seed, b_reg) for t in tests),
        _row("reference", "fixed cut", f"AMS at fixed cut {reference_cut:g} (reference)", reference, reference,
             "An untuned cut on the signal probability; shows how much the cut choice matters."),
    ]


__all__ = [
    "ScoredPart",
    "honest",
    "max_ams_per_split",
    "combined_unscaled",
    "combined_rescaled",
    "max_over_subsamples",
    "fixed_cut",
    "audit_table",
]
