"""The Metric base class and its registry.

The base class implements everything from one function, ``value(arrays, state)`` (the
metric on one split's labels, predictions and weights; ``state`` is the record's metrics,
e.g. the AMS cut chosen on validation): generic bootstrap intervals, paired comparisons and
a permutation chance model. Metrics with faster or more exact forms (AMS, accuracy)
override those.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .. import stats
from ..errors import ConfigError, DataError
from ..registry import Registry

PRIVATE = "private"  # the test split hidden in blind mode

METRICS = Registry("metric")


def register_metric(cls: type["Metric"]) -> type["Metric"]:
    """Class decorator: register a Metric subclass under ``cls.name`` (its constructor's
    keyword arguments are the metric's options, e.g. AMS's ``min_background``)."""
    METRICS.register(cls.name, description=cls.text.description)(cls)
    return cls


def get_metric(name: str, **options: Any) -> "Metric":
    """The metric called `name` with `options`; an unknown name or option is a one-line ConfigError."""
    return METRICS.create(name, **options)


def list_metrics() -> list[str]:
    return METRICS.names()


@dataclass(frozen=True, eq=False)
class SplitArrays:
    """One split's stored predictions: labels, probabilities (n, k) and weights."""

    y: np.ndarray
    proba: np.ndarray
    w: np.ndarray

    @classmethod
    def from_npz(cls, arrays: Mapping[str, np.ndarray], split: str) -> "SplitArrays":
        return cls(arrays[f"{split}_y"], arrays[f"{split}_proba"], arrays[f"{split}_w"])

    @staticmethod
    def keys(split: str) -> list[str]:
        return [f"{split}_y", f"{split}_proba", f"{split}_w"]

    def take(self, idx: np.ndarray) -> "SplitArrays":
        return SplitArrays(self.y[idx], self.proba[idx], self.w[idx])


@dataclass(frozen=True)
class Column:
    """One figure of a record shown in a table: ``record["metrics"][key]`` (``[index]`` for lists)."""

    key: str
    title: str
    percent: bool = False
    digits: int = 3
    index: int | None = None
    private: bool = False  # hidden in blind mode

    def get(self, metrics: Mapping[str, Any]) -> Any:
        value = metrics.get(self.key)
        if self.index is not None:
            return value[self.index] if isinstance(value, (list, tuple)) and len(value) > self.index else None
        return value


@dataclass(frozen=True)
class MetricText:
    """Everything a report (or the CLI) says about a metric, apart from its figures: the
    prose, held as one object (``Metric.text``) so that the maths never carries wording.

    Every field a report reads is declared here with a default; a metric sets only the ones
    it has (tests/test_scoring.py checks that the reports read nothing undeclared).
    """

    title: str = ""  # the figure's short name, e.g. "AMS": column titles, headings
    description: str = ""  # one line for `list`
    objective_title: str = ""  # what model selection maximises, e.g. "validation accuracy"
    table_note: str = ""  # under the main results table
    interval_title: str = ""  # the bootstrap-interval section's figure
    interval_note: str = ""  # appended to its resampling sentence
    control_note: str = ""  # the shuffled-label control's explanation
    chance_title: str = ""  # the control table's chance column
    audit_title: str = ""  # the report section's heading, for metrics with an audit
    audit_note: str = ""
    audit_blind_note: str = ""  # appended to audit_note when private figures are hidden
    reliability_note: str = ""  # explains the mark on unreliable figures
    ranking_note: str = ""  # why the leaderboard ranks by its figure; "" when it goes without saying
    ranking_blind_note: str | None = None  # the same while the run is blind; None: as ranking_note

    def leaderboard_note(self, blind: bool) -> str:
        """Why the leaderboard ranks this metric's datasets by its figure ("" when it goes without saying)."""
        return self.ranking_note if not blind or self.ranking_blind_note is None else self.ranking_blind_note


DIRECTIONS = {"maximize": 1.0, "minimize": -1.0}


def check_margin(where: str, margin: Any) -> float:
    """A comparison's practically relevant margin: a positive finite number (a ConfigError otherwise)."""
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not (np.isfinite(margin) and margin > 0):
        raise ConfigError(f"{where}: margin must be a positive finite number, got {margin!r}")
    return float(margin)


