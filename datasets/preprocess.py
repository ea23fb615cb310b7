"""Preprocessing options, each a flag; anything with state is fitted on the training split only."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from benchmarks.core.errors import ConfigError
from benchmarks.core.weights import missing_mask

from . import physics as phys
from .base import Splits

MISSING_MODES = ("keep", "nan", "impute")


@dataclass(frozen=True)
class PreprocessConfig:
    """``missing``: what to do with the -999 sentinel (keep it, turn it into NaN, or impute the
    training median); ``orientation``: HiggsML event-orientation fix; ``cartesian``: HiggsML
    3-momenta to (px, py, pz); ``standardise``: per-feature mean/std from the training split."""

    missing: str = "keep"
    orientation: bool = False
    cartesian: bool = False
    standardise: bool = False

    def __post_init__(self) -> None:
        for flag in ("orientation", "cartesian", "standardise"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"preprocess.{flag} must be true or false, got {getattr(self, flag)!r}")
        if self.missing not in MISSING_MODES:
            raise ConfigError(f"preprocess.missing must be one of {', '.join(MISSING_MODES)}, got {self.missing!r}")

    @classmethod
    def from_dict(cls, d: dict | None) -> "PreprocessConfig":
        d = dict(d or {})
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"unknown preprocess option(s): {', '.join(sorted(unknown))}")
        return cls(**d)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, eq=False)
class Preprocessor:
    """Fitted state: the event-wise transforms to apply and the train-split statistics."""

    config: PreprocessConfig
    missing_value: float | None
    feature_names: tuple[str, ...]
    medians: np.ndarray | None = None
    means: np.ndarray | None = None
    stds: np.ndarray | None = None
    physics: tuple = field(default=())
    keep: np.ndarray | None = None

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64, copy=True)
        names = self.feature_names
        for fn in self.physics:
            X, names = fn(X, names)
        if self.keep is not None:
            X = X[:, self.keep]
        miss = missing_mask(X, self.missing_value)
        if self.config.missing == "impute":
            X = np.where(miss, self.medians, X)
            miss = np.zeros_like(miss)
        if self.stds is not None:
            X = np.where(miss, X, (X - self.means) / self.stds)
        if self.config.missing == "nan":
            X[miss] = np.nan
        return X


def fit_preprocessor(config: PreprocessConfig, X_train: np.ndarray, feature_names: tuple[str, ...],
                     missing_value: float | None) -> tuple[Preprocessor, tuple[str, ...]]:
    """Fit on the training features only; returns the preprocessor and the output names."""
    physics = []
    names = tuple(feature_names)
    X = np.asarray(X_train, dtype=np.float64)
    if config.orientation or config.cartesian:
        if config.orientation:
            physics.append(phys.fix_orientation)
        if config.cartesian:
            physics.append(phys.to_cartesian)
        for fn in physics:
            X, names = fn(X, names)
    keep = None
    if physics:
        # The orientation fix makes PRI_lep_phi identically 0 (and Cartesian PRI_lep_py):
        # features constant on the training split carry nothing and would waste image cells.
        varying = np.ptp(X, axis=0) > 0
        if not varying.all():
            keep = np.flatnonzero(varying)
            X, names = X[:, keep], tuple(n for n, v in zip(names, varying) if v)
    miss = missing_mask(X, missing_value)
    masked = np.ma.masked_array(X, mask=miss)
    medians = means = stds = None
    if config.missing == "impute":
        medians = np.ma.median(masked, axis=0).filled(0.0)
        X = np.where(miss, medians, X)
        masked = np.ma.masked_array(X, mask=np.zeros_like(miss))
    if config.standardise:
        means = masked.mean(axis=0).filled(0.0)
        stds = masked.std(axis=0).filled(1.0)
        stds = np.where(stds > 0, stds, 1.0)
    pre = Preprocessor(config, missing_value, tuple(feature_names), medians, means, stds, tuple(physics), keep)
    return pre, names


def preprocess_splits(config: PreprocessConfig, splits: Splits) -> Splits:
    """Fit on ``splits.train`` and apply the same transform to every part.

    The marker of missing entries survives only ``missing="keep"``: imputed entries are no
    longer missing, and ``missing="nan"`` turns them into NaN.
    """
    pre, names = fit_preprocessor(config, splits.train.X, splits.feature_names, splits.missing_value)
    out = splits.map_X(pre.transform)
    marker = splits.missing_value if config.missing == "keep" else None
    categorical = tuple(c for c in splits.categorical if c in names)  # a dropped column drops out
    return Splits(out.seed, out.train, out.val, out.tests, names, out.notes, out.weighted, marker, categorical,
                  _augmentation(config, splits, pre, names, marker))


def _augmentation(config: PreprocessConfig, splits: Splits, pre: Preprocessor, names, marker):
    """The data's symmetries as transforms of the preprocessed features, where they survive.

    The orientation fix uses the symmetries up (every event already turned one way), and
    imputed missing entries could no longer be told apart from measured ones: in either
    case there is no augmentation.
    """
    symmetries = getattr(splits.augmentation, "symmetries", None)
    if symmetries is None or config.orientation:
        return None
    if config.missing == "impute" and splits.missing_value is not None:
        return None
    return symmetries.in_feature_space(names, pre.means, pre.stds, marker)
