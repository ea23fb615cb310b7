"""Metrics, all pure functions: AMS (HiggsML), weighted AUC, accuracy.

AMS conventions (HiggsML challenge): signal is class 1, background everything else;
``s`` and ``b`` are the sums of event weights of true signal and true background among
the *selected* events (score >= cut), weights renormalised to the full luminosity of
the split; ``b_reg = 10`` is the challenge's regularisation term.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .errors import ConfigError, DataError

B_REG = 10.0


# --------------------------------------------------------------------------- AMS core


def ams(s, b, b_reg: float = B_REG):
    """Approximate Median Significance sqrt(2((s+b+b_r) ln(1 + s/(b+b_r)) - s)).

    Scalars give a float; arrays are broadcast and give an array.
    """
    if b_reg < 0:
        raise ConfigError(f"b_reg must be >= 0, got {b_reg}")
    s_arr = np.asarray(s, dtype=np.float64)
    br = np.asarray(b, dtype=np.float64) + b_reg  # always a fresh array: safe to overwrite
    scalar = s_arr.ndim == 0 and br.ndim == 0
    shape = np.broadcast_shapes(s_arr.shape, br.shape, (1,))
    if br.shape != shape:
        br = np.array(np.broadcast_to(br, shape))
    out = _ams_inplace(s_arr, br)
    return float(out[0]) if scalar else out


def _ams_inplace(s: np.ndarray, br: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """AMS from s and br = b + b_reg (float64); overwrites `br` with the result and returns it.

    In-place steps because on millions of cuts fresh temporaries (page faults) cost more
    than the maths; `scratch` (same size as br) avoids the one remaining allocation.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.divide(s, br, out=scratch)
        np.log1p(ratio, out=ratio)  # log1p keeps precision for s << b
        br += s
        br *= ratio
        br -= s
        br *= 2.0
    # Rounding can leave a tiny negative radicand when s is negligible.
    np.maximum(br, 0.0, out=br)
    np.sqrt(br, out=br)
    return br


