"""The curves a report draws, computed from stored predictions: weighted ROC per model on the
visible test parts, and the metric against the cut on validation. Plain arrays; drawing them
is ``plots``' job."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from sklearn.metrics import auc as area_under, roc_curve

from benchmarks.core import metrics
from benchmarks.core.scoring import Metric
from benchmarks.run_record import Record
from benchmarks.store import StoredRun


@dataclass(frozen=True, eq=False)
class RocCurves:
    """Per model, (fpr, tpr, auc) on the visible test parts concatenated."""

    tests: tuple[str, ...]
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]]
    skipped: tuple[str, ...]  # models without readable predictions or with one class only
    multiclass: bool


@dataclass(frozen=True, eq=False)
class CutCurve:
    """The metric at each cut on the validation split, the record's chosen cut and its figure."""

    cuts: np.ndarray
    values: np.ndarray
    cut: float
    at_cut: float
    reliable: np.ndarray  # False where a cut keeps too few events for the figure to mean anything


def roc_curve_data(y: np.ndarray, proba: np.ndarray, w: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted ROC (fpr, tpr, auc): signal (class 1) vs rest when binary, else the
    one-vs-rest micro-average over classes."""
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    if proba.ndim == 2 and proba.shape[1] > 2:
        k = proba.shape[1]
        truth = (y[:, None] == np.arange(k)[None, :]).ravel()
        scores = proba.ravel()
        weights = None if w is None else np.repeat(np.asarray(w, dtype=np.float64), k)
    else:
        truth = y == 1
        scores = metrics.signal_scores(proba)
        weights = None if w is None else np.asarray(w, dtype=np.float64)
    fpr, tpr, _ = roc_curve(truth, scores, sample_weight=weights)
    return fpr, tpr, float(area_under(fpr, tpr))


def roc_curves(run: StoredRun, first_seed: Mapping[str, Record], tests: Sequence[str]) -> RocCurves:
    """Each model's first-seed ROC on the named test parts (never a private one while blind)."""
    multiclass = False
    curves: dict[str, tuple] = {}
    skipped: list[str] = []
    for label, rec in first_seed.items():
        arrays = run.splits(rec) if tests else None
        y = None if arrays is None else np.concatenate([arrays[t].y for t in tests])
        if y is None or len(np.unique(y)) < 2:
            skipped.append(label)
            continue
        proba = np.concatenate([arrays[t].proba for t in tests])
        curves[label] = roc_curve_data(y, proba, np.concatenate([arrays[t].w for t in tests]))
        multiclass = multiclass or (proba.ndim == 2 and proba.shape[1] > 2)
    return RocCurves(tuple(tests), curves, tuple(skipped), multiclass)


def cut_curves(run: StoredRun, first_seed: Mapping[str, Record], metric: Metric) -> dict[str, CutCurve]:
    """Per model, the metric against the cut on validation (metrics that choose a cut there).
    The chosen cut is the record's own (from the float64 scores the run had), not one
    recomputed from the stored float32 predictions."""
    out = {}
    key = metric.threshold_key
    for label, rec in first_seed.items():
        arrays = run.splits(rec)
        curve = None if arrays is None else metric.threshold_curve(arrays["val"])
        if curve is not None:
            cuts, values, cut, reliable = curve
            cut = rec.metrics.get(key, cut) if key else cut
            out[label] = CutCurve(cuts, values, cut, metric.threshold_value(arrays["val"], cut), reliable)
    return out
