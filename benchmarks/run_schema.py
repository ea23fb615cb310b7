"""What every stored value of a run directory is: one schema, checked once when a run is read.

results.json, manifest.json and the prediction files are read back by reports, ``compare``
and ``--resume``; any of them may have been edited by hand, truncated or written by
something else. :func:`check` holds a value against its schema here, so every reader gets
values of the promised type and shape, and any other value is one :class:`BenchmarkError`
line naming the field (exit 2), never a crash deep inside a report or a nonsense figure.
A field that is only printed may be anything (the report escapes it); a field that is
computed with is typed.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .core.errors import BenchmarkError

PREDICTIONS = "predictions"  # the run directory's folder of prediction files

Path_ = tuple  # the keys leading to a value, outermost first


def _at(path: Path_) -> str:
    """A field's name in a message: ``field 'seed'``, or ``info 'epochs_run'`` when nested."""
    if not path:
        return "the value"
    if len(path) == 1:
        return f"field {path[0]!r}"
    return " ".join(str(p) for p in path[:-1]) + f" {path[-1]!r}"


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


class Schema:
    """What one stored value must be; ``check`` raises one BenchmarkError line otherwise."""

    def check(self, value: Any, where: str, path: Path_ = ()) -> None:
        raise NotImplementedError


class _Any(Schema):
    def check(self, value: Any, where: str, path: Path_ = ()) -> None:
        pass


@dataclass(frozen=True)
class Kind(Schema):
    """A JSON value of one of ``types`` (an integer or number is never a boolean)."""

    types: tuple[type, ...]
    what: str

    def check(self, value: Any, where: str, path: Path_ = ()) -> None:
        if not isinstance(value, self.types) or (isinstance(value, bool) and bool not in self.types):
            if self.what == "a number":
                raise BenchmarkError(f"{where}: {_at(path)} is not a number (got {_kind(value)})")
            raise BenchmarkError(f"{where}: {_at(path)} must be {self.what}, got {_kind(value)}")


@dataclass(frozen=True)
class Maybe(Schema):
    """``null`` or a value of ``inner``."""

    inner: Schema

    def check(self, value: Any, where: str, path: Path_ = ()) -> None:
        if value is not None:
            self.inner.check(value, where, path)


@dataclass(frozen=True)
class ListOf(Schema):
    item: Schema
    min_len: int = 0

    def check(self, value: Any, where: str, path: Path_ = ()) -> None:
        if not isinstance(value, list):
            raise BenchmarkError(f"{where}: {_at(path)} must be a list, got {_kind(value)}")
        if len(value) < self.min_len:
            raise BenchmarkError(f"{where}: {_at(path)} must hold at least {self.min_len} item(s)")
        for i, v in enumerate(value):
            self.item.check(v, where, (*path, i))


@dataclass(frozen=True)
class Row(Schema):
    """A list whose first items are ``items``, in order (more may follow)."""

    items: tuple[Schema, ...]

    def check(self, value: Any, where: str, path: Path_ = ()) -> None:
        ListOf(ANY, len(self.items)).check(value, where, path)
        for i, (schema, v) in enumerate(zip(self.items, value)):
            schema.check(v, where, (*path, i))


@dataclass(frozen=True)
class TableOf(Schema):
    """A JSON object whose every value is ``value``."""

    value: Schema

    def check(self, obj: Any, where: str, path: Path_ = ()) -> None:
        if not isinstance(obj, Mapping):
            raise BenchmarkError(f"{where}: {_at(path)} must be a JSON object, got {_kind(obj)}")
        for k, v in obj.items():
            self.value.check(v, where, (*path, k))


@dataclass(frozen=True)
class Fields(Schema):
    """A JSON object with named fields (``required`` ones present); the others, ``rest`` when
    given, else anything. ``rule`` checks what no single field can (equal lengths, ...):
    it returns what is wrong, or None."""

    required: Mapping[str, Schema] = field(default_factory=dict)
    optional: Mapping[str, Schema] = field(default_factory=dict)
    rest: Schema | None = None
    prefixed: Mapping[str, Schema] = field(default_factory=dict)  # other fields by how their names start
    rule: Callable[[Mapping], str | None] | None = None

    def check(self, obj: Any, where: str, path: Path_ = ()) -> None:
        if not isinstance(obj, Mapping):
            what = f"{_at(path)} is" if path else "it is"
            raise BenchmarkError(f"{where}: {what} not a JSON object (got {_kind(obj)})")
        for key, schema in self.required.items():
            if key not in obj:
                raise BenchmarkError(f"{where}: {_at((*path, key))} is missing")
            schema.check(obj[key], where, (*path, key))
        for key, value in obj.items():
            schema = None if key in self.required else self.optional.get(key) or self._by_prefix(key)
            if schema is not None:
                schema.check(value, where, (*path, key))
        problem = self.rule(obj) if self.rule is not None else None
        if problem:
            raise BenchmarkError(f"{where}: {' '.join(map(str, path)) + ' ' if path else ''}{problem}")

    def _by_prefix(self, key: str) -> Schema | None:
        return next((s for p, s in self.prefixed.items() if key.startswith(p)), self.rest)


