"""The objects that flow through the pipeline: a validated Dataset, and the Splits made from it."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from benchmarks.core.errors import DataError, excerpt, excerpts
from benchmarks.core.limits import MAX_ABS_VALUE
from benchmarks.core.scoring import get_metric

from .policies import HeldOutTest


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated table: features, integer labels, optional event weights.

    `groups` carries a predefined split membership (HiggsML's KaggleSet letters) and
    `weight_totals` the per-class weight sums each split is rescaled to (HiggsML's full-data
    totals); both are None for ordinary tables. `metric` names a registered metric
    (``benchmarks.core.scoring``); `split_policy` assigns events to train, validation and
    test parts (``datasets.policies``).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    weights: np.ndarray | None = None
    ids: np.ndarray | None = None
    groups: np.ndarray | None = None
    weight_totals: Mapping[int, float] | None = None
    metric: str = "accuracy"
    source: str = ""
    synthetic: bool = False
    missing_value: float | None = None
    notes: tuple[str, ...] = ()
    split_policy: Any = field(default_factory=HeldOutTest)
    categorical: tuple[str, ...] = ()  # columns that name categories (HiggsML: PRI_jet_num), not amounts
    symmetries: Any = None  # transforms leaving the physics unchanged (datasets.symmetries), or None
    metric_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. AMS's min_background

    def __post_init__(self) -> None:
        X, y = self.X, self.y
        if X.ndim != 2:
            raise DataError(f"{self.name}: features must be a 2-D table, got shape {X.shape}")
        n = X.shape[0]
        if n == 0:
            raise DataError(f"{self.name}: the table has no rows")
        if y.shape != (n,):
            raise DataError(f"{self.name}: {y.shape[0]} labels for {n} rows")
        if len(self.feature_names) != X.shape[1]:
            raise DataError(f"{self.name}: {len(self.feature_names)} names for {X.shape[1]} features")
        if len(set(self.feature_names)) != len(self.feature_names):  # a model or a report would take one for the other
            twice = [f for f in dict.fromkeys(self.feature_names) if self.feature_names.count(f) > 1]
            raise DataError(f"{self.name}: feature name(s) {excerpts(twice, quote=True)} used more than once")
        if not np.issubdtype(X.dtype, np.floating):
            raise DataError(f"{self.name}: features must be numeric floats, got {X.dtype}")
        bad = ~np.isfinite(X)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(
                f"{self.name}: {int(bad.sum())} NaN/inf feature values "
                f"(first in column {excerpt(self.feature_names[col])}, row {row})"
            )
        huge = np.abs(X) > MAX_ABS_VALUE
        if huge.any():
            row, col = np.argwhere(huge)[0]
            raise DataError(f"{self.name}: {int(huge.sum())} feature values beyond ±{MAX_ABS_VALUE:g} (first in column "
                            f"{excerpt(self.feature_names[col])}, row {row}); rescale them so sums and squares stay finite")
        if y.min() < 0 or y.max() >= len(self.class_names):
            raise DataError(f"{self.name}: labels outside 0..{len(self.class_names) - 1}")
        if self.weights is not None:
            w = self.weights
            if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or (w > MAX_ABS_VALUE).any():
                raise DataError(f"{self.name}: weights must be {n} finite non-negative numbers below {MAX_ABS_VALUE:g}")
            # Training balances the classes by their weight totals and scoring divides by them:
            # a class that weighs nothing would make every fit fail, not this load.
            counts = np.bincount(y, minlength=len(self.class_names))
            totals = np.bincount(y, weights=w, minlength=len(self.class_names))
            weightless = [c for c in range(len(self.class_names)) if counts[c] and totals[c] <= 0]
            if weightless:
                names = excerpts([self.class_names[c] for c in weightless], quote=True)
                raise DataError(f"{self.name}: the weights of class {names} sum to zero; every class needs some "
                                "positive weight")
        self.scorer.check_task(self.name, len(self.class_names), self.weights is not None)
        unknown = [c for c in self.categorical if c not in self.feature_names]
        if unknown:
            raise DataError(f"{self.name}: categorical column(s) {excerpts(unknown, quote=True)} are not features")

    @property
    def scorer(self):
        """The dataset's metric object, with its options."""
        return get_metric(self.metric, **self.metric_options)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def fingerprint(self) -> str:
        """A hash of everything a fit can see: a resumed run must find the same data."""
        h = hashlib.sha256()
        for a in (self.X, self.y, self.weights, self.ids, self.groups):
            if a is not None:
                h.update(str(a.dtype).encode() + repr(a.shape).encode())
                h.update(np.ascontiguousarray(a).tobytes())
        h.update(repr((self.feature_names, self.class_names, self.metric, sorted(self.metric_options.items()),
                       self.missing_value, self.categorical,
                       sorted((self.weight_totals or {}).items()), self.split_policy)).encode())
        return h.hexdigest()[:16]

    @property
    def n_events(self) -> int:
        return self.X.shape[0]

    @property
    def task(self) -> str:
        return "binary" if self.n_classes == 2 else "multiclass"


@dataclass(frozen=True, eq=False)
class Part:
    """One split of a dataset: features, labels, weights (renormalised for this split), ids."""

    name: str
    X: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    ids: np.ndarray

    def __len__(self) -> int:
        return self.X.shape[0]

    def with_X(self, X: np.ndarray) -> "Part":
        return Part(self.name, X, self.y, self.weights, self.ids)


@dataclass(frozen=True, eq=False)
class Splits:
    """Train, validation and one or more test parts (HiggsML: public and private)."""

    seed: int
    train: Part
    val: Part
    tests: tuple[Part, ...]
    feature_names: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())
    # False for tables without event weights: their parts carry ones, and models should
    # train unweighted (no class rebalancing) since they are scored by plain accuracy.
    weighted: bool = True
    # The value that marks a missing entry in X (besides NaN), e.g. HiggsML's -999.0; None
    # once preprocessing imputed or replaced it. Encoders draw such entries as missing.
    missing_value: float | None = None
    categorical: tuple[str, ...] = ()  # the categorical features among feature_names
    # The dataset's symmetries as transforms of these features (datasets.symmetries), or None.
    augmentation: Any = None

    def fit_weights(self, part: Part) -> np.ndarray | None:
        return part.weights if self.weighted else None

    def test(self, name: str) -> Part:
        for part in self.tests:
            if part.name == name:
                return part
        raise KeyError(name)

    @property
    def parts(self) -> tuple[Part, ...]:
        return (self.train, self.val, *self.tests)

    def keep_features(self, names: Sequence[str]) -> "Splits":
        """Only the features `names`, in that order, in every part (a feature selection)."""
        unknown = [n for n in names if n not in self.feature_names]
        if unknown or not names:
            raise DataError(f"cannot keep features {', '.join(map(repr, unknown)) or '(none)'}: not among the splits'")
        idx = [self.feature_names.index(n) for n in names]
        out = self.map_X(lambda X: X[:, idx])
        aug = None if self.augmentation is None else self.augmentation.restrict(idx)
        return Splits(out.seed, out.train, out.val, out.tests, tuple(names), out.notes, out.weighted,
                      out.missing_value, tuple(c for c in self.categorical if c in names), aug)

    def map_X(self, fn) -> "Splits":
        """Apply a feature transform (fitted elsewhere) to every part."""
        return Splits(
            self.seed,
            self.train.with_X(fn(self.train.X)),
            self.val.with_X(fn(self.val.X)),
            tuple(p.with_X(fn(p.X)) for p in self.tests),
            self.feature_names,
            self.notes,
            self.weighted,
            self.missing_value,
            self.categorical,
            self.augmentation,
        )
