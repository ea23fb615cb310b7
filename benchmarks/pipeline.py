"""The data path shared by runs and searches, one plain call per step:

load (validated Dataset) -> split (the dataset's policy, seeded, weights renormalised per
split) -> preprocess (fitted on train only) -> build the model -> fit -> predict -> score
(the dataset's metric object) -> the fit's typed record (``train_and_evaluate``, what one
fit of a run does wherever it runs). Nothing here writes a file.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from datasets import DATASETS, Dataset, Splits, load_dataset, make_splits
from datasets.preprocess import PreprocessConfig, preprocess_splits
from encoders.examples import encoder_sheet
from models import WeightedEnsemble, create_model, fit_facts, model_info, validate_model

from .controls import CONTROLS
from .core.errors import ConfigError
from .fits import DatasetFacts, with_threads
from .run_record import NO_CONTROL, Record
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


def member_params(params: dict) -> list[dict] | None:
    """A tuned+ensemble entry's parameters, one dict per member (the fixed base under each
    member's searched ones); None for any other entry. ``params["ensemble"]`` lists the
    members as ``select_ensemble`` chose them: ``{"trial", "weight", "params"}``."""
    if "ensemble" not in params:
        return None
    base = {k: v for k, v in params.items() if k != "ensemble"}
    return [{**base, **dict(m["params"])} for m in params["ensemble"]]


def build_model(spec: ModelSpec, params: dict, seed: int, device: str, splits: Splits):
    """One place that turns a suite's model spec into an estimator (runs and tuning alike); a
    tuned+ensemble entry becomes the weighted ensemble of its members, each built alike."""
    members = member_params(params) if spec.is_ensemble else None
    if members is None:
        return create_model(spec.name, **model_kwargs(spec, params, seed, device, splits))
    return WeightedEnsemble([create_model(spec.name, **model_kwargs(spec, p, seed, device, splits)) for p in members],
                            [float(m["weight"]) for m in params["ensemble"]],
                            [m.get("trial") for m in params["ensemble"]])


def check_model(spec: ModelSpec, params: dict, device: str, splits: Splits) -> None:
    """The one-line error a fit of ``spec`` with ``params`` would raise for a bad or unknown
    parameter (each member's, for an ensemble), without training anything."""
    for p in (member_params(params) if spec.is_ensemble else None) or [params]:
        validate_model(spec.name, **model_kwargs(spec, p, 0, device, splits))


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


def prediction_arrays(splits: Splits, pred: Predictions) -> dict[str, np.ndarray]:
    """What the report's statistics, audit and plots are computed from: scores, labels, weights."""
    arrays = {"val_proba": pred.val.astype(np.float32), "val_y": splits.val.y, "val_w": splits.val.weights}
    for part in splits.tests:
        arrays[f"{part.name}_proba"] = pred.tests[part.name].astype(np.float32)
        arrays[f"{part.name}_y"] = part.y
        arrays[f"{part.name}_w"] = part.weights
    return arrays


def train_and_evaluate(ds: Dataset | DatasetFacts, splits: Splits, spec: ModelSpec, params: dict, seed: int,
                       device: str, control: str = NO_CONTROL, *, examples: bool = False,
                       rank: Callable | None = None,
                       threads: int | None = None) -> tuple[Record, dict[str, np.ndarray], bytes | None]:
    """Fit one model on one set of splits: its record, its predictions, and (``examples``, for a
    model that draws images) the PNG of its encoder's example sheet.

    A control fits (early stopping included) on the splits the control makes, then is
    scored exactly like the real model: on the true validation and test labels. ``rank``
    (model, splits) -> importance ranks the fitted model's features on validation for the
    record. ``threads`` goes to the model's thread parameter (the record keeps ``params`` as
    the suite gave them).
    """
    model = build_model(spec, with_threads(spec.name, params, threads), seed, device, splits)
    fit_on = splits if control == NO_CONTROL else CONTROLS.get(control).factory(splits, seed)
    train_s = fit(model, fit_on)
    fitted = fit_facts(model)
    sheet = (encoder_sheet(fitted.encoder, splits.val.X, splits.val.y, ds.class_names)
             if examples and fitted.encoder is not None else None)
    ranked = rank(model, splits) if rank is not None else None
    pred = predict(model, splits)
    n_test = sum(len(p) for p in splits.tests)
    scored = ds.scorer.score(pred.val, splits.val, [(p, pred.tests[p.name]) for p in splits.tests], ds.n_classes)
    record = Record(
        dataset=ds.name, model=spec.label, registry_name=spec.name,
        family=model_info(spec.name).family, seed=seed, control=control, params=params,
        metrics=scored,
        timing={"train_s": train_s, "val_predict_s": pred.val_s, "predict_s": pred.predict_s,
                "predict_per_1k_s": pred.predict_s / max(n_test, 1) * 1000.0,
                "n_train": len(splits.train), "n_test": n_test},
        device=fitted.device, info=fitted.info,
        # what a report needs to place the model (e.g. its rung of a technique ladder)
        facts={**(model_info(spec.name).report_facts or {}), **spec.facts()} or None,
        importance=None if ranked is None else ranked.as_dict())
    return record, prediction_arrays(splits, pred), sheet
