"""The harness: load -> split -> preprocess -> fit -> predict -> score -> record -> report.

Each arrow is one plain call; every model sees the identical Splits for a seed.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from datasets import Dataset, Splits, load_dataset, make_splits
from datasets.preprocess import preprocess_splits
from models import create_model, model_entry

from . import store
from .core import metrics
from .controls import shuffle_labels
from .core.errors import ConfigError
from .core.device import resolve_device
from .manifest import make_manifest
from .suite import DatasetSpec, ModelSpec, Suite

CONTROLS = ("none", "shuffled")


@dataclass(frozen=True)
class RunOptions:
    """Command-line overrides of a suite."""

    data: str | None = None
    models: tuple[str, ...] | None = None
    seeds: int | None = None
    device: str = "auto"
    max_events: int | None = None
    control: str = "none"
    progress: bool = True
    tune: bool = True
    storage: str | None = None
    unblind: bool = False


def select_models(suite: Suite, names: tuple[str, ...] | None) -> tuple[ModelSpec, ...]:
    if not names:
        return suite.models
    picked = []
    for name in names:
        match = [m for m in suite.models if m.label == name or m.name == name]
        if not match:
            # A registered model not in the suite runs with its defaults.
            model_entry(name)
            match = [ModelSpec(name, name)]
        picked.extend(m for m in match if m not in picked)
    return tuple(picked)


def load_for_spec(spec: DatasetSpec, data: str | None) -> Dataset:
    """Load a suite dataset; ``--data`` only reaches loaders of real files (higgsml)."""
    options = dict(spec.options)
    if data is not None and spec.name == "higgsml":
        options["data"] = data
    return load_dataset(spec.name, **options)


def splits_for(ds: Dataset, spec: DatasetSpec, seed: int) -> Splits:
    """The splits every model (and every tuning worker) sees for one seed."""
    raw = make_splits(ds, seed, spec.val_fraction, spec.test_fraction, spec.max_events)
    return preprocess_splits(spec.preprocess, raw, ds.missing_value)


def resolve_seeds(suite: Suite, spec: DatasetSpec, ds: Dataset, override: int | None) -> list[int]:
    """``repeats = "auto"``: 5 when the test splits are carved out of a sample file, else 1."""
    if override is not None:
        if override < 1:
            raise ConfigError("--seeds must be at least 1")
        n = override
    elif spec.repeats == "auto":
        has_tests = ds.groups is not None and np.isin(ds.groups, ["b", "v"]).any()
        n = 5 if ds.metric == "ams" and not has_tests else 1
    else:
        n = int(spec.repeats)
    return [suite.base_seed + k for k in range(n)]


def score(ds: Dataset, splits: Splits, proba_val: np.ndarray, proba_tests: dict[str, np.ndarray]) -> dict:
    """Pure metric step: the cut (HiggsML) is chosen on validation only."""
    if ds.metric == "ams":
        return metrics.higgs_metrics(proba_val[:, 1], splits.val,
                                     [(p, proba_tests[p.name][:, 1]) for p in splits.tests])
    test = splits.tests[0]
    out = metrics.classification_metrics(proba_tests[test.name], test, ds.n_classes)
    out["accuracy_val"] = metrics.accuracy(splits.val.y, proba_val)
    return out


def validation_score(ds: Dataset, val, proba_val: np.ndarray) -> float:
    """The objective of model selection: validation AMS at the chosen cut, or accuracy."""
    if ds.metric == "ams":
        s = proba_val[:, 1]
        cut = metrics.choose_cut(s, val.y, val.weights)
        return metrics.ams_at_cut(s, val.y, val.weights, cut)
    return metrics.accuracy(val.y, proba_val)


def build_model(spec: ModelSpec, params: dict, seed: int, device: str, feature_names):
    """One place that turns a suite's model spec into an estimator (runs and tuning alike)."""
    extra = {}
    if model_entry(spec.name).tags.get("family") == "supertml" and "feature_names" not in params:
        extra["feature_names"] = list(feature_names)  # for encoder feature orders given by name
    return create_model(spec.name, random_state=seed, device=device, **extra, **params)


def _timed_predict(model, X: np.ndarray) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    proba = model.predict_proba(X)  # returns numpy: any device work is finished here
    return proba, time.perf_counter() - t0