class Metric:
    """How predictions are scored, selected on, compared and controlled (see the module doc)."""

    name: str = ""
    text: MetricText = MetricText()  # the report prose (see MetricText)
    # "maximize" (accuracy, AUC, AMS) or "minimize" (log-loss, error rate): every ranking, best
    # pick and win/loss of the reports reads it (see `sign`).
    direction: str = "maximize"
    # The difference that matters in practice, in the figure's own units: paired comparisons
    # call two models equivalent when the difference is shown to lie within ±margin. An option
    # (``metric_options = { margin = ... }``), this is its default.
    default_margin: float = 0.01
    margin: float  # the option's value, set by __init__ (default_margin unless given)
    percent: bool = False
    digits: int = 3
    binary_only: bool = False
    needs_weights: bool = False
    validation_key: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A metric's wording belongs in ``text``: a prose attribute set on the class itself
        (``title = ...``) would be silently ignored by the reports, so it is an error."""
        super().__init_subclass__(**kwargs)
        stray = sorted(set(vars(cls)) & {n for n in dir(MetricText) if not n.startswith("_")})
        if stray:
            raise TypeError(f"metric {cls.__name__}: {', '.join(stray)} belong in text = MetricText(...)")

    def __init__(self, margin: float | None = None):
        self.margin = self.default_margin if margin is None else check_margin(self.name, margin)

    def options(self) -> dict[str, Any]:
        """The options this metric was made with (stored with a run, to score it again alike);
        defaults are left out, so a run without options stores none."""
        return {} if self.margin == self.default_margin else {"margin": self.margin}

    @property
    def sign(self) -> float:
        """+1 when higher figures are better, -1 when lower are: multiply a figure (or a
        difference) by it to get one where higher is better."""
        if self.direction not in DIRECTIONS:
            raise ConfigError(f"metric {self.name!r}: direction must be one of {sorted(DIRECTIONS)}, "
                              f"got {self.direction!r}")
        return DIRECTIONS[self.direction]

    # ------------------------------------------------------------------ the dataset's task

    def check_task(self, dataset: str, n_classes: int, weighted: bool) -> None:
        """Raise DataError when this metric cannot score the dataset's task."""
        if self.binary_only and n_classes != 2:
            raise DataError(f"{dataset}: metric {self.name!r} needs a binary task, got {n_classes} classes")
        if self.needs_weights and not weighted:
            raise DataError(f"{dataset}: metric {self.name!r} needs event weights")

    def check_parts(self, dataset: str, parts: Sequence[Any]) -> None:
        """Raise DataError when a split cannot be scored (``.name``, ``.y``): a binary metric
        on a split holding one class only gives a meaningless figure (AMS of pure signal)."""
        if not self.binary_only:
            return
        for part in parts:
            present = np.unique(np.asarray(part.y))
            if len(present) < 2:
                raise DataError(f"{dataset}: the {part.name} split holds only class {present.tolist()}; "
                                f"{self.text.title} needs both classes in every split")

    # ------------------------------------------------------------------ scoring a fit

    def score(self, proba_val: np.ndarray, val: Any, tests: Sequence[tuple[Any, np.ndarray]], n_classes: int) -> dict:
        """A record's ``metrics``: validation and every test part (``.name``, ``.y``, ``.weights``)."""
        raise NotImplementedError

    def objective(self, proba_val: np.ndarray, val: Any) -> float:
        """The validation figure that model selection (Optuna, pruning) maximises: every study
        maximises, so a lower-is-better metric returns its figure negated here."""
        raise NotImplementedError

    def test_key(self, split: str) -> str:
        """The record key of the headline figure on test split `split`."""
        raise NotImplementedError

    def value(self, arrays: SplitArrays, state: Mapping[str, Any]) -> float:
        """The headline figure on one split's arrays (``state``: the record's metrics)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ tables

    def result_columns(self, tests: Sequence[str], class_names: Sequence[str], blind: bool) -> list[Column]:
        """The columns of the report's main results table, in order (``private`` ones show as blinded)."""
        raise NotImplementedError

    def summary_columns(self, blind: bool) -> list[Column]:
        """The few columns of the console summary and of cross-run comparisons."""
        return [Column(self.test_key(t), f"{self.text.title} {t}".strip(), self.percent, self.digits, private=t == PRIVATE)
                for t in self.summary_tests()]

    def summary_tests(self) -> list[str]:
        return [""]

    def hidden_when_blind(self, key: str) -> bool:
        """Whether a record's figure ``key`` rests on the private split (hidden in blind mode,
        like the report's private columns): every ``*_private`` figure."""
        return key.endswith(f"_{PRIVATE}")

    def leaderboard_column(self, blind: bool) -> Column:
        """The headline figure ranked across datasets: the first summary figure that is visible."""
        return next(c for c in self.summary_columns(blind) if not (blind and c.private))

    @property
    def fmt_digits(self) -> int:
        """Decimals ``fmt`` prints: tenths of a percent for percent figures, else ``digits``."""
        return 1 if self.percent else self.digits

    def fmt(self, value: float | None, signed: bool = False) -> str:
        if value is None or not np.isfinite(value):
            return "–"
        sign = "+" if signed else ""
        if self.percent:
            return f"{100 * value:{sign}.{self.fmt_digits}f}%"
        return f"{value:{sign}.{self.fmt_digits}f}"

    # ------------------------------------------------------------------ statistics

    def interval(self, arrays: SplitArrays, state: Mapping[str, Any], n_boot: int, seed: int,
                 alpha: float = 0.05) -> tuple[float, float]:
        """Percentile bootstrap interval of ``value`` over the split's events."""
        n = len(arrays.y)
        return stats.bootstrap_ci(lambda idx: self.value(arrays.take(idx), state), np.arange(n),
                                  n_boot=n_boot, alpha=alpha, seed=seed)

    def paired(self, a: SplitArrays, state_a: Mapping[str, Any], b: SplitArrays, state_b: Mapping[str, Any],
               n_boot: int, seed: int, alpha: float = 0.05) -> dict:
        """Paired bootstrap of value(A) - value(B) on the same events (same resample for both),
        with the verdict different / equivalent within ±margin / inconclusive."""
        if len(a.y) != len(b.y) or not np.array_equal(a.y, b.y):
            raise DataError("paired comparison needs both models scored on the same events")
        return stats.paired_comparison(lambda idx: self.value(a.take(idx), state_a),
                                       lambda idx: self.value(b.take(idx), state_b),
                                       len(a.y), n_boot=n_boot, alpha=alpha, seed=seed, margin=self.margin)

    # ------------------------------------------------------------------ shuffled-label control

    def chance(self, arrays: SplitArrays, state: Mapping[str, Any], seed: int, n_draws: int = 200,
               alpha: float = 0.05) -> tuple[float, float, float]:
        """(mean, low, high) of the figure for predictions independent of the labels.

        Default: the model's own predictions, permuted over the events, so the
        prediction distribution is kept and only their link to the labels is broken.
        """
        rng = np.random.default_rng(seed)
        values = np.array([self.value(SplitArrays(arrays.y, arrays.proba[rng.permutation(len(arrays.y))], arrays.w),
                                      state) for _ in range(n_draws)])
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        return float(values.mean()), float(low), float(high)

    def control_verdict(self, value: float, low: float, high: float, real: float | None) -> tuple[bool, str]:
        """Whether a shuffled-label figure is consistent with chance, and how to say it."""
        ok = low - 1e-12 <= value <= high + 1e-12
        return ok, "yes" if ok else "**no**"

    def control_summary(self, verdicts: Sequence[tuple[bool, str]]) -> str:
        """One table cell for the verdicts of every seed of a control.

        A binomial-style interval only says in or out, so the default counts the seeds
        outside it.
        """
        failed = sum(1 for ok, _ in verdicts if not ok)
        return "yes" if not failed else f"**no in {failed} of {len(verdicts)} seeds**"

    # ------------------------------------------------------------------ metric-specific extras

    def audit(self, tests: Sequence[tuple[str, SplitArrays]], state: Mapping[str, Any], seed: int) -> list[dict] | None:
        """Rows of an audit of this metric's known pitfalls; None when it has none.

        Each row: ``kind``, ``label``, ``explanation``, ``values`` and the figures a table
        shows, ``cells`` ({column suffix: value}) under the short title ``column``.
        """
        return None

    def threshold_curve(self, arrays: SplitArrays) -> tuple[np.ndarray, np.ndarray, float, np.ndarray] | None:
        """(thresholds, figure at each, the chosen threshold, where the figure is reliable) on
        validation; None without a threshold."""
        return None

    threshold_key: str | None = None  # the record key of the threshold chosen on validation

    def selection_columns(self, split: str) -> list[Column]:
        """What the chosen threshold selects on `split` (counts and weights); none without a threshold."""
        return []

    def unreliable(self, metrics: Mapping[str, Any], key: str) -> bool:
        """Whether the figure ``metrics[key]`` rests on too few events to mean anything."""
        return False

    def threshold_value(self, arrays: SplitArrays, threshold: float) -> float | None:
        """The figure when events scoring at least `threshold` are selected; None without a threshold."""
        return None