def check(schema: Schema, value: Any, where: str) -> None:
    """Hold ``value`` against ``schema``; one BenchmarkError line naming the field otherwise."""
    schema.check(value, where)


ANY = _Any()
TEXT = Kind((str,), "str")
INT = Kind((numbers.Integral,), "int")  # numpy integers too: a record shipped by Ray is checked again
BOOL = Kind((bool,), "a boolean")
NUMBER = Kind((numbers.Real,), "a number")
FIGURE = Maybe(NUMBER)
SCALAR = Kind((str, numbers.Real), "a string or number")
TABLE = TableOf(ANY)
LIST = ListOf(ANY)


def _same_lengths(*keys: str) -> Callable[[Mapping], str | None]:
    def rule(obj: Mapping) -> str | None:
        lengths = {k: len(obj[k]) for k in keys if isinstance(obj.get(k), list)}
        if len(set(lengths.values())) > 1:
            return "lists of different lengths: " + ", ".join(f"{k} {n}" for k, n in lengths.items())
        return None
    return rule


def _prediction_file(obj: Mapping) -> str | None:
    rel = obj.get("predictions")
    if rel is not None and (PurePosixPath(rel).parent.as_posix() != PREDICTIONS
                            or PurePosixPath(rel).name in ("", ".", "..")):
        return f"predictions must name a file in {PREDICTIONS}/"
    return None


# --------------------------------------------------------------------------- a record and a failure

# Figures are numbers (null: one that does not exist); per-class figures are lists of them.
METRICS = Fields(rest=FIGURE, prefixed={"per_class_": ListOf(FIGURE)})
TIMING = Fields(optional={k: NUMBER for k in ("train_s", "val_predict_s", "predict_s", "predict_per_1k_s",
                                               "n_train", "n_test", "tune_s")}, rest=FIGURE)
LR_FIND = Fields(required={"lrs": ListOf(NUMBER), "losses": ListOf(FIGURE), "suggestion": NUMBER},
                 rule=_same_lengths("lrs", "losses"))
INFO = Fields(optional={"epochs_run": NUMBER, "parameters": Maybe(INT), "threads": Maybe(INT),
                        "encoder_options": Maybe(TABLE), "lr_find": Maybe(LR_FIND)})
FACTS = Fields(optional={"experiment": INT, "ladder": TEXT, "sizing": TEXT, "rung": SCALAR, "entry_of": TEXT})
IMPORTANCE = Fields(required={"features": ListOf(SCALAR), "mean": ListOf(NUMBER), "std": ListOf(NUMBER),
                              "baseline": NUMBER}, rule=_same_lengths("features", "mean", "std"))
_WHO = {"dataset": TEXT, "model": TEXT, "seed": INT, "control": TEXT}
_WHERE = {"registry_name": TEXT, "params": TABLE, "executor": Maybe(TEXT), "node": Maybe(TEXT),
          "node_id": Maybe(TEXT), "gpu_ids": Maybe(LIST)}
RECORD = Fields(
    required={**_WHO, "metrics": METRICS, "timing": TIMING},
    optional={**_WHERE, "family": TEXT, "device": TEXT, "info": INFO, "facts": Maybe(FACTS),
              "importance": Maybe(IMPORTANCE), "tuned": BOOL, "predictions": Maybe(TEXT), "status": TEXT},
    rule=_prediction_file)
FAILURE = Fields(required={**_WHO, "status": TEXT, "error": TEXT}, optional={**_WHERE, "error_kind": TEXT})

# --------------------------------------------------------------------------- a dataset, a search, the manifest


