"""Per-model figures read from results.json alone: the main table, SuperTML settings,
Optuna searches and timings. No prediction file is opened here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from benchmarks.core.scoring import Column, Metric

from .tables import finite

Values = tuple[Any, ...]  # one figure per seed, as stored (None where absent)


@dataclass(frozen=True)
class ColumnValues:
    column: Column
    values: Values | None  # None: a private figure hidden in blind mode
    flagged: bool = False  # some seed's figure rests on too few events (Metric.unreliable)


def flagged(metric: Metric, recs: Sequence[dict], key: str) -> bool:
    """Whether any seed's figure `key` is one the metric calls unreliable."""
    return any(metric.unreliable(r.metrics, key) for r in recs)


@dataclass(frozen=True)
class MainRow:
    label: str
    seeds: int
    cells: tuple[ColumnValues, ...]
    train_s: Values
    predict_per_1k_s: Values


@dataclass(frozen=True)
class MainTable:
    note: str
    columns: tuple[Column, ...]
    rows: tuple[MainRow, ...]


def seed_values(recs: Sequence[dict], column: Column) -> Values:
    return tuple(column.get(r.metrics) for r in recs)


def timing_values(recs: Sequence[dict], key: str) -> Values:
    return tuple((r.timing or {}).get(key) for r in recs)


def main_table(groups: Mapping[str, list[dict]], info: Mapping, metric: Metric, tests: Sequence[str],
               blind: bool) -> MainTable:
    """The results table: the metric's columns for every test split (private ones hidden when blind)."""
    columns = tuple(metric.result_columns(tests, info["class_names"], blind))
    rows = []
    for label, recs in groups.items():
        cells = tuple(ColumnValues(c, None, False) if (blind and c.private) else
                      ColumnValues(c, seed_values(recs, c), flagged(metric, recs, c.key)) for c in columns)
        rows.append(MainRow(label, len(recs), cells, timing_values(recs, "train_s"),
                            timing_values(recs, "predict_per_1k_s")))
    return MainTable(metric.text.table_note, columns, tuple(rows))


@dataclass(frozen=True)
class SelectionRow:
    label: str
    split: str
    cells: tuple[ColumnValues, ...]
    flagged: bool  # fewer raw background events than the metric trusts, in some seed


def selection_rows(groups: Mapping[str, list[dict]], metric: Metric, splits: Sequence[str]) -> tuple[SelectionRow, ...]:
    """What each model's chosen threshold selects on validation and every visible test split."""
    rows = []
    for label, recs in groups.items():
        for split in splits:
            columns = metric.selection_columns(split)
            if not columns or all(c.get(recs[0].metrics) is None for c in columns):
                continue
            rows.append(SelectionRow(label, split, tuple(ColumnValues(c, seed_values(recs, c)) for c in columns),
                                     flagged(metric, recs, metric.test_key(split))))
    return tuple(rows)


@dataclass(frozen=True)
class SuperTMLRow:
    label: str
    settings: tuple[Any, ...]  # encoder, layout, image, backbone, weights, training, precision
    values: Values
    flagged: bool = False


SUPERTML_SETTINGS = ("encoder", "layout", "image", "backbone", "weights", "training", "precision")


def supertml_rows(groups: Mapping[str, list[dict]], column: Column, metric: Metric) -> tuple[SuperTMLRow, ...]:
    """Encoder and CNN settings of every SuperTML model, with its headline figure."""
    rows = []
    for label, recs in groups.items():
        if recs[0].family != "supertml":
            continue
        i = recs[0].info
        layout = (i.get("encoder_options") or {}).get("layout", "")
        settings = (i.get("encoder", "?"), layout, i.get("image_size", "?"), i.get("backbone", "?"),
                    i.get("pretrained", "?"), i.get("training", "?"), i.get("precision", "?"))
        rows.append(SuperTMLRow(label, settings, seed_values(recs, column), flagged(metric, recs, column.key)))
    return tuple(rows)