def train_and_evaluate(ds: Dataset, splits: Splits, spec: ModelSpec, params: dict, seed: int,
                       device: str, control: str = "none", epoch_callback: Callable | None = None,
                       examples_path: Path | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """Fit one model on one set of splits; return its record and its predictions.

    With ``control="shuffled"`` the model is fitted (early stopping included) on
    label-shuffled train/validation parts, then scored exactly like the real model:
    cut on the true validation labels, AMS/accuracy on the true test labels.
    """
    model = build_model(spec, params, seed, device, splits.feature_names)
    fit_on = shuffle_labels(splits, seed) if control == "shuffled" else splits
    train = fit_on.train
    t0 = time.perf_counter()
    model.fit(train.X, train.y, sample_weight=fit_on.fit_weights(train), X_val=fit_on.val.X,
              y_val=fit_on.val.y, w_val=fit_on.fit_weights(fit_on.val), epoch_callback=epoch_callback)
    train_s = time.perf_counter() - t0
    if examples_path is not None and hasattr(model, "encoder_"):
        from reports.plots import write_encoder_examples

        write_encoder_examples(model.encoder_, splits.val.X, splits.val.y, ds.class_names, examples_path)
    model.predict_proba(splits.val.X[:256])  # warm-up, excluded from the timings
    proba_val, val_s = _timed_predict(model, splits.val.X)
    proba_tests, predict_s = {}, 0.0
    for part in splits.tests:
        proba_tests[part.name], dt = _timed_predict(model, part.X)
        predict_s += dt
    n_test = sum(len(p) for p in splits.tests)
    info = dict(getattr(model, "info_", {}) or {})
    record = {
        "dataset": ds.name,
        "model": spec.label,
        "registry_name": spec.name,
        "family": model_entry(spec.name).tags.get("family", "tabular"),
        "seed": seed,
        "control": control,
        "params": params,
        "metrics": score(ds, splits, proba_val, proba_tests),
        "timing": {
            "train_s": train_s,
            "val_predict_s": val_s,
            "predict_s": predict_s,
            "predict_per_1k_s": predict_s / max(n_test, 1) * 1000.0,
            "n_train": len(train),
            "n_test": n_test,
        },
        "device": getattr(model, "device_", None) or info.get("device") or "cpu",
        "info": info,
    }
    predictions = {"val_proba": proba_val.astype(np.float32), "val_y": splits.val.y,
                   "val_w": splits.val.weights}
    for part in splits.tests:
        predictions[f"{part.name}_proba"] = proba_tests[part.name].astype(np.float32)
        predictions[f"{part.name}_y"] = part.y
        predictions[f"{part.name}_w"] = part.weights
    return record, predictions


def describe_dataset(ds: Dataset, splits: Splits, spec: DatasetSpec, seeds: list[int]) -> dict:
    """Facts for the report's dataset section (sizes and weight totals of the first seed)."""
    parts = {}
    for p in splits.parts:
        entry: dict[str, Any] = {"events": len(p)}
        for c, cname in enumerate(ds.class_names):
            mask = p.y == c
            entry[f"n_{cname}"] = int(mask.sum())
            if ds.weights is not None:
                entry[f"weight_{cname}"] = float(p.weights[mask].sum())
        parts[p.name] = entry
    return {
        "name": ds.name,
        "source": ds.source,
        "synthetic": ds.synthetic,
        "metric": ds.metric,
        "task": ds.task,
        "n_events": ds.n_events,
        "n_features": len(splits.feature_names),
        "features": list(splits.feature_names),
        "class_names": list(ds.class_names),
        "weight_totals": {ds.class_names[k]: v for k, v in (ds.weight_totals or {}).items()},
        "notes": list(ds.notes) + list(splits.notes),
        "preprocess": spec.preprocess.as_dict(),
        "seeds": seeds,
        "splits": parts,
    }


def warm_up(device: str) -> None:
    """Pay CUDA's one-off costs (context, cuDNN/cuBLAS loading) before any timed fit.

    Without this the first torch model of a run carries several seconds that belong to
    no model at all.
    """
    if device != "cuda":
        return
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(2)).cuda()
    x = torch.randn(4, 3, 16, 16, device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        net(x).float().sum().backward()
    (torch.randn(64, 64, device="cuda") @ torch.randn(64, 64, device="cuda")).sum().item()
    torch.cuda.synchronize()


def record_key(rec: dict) -> str:
    safe = lambda s: "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(s))  # noqa: E731
    return f"{safe(rec['dataset'])}__{safe(rec['model'])}__{rec['control']}__seed{rec['seed']}"


def run_suite(suite: Suite, out_dir: Path, opts: RunOptions = RunOptions(),
              log: Callable[[str], None] = print) -> Path:
    """Run every dataset x model x seed of a suite into ``out_dir``; returns ``out_dir``."""
    from tqdm.auto import tqdm

    from reports.markdown import render_report

    if opts.control not in CONTROLS:
        raise ConfigError(f"--control must be one of {', '.join(CONTROLS)}")
    device = resolve_device(opts.device)
    model_specs = select_models(suite, opts.models)
    out_dir = Path(out_dir)
    results: dict[str, Any] = {"schema": 1, "suite": suite.name, "blind": suite.blind,
                               "datasets": {}, "tuning": {}, "records": []}
    if opts.data is not None and not any(d.name == "higgsml" for d in suite.datasets):
        raise ConfigError(f"--data is the HiggsML file, but suite {suite.name!r} has no higgsml dataset")
    all_seeds: list[int] = []
    loaded = []
    for dspec in suite.datasets:  # load and validate everything before any training
        if opts.max_events is not None:
            dspec = replace(dspec, max_events=opts.max_events)
        ds = load_for_spec(dspec, opts.data)
        seeds = resolve_seeds(suite, dspec, ds, opts.seeds)
        loaded.append((dspec, ds, seeds))
        all_seeds.extend(s for s in seeds if s not in all_seeds)
    for spec in model_specs:  # unknown parameters fail here, before hours of training
        create_model(spec.name, random_state=0, device=device, **spec.params)
    config = {"suite": suite.raw, "suite_source": suite.source, "options": opts.__dict__ | {"models": list(opts.models or [])},
              "models": [m.label for m in model_specs]}
    out_dir.mkdir(parents=True, exist_ok=True)  # only once every dataset has loaded and validated
    store.write_json(out_dir / store.MANIFEST, make_manifest(config, all_seeds, device))
    warm_up(device)

    controls = ["none"] + (["shuffled"] if opts.control == "shuffled" else [])
    for dspec, ds, seeds in loaded:
        log(f"{ds.name}: {ds.n_events} events, {len(ds.feature_names)} features, seeds {seeds}")
        first = splits_for(ds, dspec, seeds[0])
        results["datasets"][ds.name] = describe_dataset(ds, first, dspec, seeds)
        tuned = {}
        for spec in model_specs:  # hyper-parameter search on the first seed's validation split
            if spec.search is not None and opts.tune:
                from .tuning import tune_for_run

                best, summary = tune_for_run(ds, first, spec, device, out_dir, opts.storage, seed=seeds[0],
                                             suite_name=suite.name, log=log)
                tuned[spec.label] = best
                results["tuning"][f"{ds.name}/{spec.label}"] = summary
                store.write_json(out_dir / store.RESULTS, results)
        jobs = [(seed, spec, control) for seed in seeds for spec in model_specs for control in controls]
        bar = tqdm(total=len(jobs), desc=ds.name, unit="fit", disable=not opts.progress, leave=False)
        for seed in seeds:
            splits = first if seed == seeds[0] else splits_for(ds, dspec, seed)
            for spec in model_specs:
                params = {**spec.params, **tuned.get(spec.label, {})}
                for control in controls:
                    bar.set_postfix_str(f"{spec.label} seed {seed}{' shuffled' if control != 'none' else ''}")
                    examples = None
                    if seed == seeds[0] and control == "none":
                        from reports.plots import encoder_examples_path

                        examples = encoder_examples_path(out_dir, ds.name, spec.label)
                    record, preds = train_and_evaluate(ds, splits, spec, params, seed, device, control,
                                                       examples_path=examples)
                    record["tuned"] = spec.label in tuned
                    key = record_key(record)
                    record["predictions"] = f"{store.PREDICTIONS}/{key}.npz"
                    store.write_npz(store.prediction_path(out_dir, key), **preds)
                    results["records"].append(record)
                    store.write_json(out_dir / store.RESULTS, results)
                    bar.update()
        bar.close()
    manifest = store.read_json(out_dir / store.MANIFEST)
    store.write_text(out_dir / store.REPORT, render_report(results, manifest, run_dir=out_dir, unblind=opts.unblind))
    return out_dir