def _fold_facts(facts: Mapping) -> str | None:
    """A fold scheme's report divides by its fold count and prints its test/train ratio."""
    if facts.get("scheme") != "folds":
        return None
    if all(isinstance(facts.get(k), int) and facts[k] > 0 for k in ("folds", "repeats", "repetitions")) \
            and isinstance(facts.get("test_train_ratio"), (int, float)):
        return None
    return "a fold scheme needs positive integers folds, repeats and repetitions, and a test_train_ratio"


SPLIT = Fields(optional={"events": INT}, rest=FIGURE)
RESAMPLING = Fields(optional={"scheme": TEXT, "folds": Maybe(INT), "repeats": Maybe(INT), "repetitions": Maybe(INT),
                              "search_pool": BOOL, "search": Maybe(TEXT), "search_scopes": TableOf(TEXT),
                              "test_train_ratio": FIGURE, "test_train_ratios": TableOf(NUMBER)},
                    rule=_fold_facts)
SELECTION = Fields(required={"top": INT, "by": TEXT, "features": ListOf(SCALAR)})
DATASET = Fields(
    required={"name": TEXT, "metric": TEXT, "class_names": ListOf(SCALAR, 1), "seeds": ListOf(INT, 1),
              "splits": TableOf(SPLIT)},
    optional={"metric_options": Maybe(TABLE), "synthetic": BOOL, "n_events": INT, "n_features": INT,
              "features": ListOf(SCALAR), "categorical": ListOf(SCALAR), "weight_totals": Maybe(TableOf(NUMBER)),
              "notes": ListOf(ANY), "preprocess": TABLE, "resampling": Maybe(RESAMPLING),
              "selections": TableOf(SELECTION), "search": ListOf(TEXT)})
MEMBER = Fields(required={"weight": NUMBER}, optional={"trial": Maybe(INT), "params": TABLE})
ENSEMBLE = Fields(required={"members": ListOf(MEMBER, 1)},
                  optional={"rounds": Maybe(INT), "candidates": Maybe(INT), "size": Maybe(INT),
                            "val_score": FIGURE, "best_single": FIGURE})
SEARCH = Fields(optional={"label": TEXT, "seed": Maybe(INT), "trials": INT, "pruned": INT, "failed": INT,
                          "best_value": FIGURE, "best_params": TABLE, "search_s": FIGURE,
                          "history": ListOf(Row((NUMBER, FIGURE))), "ensemble": Maybe(ENSEMBLE)})
MANIFEST = Fields(optional={"packages": Maybe(TABLE), "fits": Maybe(ListOf(Row((TEXT, TEXT, INT, TEXT))))})
RESULTS = Fields(required={"records": LIST, "datasets": TableOf(DATASET)},
                 optional={"tuning": TableOf(SEARCH), "failures": LIST, "blind": BOOL, "suite": ANY})


# --------------------------------------------------------------------------- a prediction file


def check_arrays(arrays: Mapping[str, np.ndarray], splits: Sequence[str], n_classes: int | None, where: str) -> None:
    """A prediction file's arrays of ``splits``: per split, labels ``y`` (n,), probabilities
    ``proba`` (n, k) and weights ``w`` (n,), all finite numbers with one n, the labels whole
    numbers in 0..k-1 (k: ``n_classes`` when known); BenchmarkError naming the array otherwise."""
    for split in splits:
        y, proba, w = (arrays[f"{split}_{k}"] for k in ("y", "proba", "w"))
        for name, a, ndim in ((f"{split}_y", y, 1), (f"{split}_proba", proba, 2), (f"{split}_w", w, 1)):
            if a.dtype.kind not in "biuf":
                raise BenchmarkError(f"{where}: {name} holds {a.dtype} values, not numbers")
            if a.ndim != ndim:
                raise BenchmarkError(f"{where}: {name} has {a.ndim} dimension(s), not {ndim}")
            if not np.isfinite(a).all():
                raise BenchmarkError(f"{where}: {name} holds non-finite values")
        n, k = len(y), proba.shape[1]
        if len(proba) != n or len(w) != n:
            raise BenchmarkError(f"{where}: {split}_y, {split}_proba and {split}_w hold {n}, {len(proba)} and "
                                 f"{len(w)} events; they must match")
        if n_classes is not None and k != n_classes:
            raise BenchmarkError(f"{where}: {split}_proba has {k} column(s) for {n_classes} classes")
        if n and (not np.array_equal(y, np.round(y)) or y.min() < 0 or y.max() >= k):
            raise BenchmarkError(f"{where}: {split}_y holds labels that are not classes 0..{k - 1}")
