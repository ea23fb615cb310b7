"""Permutation importance on the validation split (never a test split), for any model.

A feature's importance is how much the dataset metric's validation objective (validation
AMS at a cut re-chosen on validation, validation accuracy, ...) drops when that feature's
column is shuffled across the validation events, mean ± std over repeats; as in the
feature-selection notebook of Strong's HiggsML study. It serves three things: a run's
report (``run --importance``), the ``importance`` command, and feature selection (a model's
``select = { top = K, by = MODEL }``: it trains on the K most important features only),
where the ranking comes from the search splits that no seed ever tests on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from datasets import Splits

from . import pipeline
from .core import limits
from .suite import ModelSpec

MAX_REPEATS = 100


@dataclass(frozen=True)
class Importance:
    features: tuple[str, ...]
    mean: tuple[float, ...]  # the objective's drop when the feature is shuffled
    std: tuple[float, ...]
    baseline: float  # the objective with no feature shuffled
    repeats: int

    def ranked(self) -> list[str]:
        """Features from the most to the least important (ties keep the table's order)."""
        order = np.argsort(-np.asarray(self.mean), kind="stable")
        return [self.features[i] for i in order]

    def as_dict(self) -> dict:
        return {"features": list(self.features), "mean": list(self.mean), "std": list(self.std),
                "baseline": self.baseline, "repeats": self.repeats}


def permutation_importance(model, splits: Splits, objective: Callable, repeats: int = 5,
                           seed: int = 0) -> Importance:
    """Importance of every feature of a fitted `model` on ``splits.val`` (tests never read).

    `objective(proba_val, val) -> float` is the dataset metric's validation objective.
    """
    limits.integer(repeats, "importance repeats", 1, MAX_REPEATS)
    val = splits.val
    baseline = float(objective(model.predict_proba(val.X), val))
    rng = np.random.default_rng(seed)
    drops = np.empty((len(splits.feature_names), repeats))
    for j in range(len(splits.feature_names)):
        for r in range(repeats):
            X = val.X.copy()
            X[:, j] = X[rng.permutation(len(X)), j]
            drops[j, r] = baseline - float(objective(model.predict_proba(X), val.with_X(X)))
    std = drops.std(axis=1, ddof=1) if repeats > 1 else np.zeros(len(drops))
    return Importance(tuple(splits.feature_names), tuple(drops.mean(axis=1).tolist()), tuple(std.tolist()),
                      baseline, repeats)


def importance_of(ds, spec: ModelSpec, params: dict, splits: Splits, device: str, seed: int,
                  repeats: int = 5) -> Importance:
    """Fit `spec` on the splits' training part, then rank its features on their validation part."""
    model = pipeline.build_model(spec, params, seed, device, splits)
    pipeline.fit(model, splits)
    return permutation_importance(model, splits, ds.scorer.objective, repeats, seed)


def selected_features(ds, dspec, spec: ModelSpec, seed: int, device: str) -> tuple[list[str], Importance]:
    """The `top` features a model's ``select`` asks for, ranked by the ``by`` model on the
    search splits (which no seed ever uses as test events), with the ranking itself."""
    select = spec.select or {}
    by = ModelSpec(str(select.get("by", "random-forest")), str(select.get("by", "random-forest")))
    # The suite keeps a search pool whenever a model selects features (benchmarks.suite).
    search = pipeline.SeedSplits(ds, dspec, seed, search="once").for_model(spec)
    ranking = importance_of(ds, by, {}, search, device, seed, int(select.get("repeats", 3)))
    top = limits.integer(select.get("top"), f"model {spec.label!r}: select.top", 1, len(search.feature_names))
    return ranking.ranked()[:top], ranking
