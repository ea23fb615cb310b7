"""The harness: every dataset x model x seed x control of a suite, through the one data path.

``plan_run`` loads and validates everything (no file is written before it succeeds);
``run_suite`` then tunes (Optuna, validation only), fits, predicts, scores and records each
fit in the run directory. Every model sees the identical Splits for a seed. Reports are
rendered from the stored run afterwards (``reports``), never from memory.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from datasets import Dataset, Splits
from encoders.examples import write_encoder_sheet
from models import create_model, model_entry

from . import pipeline, store
from .controls import CONTROLS
from .core.device import resolve_device
from .core.errors import ConfigError
from .core.scoring import get_metric
from .manifest import make_manifest
from .suite import DatasetSpec, ModelSpec, Suite
from .tuning import tune_for_run

NO_CONTROL = "none"


@dataclass(frozen=True)
class RunOptions:
    """Command-line overrides of a suite."""

    data: str | None = None
    models: tuple[str, ...] | None = None
    seeds: int | None = None
    device: str = "auto"
    max_events: int | None = None
    control: str = NO_CONTROL
    progress: bool = True
    tune: bool = True
    storage: str | None = None
    unblind: bool = False


@dataclass(frozen=True, eq=False)
class PlannedDataset:
    spec: DatasetSpec
    ds: Dataset
    seeds: list[int]


@dataclass(frozen=True, eq=False)
class Plan:
    """Everything a run will do, loaded and validated before any file is written."""

    suite: Suite
    datasets: tuple[PlannedDataset, ...]
    models: tuple[ModelSpec, ...]
    controls: tuple[str, ...]
    device: str

    @property
    def seeds(self) -> list[int]:
        return list(dict.fromkeys(s for d in self.datasets for s in d.seeds))


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


def plan_run(suite: Suite, opts: RunOptions) -> Plan:
    """Load and validate every dataset and model of the run; raises before any training."""
    if opts.control != NO_CONTROL:
        CONTROLS.get(opts.control)
    device = resolve_device(opts.device)
    models = select_models(suite, opts.models)
    if opts.data is not None and not any(pipeline.takes_data_file(d.name) for d in suite.datasets):
        raise ConfigError(f"--data is a dataset file, but no dataset of suite {suite.name!r} reads one")
    planned = []
    for dspec in suite.datasets:
        if opts.max_events is not None:
            dspec = replace(dspec, max_events=opts.max_events)
        ds = pipeline.load_for_spec(dspec, opts.data)
        planned.append(PlannedDataset(dspec, ds, pipeline.resolve_seeds(suite, dspec, ds, opts.seeds)))
    for spec in models:  # unknown parameters fail here, before hours of training
        create_model(spec.name, random_state=0, device=device, **spec.params)
    controls = (NO_CONTROL,) + ((opts.control,) if opts.control != NO_CONTROL else ())
    return Plan(suite, tuple(planned), models, controls, device)


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


def train_and_evaluate(ds: Dataset, splits: Splits, spec: ModelSpec, params: dict, seed: int,
                       device: str, control: str = NO_CONTROL, examples_path: Path | None = None
                       ) -> tuple[dict, dict[str, np.ndarray]]:
    """Fit one model on one set of splits; return its record and its predictions.

    A control fits (early stopping included) on the splits the control makes, then is
    scored exactly like the real model: on the true validation and test labels.
    """
    model = pipeline.build_model(spec, params, seed, device, splits)
    fit_on = splits if control == NO_CONTROL else CONTROLS.get(control).factory(splits, seed)
    train_s = pipeline.fit(model, fit_on)
    if examples_path is not None and hasattr(model, "encoder_"):
        write_encoder_sheet(model.encoder_, splits.val.X, splits.val.y, ds.class_names, examples_path)
    pred = pipeline.predict(model, splits)
    n_test = sum(len(p) for p in splits.tests)
    info = dict(getattr(model, "info_", {}) or {})
    scored = get_metric(ds.metric).score(pred.val, splits.val, [(p, pred.tests[p.name]) for p in splits.tests],
                                         ds.n_classes)
    record = {
        "dataset": ds.name,
        "model": spec.label,
        "registry_name": spec.name,
        "family": model_entry(spec.name).tags.get("family", "tabular"),
        "seed": seed,
        "control": control,
        "params": params,
        "metrics": scored,
        "timing": {
            "train_s": train_s,
            "val_predict_s": pred.val_s,
            "predict_s": pred.predict_s,
            "predict_per_1k_s": pred.predict_s / max(n_test, 1) * 1000.0,
            "n_train": len(splits.train),
            "n_test": n_test,
        },
        "device": getattr(model, "device_", None) or info.get("device") or "cpu",
        "info": info,
    }
    return record, prediction_arrays(splits, pred)


def prediction_arrays(splits: Splits, pred: pipeline.Predictions) -> dict[str, np.ndarray]:
    """What the report's statistics, audit and plots are computed from: scores, labels, weights."""
    arrays = {"val_proba": pred.val.astype(np.float32), "val_y": splits.val.y, "val_w": splits.val.weights}
    for part in splits.tests:
        arrays[f"{part.name}_proba"] = pred.tests[part.name].astype(np.float32)
        arrays[f"{part.name}_y"] = part.y
        arrays[f"{part.name}_w"] = part.weights
    return arrays


