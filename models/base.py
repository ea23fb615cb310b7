"""What every model shares: scikit-learn's estimator contract and one way to check parameters.

Constructor parameters are stored exactly as given, never converted or checked in
``__init__`` (``sklearn.base.clone`` relies on it). ``check_params()`` checks them against
the model's ``RULES`` (and whatever else a model needs): ``fit`` calls it first and
``models.validate_model`` calls it without training. A bad value is one ``ConfigError``
line naming the model, the parameter and the value.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from benchmarks.core.device import resolve_device
from benchmarks.core.errors import ConfigError


@dataclass(frozen=True)
class Rule:
    """What a parameter must be: ``ok(value)``, described by ``what`` in the error."""

    what: str
    ok: Callable[[Any], bool]

    def __or__(self, other: "Rule") -> "Rule":
        return Rule(f"{self.what} or {other.what}", lambda v: self.ok(v) or other.ok(v))


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, (float, np.floating))) and math.isfinite(v)


def _range(low, high, low_open: bool, high_open: bool) -> str:
    if high is None:
        return "" if low is None else f" {'>' if low_open else '>='} {low}"
    if low is None:
        return f" {'<' if high_open else '<='} {high}"
    return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


def _within(v, low, high, low_open: bool, high_open: bool) -> bool:
    above = low is None or (v > low if low_open else v >= low)
    below = high is None or (v < high if high_open else v <= high)
    return above and below


def integer(low: int | None = None, high: int | None = None, note: str = "") -> Rule:
    return Rule(f"an integer{_range(low, high, False, False)}{note}",
                lambda v: _is_int(v) and _within(v, low, high, False, False))


def real(low: float | None = None, high: float | None = None, low_open: bool = False,
         high_open: bool = False) -> Rule:
    return Rule(f"a number{_range(low, high, low_open, high_open)}",
                lambda v: _is_real(v) and _within(v, low, high, low_open, high_open))


def one_of(*choices: Any) -> Rule:
    # Compare types too: True == 1 and 1.0 == 1, but a flag is not a number.
    return Rule(f"one of {', '.join(map(repr, choices))}",
                lambda v: any(type(v) is type(c) and v == c for c in choices))


BOOL = Rule("true or false", lambda v: isinstance(v, (bool, np.bool_)))
NONE = Rule("None", lambda v: v is None)
TEXT = Rule("a string", lambda v: isinstance(v, str))
MAPPING = Rule("a table of options", lambda v: isinstance(v, Mapping))
NAMES = Rule("a list of strings", lambda v: isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v))
SEED = integer() | NONE


def check_rules(model: str, params: Mapping[str, Any], rules: Mapping[str, Rule]) -> None:
    for name, rule in rules.items():
        value = params[name]
        if not rule.ok(value):
            raise ConfigError(f"{model}: {name} must be {rule.what}, got {value!r}")


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


class Estimator(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier (``get_params``/``set_params``/``clone``) with the project's
    parameter checks; subclasses set ``model_name`` and ``RULES`` and implement ``fit`` and
    ``predict_proba``."""

    model_name: ClassVar[str] = "model"
    RULES: ClassVar[Mapping[str, Rule]] = {}

    def check_params(self) -> None:
        """Raise a one-line ConfigError for a bad parameter; trains nothing."""
        check_rules(self.model_name, self.get_params(deep=False), self.RULES)

    def set_params(self, **params: Any) -> "Estimator":
        unknown = sorted(set(params) - set(self.get_params(deep=False)))
        if unknown:
            raise ConfigError(f"{self.model_name}: unknown parameter(s) {', '.join(unknown)}")
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
