"""Event weights: per-split renormalisation to the full luminosity, and class balancing for training."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from .errors import DataError


def renormalise(y: np.ndarray, w: np.ndarray, totals: Mapping[int, float]) -> np.ndarray:
    """Rescale each class's weights so they sum to ``totals[class]``.

    A subset of HiggsML events carries only part of the luminosity; AMS is only
    comparable across splits once each class's weight sum is brought back to the
    full-data total.
    """
    out = np.asarray(w, dtype=np.float64).copy()
    for cls, total in totals.items():
        mask = y == cls
        s = out[mask].sum()
        if mask.any() and s <= 0:
            raise DataError(f"class {cls} has zero total weight in a split; cannot renormalise")
        if mask.any():
            out[mask] *= total / s
    return out


def balance_classes(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Event weights rescaled so every class present carries the same total, n / n_classes.

    HiggsML signal weights are ~1000x lighter than background ones: a model (or a feature
    ranking) trained on the raw weights learns to call everything background. Balancing
    keeps the shape of the weights within each class and gives the classes equal say.
    """
    y = np.asarray(y)
    w = np.asarray(w, dtype=np.float64)
    classes, inverse = np.unique(y, return_inverse=True)
    sums = np.bincount(inverse, weights=w, minlength=len(classes))
    if (sums <= 0).any():
        raise DataError("a class has zero total weight; cannot balance the classes")
    return w * ((len(y) / len(classes)) / sums)[inverse]


def missing_mask(X: np.ndarray, missing_value: float | None) -> np.ndarray:
    """True where a value is missing: NaN, or equal to the dataset's sentinel (HiggsML's -999.0)."""
    mask = np.isnan(X)
    if missing_value is not None:
        mask |= X == missing_value
    return mask