def warm_up(device: str) -> None:
    """Pay CUDA's one-off costs (context, cuDNN/cuBLAS loading) before any timed fit.

    Without this the first torch model of a run carries several seconds that belong to
    no model at all.
    """
    if not device.startswith("cuda"):
        return
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.LazyLinear(2)).to(device)
    x = torch.randn(4, 3, 16, 16, device=device)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        net(x).float().sum().backward()
    (torch.randn(64, 64, device=device) @ torch.randn(64, 64, device=device)).sum().item()
    torch.cuda.synchronize(device)


def tune_models(plan: Plan, pd: PlannedDataset, first: Splits, out_dir: Path, results: dict,
                opts: RunOptions, log: Callable[[str], None]) -> dict[str, dict]:
    """Optuna search per model that asks for one, on the first seed's train/validation parts."""
    tuned: dict[str, dict] = {}
    for spec in plan.models:
        if spec.search is None or not opts.tune:
            continue
        best, summary = tune_for_run(pd.ds, first, spec, plan.device, out_dir, opts.storage,
                                     seed=pd.seeds[0], suite_name=plan.suite.name, log=log)
        tuned[spec.label] = best
        results["tuning"][f"{pd.ds.name}/{spec.label}"] = summary
        store.write_json(out_dir / store.RESULTS, results)
    return tuned


def run_dataset(plan: Plan, pd: PlannedDataset, out_dir: Path, results: dict, opts: RunOptions,
                log: Callable[[str], None]) -> None:
    """Every model x seed x control of one dataset, each record stored as soon as it exists."""
    from tqdm.auto import tqdm

    ds, seeds = pd.ds, pd.seeds
    log(f"{ds.name}: {ds.n_events} events, {len(ds.feature_names)} features, seeds {seeds}")
    first = pipeline.splits_for(ds, pd.spec, seeds[0])
    results["datasets"][ds.name] = describe_dataset(ds, first, pd.spec, seeds)
    tuned = tune_models(plan, pd, first, out_dir, results, opts, log)
    bar = tqdm(total=len(seeds) * len(plan.models) * len(plan.controls), desc=ds.name, unit="fit",
               disable=not opts.progress, leave=False)
    for seed in seeds:
        splits = first if seed == seeds[0] else pipeline.splits_for(ds, pd.spec, seed)
        for spec in plan.models:
            params = {**spec.params, **tuned.get(spec.label, {})}
            for control in plan.controls:
                bar.set_postfix_str(f"{spec.label} seed {seed}{'' if control == NO_CONTROL else ' ' + control}")
                examples = (store.example_image_path(out_dir, ds.name, spec.label)
                            if seed == seeds[0] and control == NO_CONTROL else None)
                record, arrays = train_and_evaluate(ds, splits, spec, params, seed, plan.device, control, examples)
                record["tuned"] = spec.label in tuned
                store.add_record(out_dir, results, record, arrays)
                bar.update()
    bar.close()


def run_suite(suite: Suite, out_dir: Path, opts: RunOptions = RunOptions(),
              log: Callable[[str], None] = print) -> Path:
    """Run every dataset x model x seed (x control) of a suite into ``out_dir``; returns it."""
    plan = plan_run(suite, opts)
    out_dir = Path(out_dir)
    config = {"suite": suite.raw, "suite_source": suite.source,
              "options": opts.__dict__ | {"models": list(opts.models or [])},
              "models": [m.label for m in plan.models]}
    out_dir.mkdir(parents=True, exist_ok=True)  # only once every dataset has loaded and validated
    store.write_json(out_dir / store.MANIFEST, make_manifest(config, plan.seeds, plan.device))
    results = store.new_results(suite.name, suite.blind)
    warm_up(plan.device)
    for pd in plan.datasets:
        run_dataset(plan, pd, out_dir, results, opts, log)
    return out_dir