@dataclass(frozen=True)
class TuningRow:
    label: str
    trials: Any
    pruned: int
    failed: int
    best_value: float
    best_params: dict
    search_s: float | None
    history: tuple[tuple[float, float], ...]  # (trial number, objective) of trials with a finite value
    seed: int | None = None  # the repeat a nested search served (None: one search for every seed)
    # A tuned+ensemble entry's selection: members (trial, weight), rounds, candidates, its
    # validation score against the best single configuration's; None without one.
    ensemble: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.label if self.seed is None else f"{self.label} (seed {self.seed})"


def tuning_rows(tuning: Mapping[str, dict], dataset: str) -> tuple[TuningRow, ...]:
    """The Optuna searches of one dataset (keys ``dataset/model label``, plus ``/seed S`` for a
    nested search; newer summaries name their label and seed); studies maximise."""
    rows = []
    for key, s in tuning.items():
        name, _, label = key.partition("/")
        if name != dataset or not isinstance(s, Mapping):
            continue
        label = s.get("label", label)
        history = tuple((float(h[0]), float(h[1])) for h in s.get("history") or []
                        if len(h) >= 2 and h[1] is not None and np.isfinite(float(h[1])))
        rows.append(TuningRow(label, s.get("trials", "?"), s.get("pruned", 0), s.get("failed", 0),
                              float("nan") if s.get("best_value") is None else s["best_value"],
                              dict(s.get("best_params", {})),
                              s.get("search_s"), history, s.get("seed"),
                              s.get("ensemble") if isinstance(s.get("ensemble"), Mapping) else None))
    return tuple(rows)


@dataclass(frozen=True)
class TimingRow:
    label: str
    device: str
    precision: str
    batch: Any
    threads: Any
    train_s: Values
    val_predict_s: Values
    predict_s: Values
    predict_per_1k_s: Values
    train_rel: float | None  # mean train time / the fastest model's
    infer_rel: float | None
    infer_images_s: float | None  # SuperTML models: images encoded and classified per second
    train_images_s: float | None


def _mean(values: Values) -> float | None:
    vals = finite(values)
    return float(np.mean(vals)) if vals else None


def _relative(value: float | None, among: Iterable[float | None]) -> float | None:
    """`value` over the smallest of `among` (the fastest model's); None where either is unknown."""
    known = [v for v in among if v is not None]
    fastest = min(known) if known else None
    return value / fastest if value is not None and fastest and fastest > 0 else None


def _images_per_s(n: float, seconds: float | None) -> float | None:
    return n / seconds if n and seconds else None


def timing_rows(groups: Mapping[str, list[dict]]) -> tuple[TimingRow, ...]:
    """Wall-clock figures per model, means over seeds and relative to the fastest model."""
    train = {label: _mean(timing_values(recs, "train_s")) for label, recs in groups.items()}
    infer = {label: _mean(timing_values(recs, "predict_per_1k_s")) for label, recs in groups.items()}
    if not train:
        return ()
    rows = []
    for label, recs in groups.items():
        r0, supertml = recs[0], recs[0].family == "supertml"
        i, t = r0.info, r0.timing
        default_precision = "fp32" if r0.family != "tabular" else "fp64/native"
        predict_mean = _mean(timing_values(recs, "predict_s"))
        # Every epoch (both stages of two-stage training) encodes each training event once.
        train_images = (t.get("n_train") or 0) * (i.get("epochs_run") or 0)
        rows.append(TimingRow(
            label, r0.device, i.get("precision", default_precision), i.get("batch_size", "–"),
            i.get("threads", "–"), timing_values(recs, "train_s"), timing_values(recs, "val_predict_s"),
            timing_values(recs, "predict_s"), timing_values(recs, "predict_per_1k_s"),
            _relative(train[label], train.values()), _relative(infer[label], infer.values()),
            _images_per_s(t.get("n_test") or 0, predict_mean) if supertml else None,
            _images_per_s(train_images, train[label]) if supertml else None))
    return tuple(rows)
