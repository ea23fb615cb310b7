"""The data path shared by runs and searches, one plain call per step:

load (validated Dataset) -> split (the dataset's policy, seeded, weights renormalised per
split) -> preprocess (fitted on train only) -> build the model -> fit -> predict -> score
(the dataset's metric object). Nothing here writes a file.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from datasets import DATASETS, Dataset, Splits, load_dataset, make_splits
from datasets.preprocess import PreprocessConfig, preprocess_splits
from models import create_model, model_info

from .core.errors import ConfigError
from .suite import DatasetSpec, ModelSpec, Suite


def load_for_spec(spec: DatasetSpec, data: str | None) -> Dataset:
    """Load a suite dataset; ``--data`` reaches only loaders of real files (tagged ``data_file``)."""
    options = dict(spec.options)
    if data is not None and takes_data_file(spec.name):
        options["data"] = data
    ds = load_dataset(spec.name, **options)
    if spec.metric_options:  # the suite's say over the dataset's defaults (e.g. the AMS cut rule)
        ds = replace(ds, metric_options={**ds.metric_options, **spec.metric_options})
    return ds


def takes_data_file(name: str) -> bool:
    return not name.startswith("csv:") and bool(DATASETS.get(name).tags.get("data_file"))


def resolve_seeds(suite: Suite, spec: DatasetSpec, ds: Dataset, override: int | None) -> list[int]:
    """The seeds of a dataset: ``repeats = "auto"`` asks the dataset's split policy."""
    if override is not None:
        if override < 1:
            raise ConfigError("--seeds must be at least 1")
        n = override
    elif spec.repeats == "auto":
        n = int(ds.split_policy.default_repeats)
    else:
        n = int(spec.repeats)
    return [suite.base_seed + k for k in range(n)]


def raw_splits(ds: Dataset, spec: DatasetSpec, seed: int, search: str | None = None) -> Splits:
    """The events of every part for one seed (its outer fold: ``spec.repeat(seed)``), before
    preprocessing. With ``search`` (a scope): the train/validation parts a hyper-parameter
    search (run or ``tune`` worker) sees: that fold's training part (``fold``) or the fixed
    search pool no fold ever tests (``once``)."""
    raw = make_splits(ds, seed, spec.val_fraction, spec.repeat(seed), spec.max_events, search=search)
    ds.scorer.check_parts(ds.name, raw.parts)
    return raw


def search_scope(spec: DatasetSpec, model: ModelSpec) -> str:
    """Where a model's search runs: its own ``scope``; a once-per-dataset ranking (``select``,
    the ``importance`` command) uses the search pool when the dataset keeps one, else the
    first repeat's training part."""
    if model.search is not None:
        return model.search.scope
    return "once" if spec.search_pool else "fold"


def splits_for(ds: Dataset, spec: DatasetSpec, seed: int, search: str | None = None,
               preprocess: PreprocessConfig | None = None) -> Splits:
    """The splits a model sees for one seed: the raw splits, preprocessed (fitted on train)."""
    return preprocess_splits(preprocess or spec.preprocess, raw_splits(ds, spec, seed, search))


class SeedSplits:
    """One seed's splits under every preprocessing its models ask for: the same events, each
    preprocessing fitted once on their training part."""

    def __init__(self, ds: Dataset, spec: DatasetSpec, seed: int, search: str | None = None):
        self.raw = raw_splits(ds, spec, seed, search)
        self.default = spec.preprocess
        self._done: dict[PreprocessConfig, Splits] = {}

    def for_model(self, model: ModelSpec) -> Splits:
        config = model.preprocessing(self.default)
        if config not in self._done:
            self._done[config] = preprocess_splits(config, self.raw)
        return self._done[config]


def model_kwargs(spec: ModelSpec, params: dict, seed: int, device: str, splits: Splits) -> dict:
    """Everything a model is built with: its parameters, the seed, the device, and the facts
    of the data it names in its registration (``data_facts``: feature names, missing marker,
    categorical columns, symmetries as augmentations)."""
    facts = {"feature_names": list(splits.feature_names), "missing_value": splits.missing_value,
             "categorical_features": list(splits.categorical), "augmentation": splits.augmentation}
    extra = {k: facts[k] for k in model_info(spec.name).data_facts}
    return {"random_state": seed, "device": device, **extra, **params}


def build_model(spec: ModelSpec, params: dict, seed: int, device: str, splits: Splits):
    """One place that turns a suite's model spec into an estimator (runs and tuning alike)."""
    return create_model(spec.name, **model_kwargs(spec, params, seed, device, splits))


def fit(model, splits: Splits, epoch_callback: Callable | None = None) -> float:
    """Fit on the training part (early stopping on validation); returns the seconds it took."""
    train, val = splits.train, splits.val
    t0 = time.perf_counter()
    model.fit(train.X, train.y, sample_weight=splits.fit_weights(train), X_val=val.X, y_val=val.y,
              w_val=splits.fit_weights(val), epoch_callback=epoch_callback)
    return time.perf_counter() - t0


@dataclass(frozen=True, eq=False)
class Predictions:
    """Probabilities on validation and every test part, with how long inference took."""

    val: np.ndarray
    tests: dict[str, np.ndarray]
    val_s: float
    predict_s: float


def _timed(model, X: np.ndarray) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    proba = model.predict_proba(X)  # returns numpy: any device work is finished here
    return proba, time.perf_counter() - t0


def predict(model, splits: Splits) -> Predictions:
    """Validation and test probabilities, timed after a warm-up batch (excluded)."""
    model.predict_proba(splits.val.X[:256])
    proba_val, val_s = _timed(model, splits.val.X)
    tests, predict_s = {}, 0.0
    for part in splits.tests:
        tests[part.name], dt = _timed(model, part.X)
        predict_s += dt
    return Predictions(proba_val, tests, val_s, predict_s)
