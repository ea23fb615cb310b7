"""What every model shares: scikit-learn's estimator contract and one way to declare parameters.

A model declares each parameter once, in ``PARAMS`` (``benchmarks.core.params``: default,
rule, one-line doc); the ``__init__`` is generated from it and stores every parameter
exactly as given, never converted or checked (``sklearn.base.clone`` relies on it).
``check_params()`` checks them against their rules (and whatever else a model adds in a
small override): every ``fit`` a model defines is wrapped so that it runs first (a model
cannot forget), and ``models.validate_model`` calls it without training. A bad value is one
``ConfigError`` line naming the model, the parameter and the value.

What the harness reads of a fitted model comes from ``fit_facts()`` (``FitFacts``).
"""
from __future__ import annotations

import functools
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from benchmarks.core.device import resolve_device
from benchmarks.core.errors import ConfigError
from benchmarks.core.params import (  # noqa: F401  (the rules, re-exported for the model modules)
    ANY, BOOL, MAPPING, MAX_BATCH, MAX_CLASSES, MAX_EPOCHS, MAX_LAYERS, MAX_MEMBERS, MAX_ROUNDS, MAX_ROWS,
    MAX_THREADS, MAX_WIDTH, NAMES, NONE, SEED, TEXT, THREADS, Declared, Param, Rule, integer, one_of, real,
)


def check_device(model: str, device: Any) -> str:
    try:
        return resolve_device(device)
    except ConfigError as exc:
        raise ConfigError(f"{model}: {exc}") from None


def count_classes(model: str, n_classes: int | None, y: np.ndarray, y_val: np.ndarray | None = None) -> int:
    """``n_classes`` if given, else one more than the largest label (training or validation)."""
    top = max(int(y.max()), int(y_val.max()) if y_val is not None else 0)
    if n_classes is None:
        return top + 1
    if n_classes <= top:
        raise ConfigError(f"{model}: n_classes={n_classes!r}, but the labels go up to {top}")
    return int(n_classes)


def categorical_columns(model: str, feature_names, categorical_features, n_features: int | None = None) -> list[int]:
    """The column indices of ``categorical_features`` (names among ``feature_names``), sorted;
    one ConfigError line for a name that is not a feature, a name listed twice, or names that
    do not match a table of ``n_features`` columns."""
    cats = list(categorical_features or [])
    if not cats:
        return []
    if feature_names is None:
        raise ConfigError(f"{model}: categorical_features need feature_names")
    names = list(feature_names)
    missing = [c for c in cats if c not in names]
    if missing:
        raise ConfigError(f"{model}: categorical feature {missing[0]!r} is not in feature_names")
    if len(set(cats)) != len(cats):
        raise ConfigError(f"{model}: categorical_features lists a feature twice")
    if n_features is not None and len(names) != n_features:
        raise ConfigError(f"{model}: {len(names)} feature_names for {n_features} columns")
    return sorted(names.index(c) for c in cats)


@dataclass(frozen=True)
class FitFacts:
    """What the harness records of a fitted model: its ``info`` (what it tells the report),
    the ``device`` it trained on and the image ``encoder`` it fitted, if any."""

    info: dict = field(default_factory=dict)
    device: str = "cpu"
    encoder: Any = None


def fit_facts(model: Any) -> FitFacts:
    """A fitted model's facts; a model outside this package's ``Estimator`` tells none."""
    return model.fit_facts() if isinstance(model, Estimator) else FitFacts()


_IN_FIT: ContextVar[frozenset] = ContextVar("models_in_fit", default=frozenset())


def _validating(fit):
    """``fit`` that checks the parameters first (once, however many ``super().fit`` calls deep)."""

    @functools.wraps(fit)
    def checked_fit(self, *args, **kwargs):
        outer = _IN_FIT.get()
        if id(self) in outer:
            return fit(self, *args, **kwargs)
        self.check_params()
        token = _IN_FIT.set(outer | {id(self)})
        try:
            return fit(self, *args, **kwargs)
        finally:
            _IN_FIT.reset(token)

    checked_fit.__validates__ = True
    return checked_fit


class Estimator(Declared, ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier (``get_params``/``set_params``/``clone``) with the project's
    parameter checks; subclasses set ``model_name`` and ``PARAMS`` and implement ``fit`` and
    ``predict_proba``. ``fit`` sets ``info_`` (and, where it has one, ``device_`` and
    ``encoder_``): ``fit_facts()`` hands them to the harness."""

    model_name: ClassVar[str] = "model"
    # Fitted attributes the harness reads (through fit_facts); None until fit sets them.
    info_: dict | None = None
    device_: str | None = None
    encoder_: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        fit = cls.__dict__.get("fit")
        if fit is not None and not getattr(fit, "__validates__", False):
            cls.fit = _validating(fit)
        super().__init_subclass__(**kwargs)

    @classmethod
    def param_owner(cls) -> str:
        return cls.model_name

    def fit_facts(self) -> FitFacts:
        info = dict(self.info_ or {})
        return FitFacts(info=info, device=self.device_ or info.get("device") or "cpu", encoder=self.encoder_)

    def set_params(self, **params: Any) -> "Estimator":
        unknown = sorted(set(params) - set(self.get_params(deep=False)))
        if unknown:
            raise ConfigError(f"{self.model_name}: unknown parameter(s) {', '.join(unknown)}")
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