def _as_arrays(scores, y, w) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and flatten (scores, y, w); scores keep a float dtype (float32 sorts faster)."""
    scores = signal_scores(scores)
    y = np.asarray(y).ravel()
    w = np.asarray(w, dtype=np.float64).ravel()
    n = scores.shape[0]
    if y.shape[0] != n or w.shape[0] != n:
        raise DataError(f"AMS needs equal lengths: {n} scores, {y.shape[0]} labels, {w.shape[0]} weights")
    if n == 0:
        raise DataError("AMS needs at least one event")
    if not np.isfinite(scores).all():
        raise DataError(f"{int((~np.isfinite(scores)).sum())} scores are NaN or infinite")
    return scores, y, w


def signal_scores(proba) -> np.ndarray:
    """Signal-class scores from a 1-D score vector or an (n, 2) probability table."""
    p = np.asarray(proba)
    if p.ndim == 2:
        if p.shape[1] != 2:
            raise DataError(f"AMS needs binary scores; got a table with {p.shape[1]} columns")
        p = p[:, 1]
    elif p.ndim != 1:
        raise DataError(f"scores must be 1-D (or an (n, 2) probability table), got shape {p.shape}")
    if not np.issubdtype(p.dtype, np.floating):
        p = p.astype(np.float64)
    return p


def ams_scan(scores, y, w, b_reg: float = B_REG) -> tuple[np.ndarray, np.ndarray]:
    """AMS for every cut "select events with score >= cut", in O(n log n).

    Returns ``(cuts, ams_values)``: one entry per distinct score, cuts in ascending
    order. A cut can only fall between distinct scores, so each tie group is evaluated
    once, with the whole group selected.
    """
    if b_reg < 0:
        raise ConfigError(f"b_reg must be >= 0, got {b_reg}")
    return _scan(*_as_arrays(scores, y, w), b_reg)


def _scan(scores: np.ndarray, y: np.ndarray, w: np.ndarray, b_reg: float) -> tuple[np.ndarray, np.ndarray]:
    # One ascending argsort. The weight selected by "score >= asc[i]" is a suffix sum,
    # accumulated in place on a reversed view; a tie group is evaluated at its first
    # (ascending) index, so the whole group is selected. np.take is several times faster
    # than fancy indexing, and reused buffers avoid page-faulting fresh 80 MB temporaries.
    n = scores.shape[0]
    order = np.argsort(scores)
    asc = np.take(scores, order)
    tot = np.take(w, order)
    # Gather 1-byte signal flags rather than a second float64 array (random gathers dominate).
    sig = np.where(np.take(y == 1, order), tot, 0.0)
    del order
    np.add.accumulate(sig[::-1], out=sig[::-1])
    np.add.accumulate(tot[::-1], out=tot[::-1])
    group_start = np.empty(n, dtype=bool)
    group_start[0] = True
    np.not_equal(asc[1:], asc[:-1], out=group_start[1:])
    starts = np.flatnonzero(group_start)
    del group_start
    s = np.take(sig, starts)
    br = np.take(tot, starts)
    br -= s
    br += b_reg
    values = _ams_inplace(s, br, scratch=sig[: len(starts)])
    return np.take(asc, starts), values


def cut_from_scan(cuts: np.ndarray, values: np.ndarray, top_fraction: float = 0.1) -> float:
    """Mean of the cuts with the top `top_fraction` of AMS values (at least one cut).

    Averaging the best cuts (Strong's HiggsML studies) rather than taking the single
    argmax makes the cut less sensitive to validation fluctuations.
    """
    if not 0 < top_fraction <= 1:
        raise ConfigError(f"top_fraction must be in (0, 1], got {top_fraction}")
    k = max(1, int(math.floor(top_fraction * len(values) + 1e-9)))
    if k >= len(values):
        return float(np.mean(cuts))
    top = np.argpartition(values, len(values) - k)[len(values) - k :]
    return float(np.mean(cuts[top]))


def background_counts(scores, y, cuts: np.ndarray) -> np.ndarray:
    """Raw number of background events (class != 1) with score >= each cut."""
    scores = signal_scores(scores)
    bkg = np.sort(scores[np.asarray(y).ravel() != 1])
    return len(bkg) - np.searchsorted(bkg, cuts, side="left")


def eligible_cuts(scores, y, cuts: np.ndarray, min_background: int) -> np.ndarray:
    """Which cuts keep at least `min_background` raw background events.

    Once a cut keeps (almost) no background, a handful of signal events gives any AMS at
    all: on small validation splits the top of the scan is such spikes, and averaging
    them pulls the chosen cut up. If no cut keeps enough, every cut stays eligible.
    """
    if min_background <= 0:
        return np.ones(len(cuts), dtype=bool)
    ok = background_counts(scores, y, cuts) >= min_background
    return ok if ok.any() else np.ones(len(cuts), dtype=bool)


def choose_cut(scores_val, y_val, w_val, top_fraction: float = 0.1, b_reg: float = B_REG,
               min_background: int = 0) -> float:
    """The AMS cut chosen on the validation split: mean of the cuts giving the top 10% of AMS
    (among the cuts keeping at least `min_background` raw background events)."""
    if b_reg < 0:
        raise ConfigError(f"b_reg must be >= 0, got {b_reg}")
    scores, y, w = _as_arrays(scores_val, y_val, w_val)
    if not np.dot(y == 1, w) > 0:
        raise DataError("the validation split has no signal weight; cannot choose an AMS cut")
    cuts, values = _scan(scores, y, w, b_reg)
    if min_background > 0:
        ok = eligible_cuts(scores, y, cuts, min_background)
        cuts, values = cuts[ok], values[ok]
    return cut_from_scan(cuts, values, top_fraction)


def ams_at_cut(scores, y, w, cut: float, b_reg: float = B_REG) -> float:
    """AMS of the events with score >= cut."""
    scores, y, w = _as_arrays(scores, y, w)
    sel = scores >= cut
    pos = y == 1
    s = float(w[sel & pos].sum())
    b = float(w[sel & ~pos].sum())
    return ams(s, b, b_reg)


def selection_counts(scores, y, w, cut: float) -> dict[str, float]:
    """What the cut selects: raw numbers and weight sums of signal and background events.

    An AMS resting on a handful of background events is a small-number artefact (any
    signal over no background gives a large AMS); these counts let a reader see that.
    """
    scores, y, w = _as_arrays(scores, y, w)
    sel = scores >= cut
    sig = y == 1
    return {"n_sig": int((sel & sig).sum()), "n_bkg": int((sel & ~sig).sum()),
            "w_sig": float(w[sel & sig].sum()), "w_bkg": float(w[sel & ~sig].sum())}


def max_ams(scores, y, w, b_reg: float = B_REG) -> tuple[float, float]:
    """(max AMS, its cut) over all cuts. Optimistic when computed on a test split."""
    cuts, values = ams_scan(scores, y, w, b_reg)
    i = int(np.argmax(values))
    return float(values[i]), float(cuts[i])


# ----------------------------------------------------------------- classification


def to_labels(proba_or_pred) -> np.ndarray:
    """Predicted labels from (n, k) probabilities, 1-D binary scores or 1-D labels.

    1-D input whose values are all whole numbers is taken as labels; other 1-D floats
    as signal probabilities, thresholded at 0.5.
    """
    p = np.asarray(proba_or_pred)
    if p.ndim == 2:
        return np.argmax(p, axis=1)
    if p.ndim != 1:
        raise DataError(f"predictions must be 1-D labels or an (n, k) table, got shape {p.shape}")
    if np.issubdtype(p.dtype, np.integer) or np.issubdtype(p.dtype, np.bool_):
        return p.astype(np.int64)
    if np.all(p == np.round(p)):
        return p.astype(np.int64)
    return (p >= 0.5).astype(np.int64)


def accuracy(y, proba_or_pred, w=None) -> float:
    """(Weighted) fraction of correct predictions."""
    y = np.asarray(y).ravel()
    pred = to_labels(proba_or_pred)
    if pred.shape[0] != y.shape[0]:
        raise DataError(f"{pred.shape[0]} predictions for {y.shape[0]} labels")
    if y.shape[0] == 0:
        raise DataError("accuracy needs at least one event")
    correct = pred == y
    if w is None:
        return float(correct.mean())
    w = np.asarray(w, dtype=np.float64).ravel()
    return float(np.dot(correct, w) / w.sum())


def per_class_accuracy(y, pred, n_classes: int) -> list[float]:
    """Accuracy within each true class (recall); NaN for a class with no events."""
    y = np.asarray(y).ravel().astype(np.int64)
    pred = to_labels(pred)
    if pred.shape[0] != y.shape[0]:
        raise DataError(f"{pred.shape[0]} predictions for {y.shape[0]} labels")
    total = np.bincount(y, minlength=n_classes)[:n_classes]
    hit = np.bincount(y[pred == y], minlength=n_classes)[:n_classes]
    with np.errstate(invalid="ignore", divide="ignore"):
        return [float(v) for v in np.where(total > 0, hit / np.maximum(total, 1), np.nan)]


def weighted_auc(y, scores, w=None) -> float:
    """Event-weighted ROC AUC; NaN when only one class is present.

    The weighted Mann-Whitney statistic: the share of (signal, background) weight pairs in
    which the signal event scores higher, tied scores counting half, which is the area under
    the trapezoidal ROC curve (scikit-learn's ``roc_auc_score`` with sample weights, to
    rounding). One sort and cumulative sums, O(n log n): bootstraps call it a thousand times
    per comparison, where scikit-learn's input checks alone cost milliseconds a call.
    """
    y = np.asarray(y).ravel()
    scores = signal_scores(scores)
    if scores.shape[0] != y.shape[0]:
        raise DataError(f"{scores.shape[0]} scores for {y.shape[0]} labels")
    pos = y == 1
    if pos.all() or not pos.any():
        return float("nan")
    w = np.ones(y.shape[0]) if w is None else np.asarray(w, dtype=np.float64).ravel()
    order = np.argsort(scores, kind="stable")
    s, p, ws = scores[order], pos[order], w[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # first event of each distinct score
    w_pos = np.add.reduceat(np.where(p, ws, 0.0), starts)
    w_neg = np.add.reduceat(np.where(p, 0.0, ws), starts)
    below = np.cumsum(w_neg) - w_neg  # background weight strictly below each distinct score
    total_pos, total_neg = float(w_pos.sum()), float(w_neg.sum())
    if total_pos <= 0 or total_neg <= 0:
        return float("nan")
    return float(np.dot(w_pos, below + 0.5 * w_neg) / (total_pos * total_neg))


# --------------------------------------------------------------- per-run summaries


def _pairs(tests) -> list[tuple[Any, np.ndarray]]:
    if isinstance(tests, Mapping):
        return [(part, signal_scores(p)) for part, p in tests.items()]
    return [(part, signal_scores(p)) for part, p in tests]


def higgs_metrics(proba_val, val, tests: Sequence[tuple[Any, Any]] | Mapping[Any, Any], b_reg: float = B_REG,
                  min_background: int = 0) -> dict[str, float]:
    """AMS metrics of one model on one set of HiggsML splits.

    `val` and the test parts carry ``.y``, ``.weights`` (renormalised to full luminosity)
    and ``.name``; `tests` is a sequence of ``(part, proba)`` pairs (or a mapping
    part -> proba); probabilities are signal scores or (n, 2) tables.

    Keys: ``cut`` (chosen on validation ONLY), ``ams_val``, ``ams_<name>`` (honest AMS
    on each test part at the validation cut), ``auc`` (weighted, concatenated test
    parts), ``auc_<name>``, ``ams_max_<name>`` / ``cut_max_<name>`` (the max AMS over
    cuts tuned on that test part: an optimistic diagnostic, never a result), and what
    the cut selects on validation and each test part: ``n_sig_<part>``, ``n_bkg_<part>``
    (raw events), ``w_sig_<part>``, ``w_bkg_<part>`` (weights).
    """
    pairs = _pairs(tests)
    p_val = signal_scores(proba_val)
    cut = choose_cut(p_val, val.y, val.weights, b_reg=b_reg, min_background=min_background)
    out: dict[str, float] = {"cut": cut, "ams_val": ams_at_cut(p_val, val.y, val.weights, cut, b_reg)}
    for part, p in pairs:
        out[f"ams_{part.name}"] = ams_at_cut(p, part.y, part.weights, cut, b_reg)
    if pairs:
        out["auc"] = weighted_auc(
            np.concatenate([part.y for part, _ in pairs]),
            np.concatenate([p for _, p in pairs]),
            np.concatenate([part.weights for part, _ in pairs]),
        )
    for part, p in pairs:
        out[f"auc_{part.name}"] = weighted_auc(part.y, p, part.weights)
        best, best_cut = max_ams(p, part.y, part.weights, b_reg)
        out[f"ams_max_{part.name}"] = best
        out[f"cut_max_{part.name}"] = best_cut
    for name, p, part in [("val", p_val, val), *((part.name, p, part) for part, p in pairs)]:
        out.update({f"{k}_{name}": v for k, v in selection_counts(p, part.y, part.weights, cut).items()})
    return out


def classification_metrics(proba_test, test_part, n_classes: int) -> dict[str, Any]:
    """Accuracy and per-class accuracy on a test part.

    Accuracy is unweighted (the standard for Iris/Wine-style tables) even when the part
    carries weights.
    """
    pred = to_labels(proba_test)
    return {
        "accuracy": accuracy(test_part.y, pred),
        "per_class_accuracy": per_class_accuracy(test_part.y, pred, n_classes),
        "n_test": int(len(test_part.y)),
    }


__all__: Iterable[str] = [
    "B_REG",
    "ams",
    "ams_scan",
    "cut_from_scan",
    "choose_cut",
    "background_counts",
    "eligible_cuts",
    "ams_at_cut",
    "max_ams",
    "selection_counts",
    "signal_scores",
    "to_labels",
    "accuracy",
    "per_class_accuracy",
    "weighted_auc",
    "higgs_metrics",
    "classification_metrics",
]
