"""The harness: every dataset x model x seed x control of a suite, through the one data path.

``plan_run`` loads and validates everything (no file is written before it succeeds);
``run_suite`` then tunes (Optuna, validation only), fits, predicts, scores and records each
fit in the run directory. Every model sees the identical Splits for a seed. Reports are
rendered from the stored run afterwards (``reports``), never from memory.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from datasets import Dataset, Splits
from encoders.examples import write_encoder_sheet
from models import model_entry, validate_model

from . import pipeline, store
from .controls import CONTROLS
from .core import limits
from .core.device import resolve_device
from .core.errors import ConfigError
from .core.secrets import redact
from .executors import EXECUTORS, make_executor, plugin_modules
from .fits import (DatasetFacts, FitData, FitResult, FitTask, effective_threads, error_line,
                   failure_record, fit_resources, where_it_ran, with_threads)
from .importance import permutation_importance, selected_features
from .manifest import make_manifest
from .suite import DatasetSpec, ModelSpec, Suite
from .tuning import TuneJob, study_target, tune_for_run

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
    executor: str = "local"  # where fits run: this process, or Ray (see benchmarks.executors)
    address: str | None = None  # Ray cluster to join (default: start a local Ray)
    threads: int | None = None  # CPU threads per fit (default: local every core, Ray a few per fit)
    gpus_per_fit: float = 1.0  # GPU share of a fit on Ray (0.25: four fits per GPU)
    workers: int = 1  # Ray tasks per Optuna search
    importance: int = 0  # repeats of the permutation importance of every first-seed fit (0: none)

    def __post_init__(self) -> None:
        if self.seeds is not None:
            limits.integer(self.seeds, "--seeds", 1, limits.MAX_SEEDS)
        if self.max_events is not None:
            limits.integer(self.max_events, "--max-events", 1, limits.MAX_EVENTS)
        if self.models is not None and not self.models:
            raise ConfigError("--models names no model")
        limits.integer(self.importance, "--importance", 0, 100)
        self._check_executor()

    def _check_executor(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.threads is not None:
            limits.integer(self.threads, "--threads", 1, 1024)
        limits.integer(self.workers, "--workers", 1, 1024)
        if not (isinstance(self.gpus_per_fit, (int, float)) and 0 < self.gpus_per_fit <= 1):
            raise ConfigError(f"--gpus-per-fit must be in (0, 1], got {self.gpus_per_fit!r}")
        if self.executor == "local" and (self.address or self.workers != 1):
            raise ConfigError("--address and --workers go with --executor ray")


@dataclass(frozen=True, eq=False)
class PlannedDataset:
    spec: DatasetSpec
    ds: Dataset
    seeds: list[int]
    first: pipeline.SeedSplits  # the first seed's: made while planning, so bad splits fail before any work


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

    def fits(self) -> list[tuple[str, str, int, str]]:
        """Every (dataset, model label, seed, control) the run will record, in run order."""
        return [(d.ds.name, m.label, seed, c) for d in self.datasets for seed in d.seeds
                for m in self.models for c in self.controls]

    def fingerprint(self, opts: RunOptions) -> str:
        """What the results depend on: data, splits, models, seeds, controls, device, search.

        A resumed run must match it, so that one results.json never mixes two setups.
        """
        what = {
            "datasets": [[asdict(d.spec), d.ds.fingerprint(), d.seeds] for d in self.datasets],
            "models": [asdict(m) for m in self.models],
            "controls": list(self.controls), "device": self.device,
            "tune": opts.tune, "storage": redact(opts.storage) if opts.storage else None,
        }
        if opts.threads is not None:  # threads change CNN results on CPU in the last bits
            what["threads"] = opts.threads
        return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


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
        seeds = pipeline.resolve_seeds(suite, dspec, ds, opts.seeds)
        first = pipeline.SeedSplits(ds, dspec, seeds[0])
        for spec in models:  # bad parameters (for this data) fail here, before hours of training
            validate_model(spec.name, **pipeline.model_kwargs(spec, spec.params, 0, device, first.for_model(spec)))
        planned.append(PlannedDataset(dspec, ds, seeds, first))
    controls = (NO_CONTROL,) + ((opts.control,) if opts.control != NO_CONTROL else ())
    return Plan(suite, tuple(planned), models, controls, device)


def resampling_facts(ds: Dataset, splits: Splits, spec: DatasetSpec, seeds: list[int],
                     models: tuple[ModelSpec, ...] = ()) -> dict:
    """How the repeats relate, for the report's statistics: outer folds of repeated stratified
    K-fold (test parts disjoint within a repetition, training parts overlapping: comparisons over
    seeds use the corrected resampled t-test with ``test_train_ratio``) or fixed test sets."""
    scopes = {m.label: m.search.scope for m in models if m.search is not None}
    search = (None if not scopes else "nested" if set(scopes.values()) == {"fold"}
              else "once" if set(scopes.values()) == {"once"} else "mixed")
    facts = {"scheme": "fixed", "folds": None, "repeats": len(seeds), "repetitions": None,
             "search_pool": False, "search": search, "search_scopes": scopes, "test_train_ratio": None}
    if getattr(ds.split_policy, "folded", False):
        n_test = sum(len(p) for p in splits.tests)
        n_train = len(splits.train) + len(splits.val)  # validation chooses epochs and cuts: it trains too
        # A figure of one test part (HiggsML's public or private half of the fold) rests on that
        # part's events: its correction uses its own size.
        facts.update(scheme="folds", folds=spec.k, repetitions=-(-len(seeds) // spec.k),
                     search_pool=spec.search_pool, test_train_ratio=n_test / n_train if n_train else None,
                     test_train_ratios={p.name: len(p) / n_train for p in splits.tests} if n_train else {})
    return facts


def describe_dataset(ds: Dataset, splits: Splits, spec: DatasetSpec, seeds: list[int],
                     models: tuple[ModelSpec, ...] = ()) -> dict:
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
        "metric_options": ds.scorer.options(),
        "task": ds.task,
        "n_events": ds.n_events,
        "n_features": len(splits.feature_names),
        "features": list(splits.feature_names),
        "categorical": list(splits.categorical),  # a report tells an embedded column from one fed as a number
        "class_names": list(ds.class_names),
        "weight_totals": {ds.class_names[k]: v for k, v in (ds.weight_totals or {}).items()},
        "notes": list(ds.notes) + list(splits.notes),
        "preprocess": spec.preprocess.as_dict(),
        "seeds": seeds,
        "resampling": resampling_facts(ds, splits, spec, seeds, models),
        "splits": parts,
    }


def train_and_evaluate(ds: Dataset | DatasetFacts, splits: Splits, spec: ModelSpec, params: dict, seed: int,
                       device: str, control: str = NO_CONTROL, examples_path: Path | None = None,
                       importance_repeats: int = 0, threads: int | None = None) -> tuple[dict, dict[str, np.ndarray]]:
    """Fit one model on one set of splits; return its record and its predictions.

    A control fits (early stopping included) on the splits the control makes, then is
    scored exactly like the real model: on the true validation and test labels. With
    `importance_repeats`, the fitted model's permutation importance on the validation split
    goes into the record too. ``threads`` goes to the model's thread parameter (the record
    keeps ``params`` as the suite gave them).
    """
    model = pipeline.build_model(spec, with_threads(spec.name, params, threads), seed, device, splits)
    fit_on = splits if control == NO_CONTROL else CONTROLS.get(control).factory(splits, seed)
    train_s = pipeline.fit(model, fit_on)
    if examples_path is not None and hasattr(model, "encoder_"):
        write_encoder_sheet(model.encoder_, splits.val.X, splits.val.y, ds.class_names, examples_path)
    ranked = (permutation_importance(model, splits, ds.scorer.objective, importance_repeats, seed)
              if importance_repeats else None)
    pred = pipeline.predict(model, splits)
    n_test = sum(len(p) for p in splits.tests)
    info = dict(getattr(model, "info_", {}) or {})
    scored = ds.scorer.score(pred.val, splits.val, [(p, pred.tests[p.name]) for p in splits.tests],
                                         ds.n_classes)
    record = {
        "dataset": ds.name,
        "model": spec.label,
        "registry_name": spec.name,
        "family": model_entry(spec.name).meta.family,
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
    facts = model_entry(spec.name).meta.report_facts
    if facts:  # what a report needs to place the model (e.g. its rung of a technique ladder)
        record["facts"] = dict(facts)
    if ranked is not None:
        record["importance"] = ranked.as_dict()
    return record, prediction_arrays(splits, pred)


def prediction_arrays(splits: Splits, pred: pipeline.Predictions) -> dict[str, np.ndarray]:
    """What the report's statistics, audit and plots are computed from: scores, labels, weights."""
    arrays = {"val_proba": pred.val.astype(np.float32), "val_y": splits.val.y, "val_w": splits.val.weights}
    for part in splits.tests:
        arrays[f"{part.name}_proba"] = pred.tests[part.name].astype(np.float32)
        arrays[f"{part.name}_y"] = part.y
        arrays[f"{part.name}_w"] = part.weights
    return arrays


_WARM: set[str] = set()  # devices this process has warmed up


def run_fit(data: FitData, task: FitTask, executor: str = "local") -> FitResult:
    """One fit where the executor runs it (this process or a Ray worker): its record and
    arrays, or its failure as a record with a one-line error; the driver stores either."""
    where = where_it_ran(executor)
    try:
        for module in task.plugins:  # models registered outside `models` (on a fresh worker)
            importlib.import_module(module)
        # On Ray, a GPU task sees only the GPU(s) Ray gave it, renumbered from 0.
        device = "cuda" if executor != "local" and task.resources.gpus else task.device
        splits = data.splits[task.spec.label]
        validate_model(task.spec.name, **pipeline.model_kwargs(task.spec, task.params, 0, device, splits))  # as planning did
        if executor != "local" and device.startswith("cuda") and device not in _WARM:
            warm_up(device)
            _WARM.add(device)
        with tempfile.TemporaryDirectory(prefix="supertml-fit-") as tmp:
            sheet = Path(tmp) / "examples.png" if task.examples else None
            record, arrays = train_and_evaluate(data.facts, splits, task.spec, task.params, task.seed, device,
                                                task.control, sheet, task.importance, threads=task.resources.threads)
            png = sheet.read_bytes() if sheet is not None and sheet.is_file() else None
    except Exception as exc:  # noqa: BLE001 - the fit's own failure is recorded; the run goes on
        kind, message = error_line(exc)
        return FitResult(task.key, failure_record(task, kind, message, where))
    record["info"]["threads"] = effective_threads(task.resources, record["info"])
    record.update(tuned=task.tuned, **where)
    return FitResult(task.key, record, arrays, png)


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


def _selected(splits: Splits, selection: dict | None) -> Splits:
    return splits if selection is None else splits.keep_features(selection["features"])


def select_features(plan: Plan, pd: PlannedDataset, results: dict, found: dict,
                    log: Callable[[str], None]) -> dict[str, dict]:
    """The features each model with a ``select`` trains on, ranked once per dataset on the
    search splits (never a test event of any seed); stored with the dataset's facts. The
    ranking runs in this process, whichever executor runs the fits."""
    out = {}
    for spec in plan.models:
        if not spec.select:
            continue
        if spec.label not in found:
            log(f"{pd.ds.name}: ranking features for {spec.label} by {spec.select['by']} (permutation importance)")
            features, ranking = selected_features(pd.ds, pd.spec, spec, pd.seeds[0], plan.device)
            found[spec.label] = {**spec.select, "features": features, "ranking": ranking.as_dict()}
        out[spec.label] = found[spec.label]
    if out:
        results["datasets"][pd.ds.name]["selections"] = out
    return out


def search_key(dataset: str, label: str, seed: int | None = None) -> str:
    """The key of a search in results.json's ``tuning``: per dataset and model, and per seed for
    a nested search (each repeat searches its own outer fold's training part)."""
    return f"{dataset}/{label}" if seed is None else f"{dataset}/{label}/seed {seed}"


def tune_models(plan: Plan, pd: PlannedDataset, out_dir: Path, results: dict, opts: RunOptions,
                log: Callable[[str], None], selections: dict | None = None, executor=None) -> dict:
    """Optuna search per model that asks for one, never on a test event of the fold it serves:
    scope ``fold`` (nested) searches each seed's own train/validation parts; scope ``once``
    searches once on the fixed search pool the dataset keeps apart from every fold's tests.

    Returns the best parameters by label (``once``) or by (label, seed) (``fold``). A resumed
    run reuses the searches it already recorded. On Ray each search runs as ``opts.workers``
    tasks sharing the study; locally in this process.
    """
    tuned: dict = {}
    searched = [spec for spec in plan.models if spec.search is not None and opts.tune]
    if not searched:
        return tuned
    notes: list[str] = []  # stored as it grows: an interrupted run keeps what its searches saw
    results["datasets"][pd.ds.name]["search"] = notes
    threads = _threads(executor, opts)
    for spec in searched:
        nested = spec.search.scope == "fold"
        for seed in (pd.seeds if nested else pd.seeds[:1]):
            key = search_key(pd.ds.name, spec.label, seed if nested else None)
            seed_splits = pipeline.SeedSplits(pd.ds, pd.spec, seed, search=spec.search.scope)
            notes.extend(n for n in seed_splits.raw.notes if n not in notes)
            target = (spec.label, seed) if nested else spec.label
            done = results["tuning"].get(key)
            if done is not None:
                tuned[target] = done["best_params"]
                continue
            splits = _selected(seed_splits.for_model(spec), (selections or {}).get(spec.label))
            if executor is None or executor.name == "local":
                best, summary = tune_for_run(pd.ds, splits, spec, plan.device, out_dir, opts.storage, seed=seed,
                                             suite_name=plan.suite.name, log=log, threads=threads, nested=nested)
            else:
                url, study = study_target(out_dir, opts.storage, plan.suite.name, pd.ds.name, spec.label,
                                          seed=seed if nested else None)
                job = TuneJob(pd.ds.name, pd.ds.scorer, replace(splits, tests=()), spec, plan.device, url, study,
                              seed, plan.suite.base_seed, None, None)
                best, summary = executor.search(job, fit_resources(spec, plan.device, threads, opts.gpus_per_fit),
                                                plugin_modules([spec]))
            tuned[target] = best
            results["tuning"][key] = {**summary, "label": spec.label, "seed": seed if nested else None,
                                      "scope": spec.search.scope}
            store.write_json(out_dir / store.RESULTS, results)
    return tuned


def tuned_params(tuned: dict, label: str, seed: int) -> dict | None:
    """The searched parameters a fit of (label, seed) uses: its own nested search's, else the
    dataset's once-per-dataset search's; None without a search."""
    return tuned.get((label, seed), tuned.get(label))


def tune_seconds(results: dict, dataset: str, label: str, seed: int, tuned: bool) -> float:
    """A record's share of the search: the seconds this run spent on the search whose parameters
    it uses (a nested search serves one seed; a once-per-dataset search serves every seed and
    counts fully on each); 0 without a search. Trials a shared storage already held (``tune``
    workers) cost this run nothing and are not counted."""
    if not tuned:
        return 0.0
    tuning = results["tuning"]
    summary = tuning.get(search_key(dataset, label, seed)) or tuning.get(search_key(dataset, label))
    return float(summary.get("search_s") or 0.0) if summary else 0.0


def _threads(executor, opts: RunOptions) -> int | None:
    return opts.threads if executor is None else executor.threads(opts.threads)


def fit_batches(plan: Plan, pd: PlannedDataset, tuned: dict[str, dict], todo: set, opts: RunOptions,
                executor=None, selections: dict | None = None) -> Iterator[tuple[FitData, list[FitTask]]]:
    """The fits still to do, per seed, with the data they share: the seed's events split once,
    each preprocessing its models ask for fitted once, each model's feature selection applied."""
    ds, seeds = pd.ds, pd.seeds
    threads = _threads(executor, opts)
    plugins = plugin_modules(plan.models) if executor is not None and executor.name != "local" else ()
    for seed in seeds:
        tasks = [FitTask(ds.name, spec, {**spec.params, **(tuned_params(tuned, spec.label, seed) or {})}, seed,
                         control, plan.device, fit_resources(spec, plan.device, threads, opts.gpus_per_fit),
                         examples=seed == seeds[0] and control == NO_CONTROL,
                         tuned=tuned_params(tuned, spec.label, seed) is not None,
                         plugins=plugins,
                         importance=opts.importance if seed == seeds[0] and control == NO_CONTROL else 0)
                 for spec in plan.models for control in plan.controls if (ds.name, spec.label, seed, control) in todo]
        if tasks:
            by_preprocessing = pd.first if seed == seeds[0] else pipeline.SeedSplits(ds, pd.spec, seed)
            splits = {t.spec.label: _selected(by_preprocessing.for_model(t.spec), (selections or {}).get(t.spec.label))
                      for t in tasks}
            yield FitData(DatasetFacts.of(ds), splits), tasks


def store_result(out_dir: Path, results: dict, result: FitResult, order: dict, log: Callable[[str], None]) -> None:
    """The driver writes every result (the executor never does): example images, then the
    record after its predictions, records kept in plan order; a failure with its error."""
    dataset, label, seed, control = result.key
    if result.failed:
        store.add_failure(out_dir, results, result.record)
        log(f"{dataset}/{label} seed {seed}{'' if control == NO_CONTROL else ' ' + control} failed: "
            f"{result.record['error']}")
        return
    if result.examples_png is not None:
        store.write_bytes(store.example_image_path(out_dir, dataset, label), result.examples_png)
    result.record["timing"]["tune_s"] = tune_seconds(results, dataset, label, seed, result.record["tuned"])
    store.add_record(out_dir, results, result.record, result.arrays, order=order)


def run_dataset(plan: Plan, pd: PlannedDataset, out_dir: Path, results: dict, opts: RunOptions,
                log: Callable[[str], None], executor=None) -> None:
    """Every model x seed x control of one dataset, each record stored as soon as it exists."""
    from tqdm.auto import tqdm

    ds = pd.ds
    log(f"{ds.name}: {ds.n_events} events, {len(ds.feature_names)} features, seeds {pd.seeds}")
    info = results["datasets"].get(ds.name)  # a resumed run keeps what it already found
    results["datasets"][ds.name] = describe_dataset(ds, pd.first.for_model(ModelSpec("", "")), pd.spec, pd.seeds,
                                                    plan.models)
    selections = select_features(plan, pd, results, (info or {}).get("selections") or {}, log)
    executor = executor or make_executor("local")
    tuned = tune_models(plan, pd, out_dir, results, opts, log, selections, executor)
    done = {store.fit_key(r) for r in results["records"]}
    todo = {f for f in plan.fits() if f[0] == ds.name and f not in done}
    order = {f: i for i, f in enumerate(plan.fits())}
    bar = tqdm(total=len(todo), desc=ds.name, unit="fit", disable=not opts.progress, leave=False)
    for result in executor.run_fits(run_fit, fit_batches(plan, pd, tuned, todo, opts, executor, selections)):
        store_result(out_dir, results, result, order, log)
        _, label, seed, control = result.key
        bar.set_postfix_str(f"{label} seed {seed}{'' if control == NO_CONTROL else ' ' + control}")
        bar.update()
    bar.close()


def _start(plan: Plan, out_dir: Path, opts: RunOptions, fingerprint: str, executor=None) -> dict:
    """A new run: manifest (with the fingerprint and the planned fits) and an empty results.json."""
    config = {"suite": plan.suite.raw, "suite_source": plan.suite.source,
              "options": opts.__dict__ | {"models": list(opts.models or [])},
              "models": [m.label for m in plan.models]}
    manifest = make_manifest(config, plan.seeds, plan.device)
    manifest.update(fingerprint=fingerprint, fits=[list(f) for f in plan.fits()])
    if executor is not None:
        manifest["executor"] = executor.describe(opts)
    store.write_json(out_dir / store.MANIFEST, manifest)
    results = store.new_results(plan.suite.name, plan.suite.blind)
    store.write_json(out_dir / store.RESULTS, results)
    return results


def _resume(out_dir: Path, fingerprint: str, log: Callable[[str], None]) -> dict:
    """An interrupted run's results, keeping the fits whose predictions are intact."""
    results, manifest = store.load_run(out_dir)
    if manifest.get("fingerprint") != fingerprint:
        raise ConfigError(f"{out_dir} was run with another suite, options or data; "
                          "--resume must repeat the original run exactly")
    kept = [r for r in results["records"] if store.readable_record(out_dir, r)]
    if len(kept) < len(results["records"]):
        log(f"{len(results['records']) - len(kept)} record(s) with missing or corrupt predictions will be rerun")
    if results.get("failures"):
        log(f"{len(results['failures'])} failed fit(s) will be rerun")
    results["records"], results["failures"] = kept, []
    store.write_json(out_dir / store.RESULTS, results)
    log(f"resuming {out_dir}: {len(kept)} fit(s) already recorded")
    return results


def run_suite(suite: Suite, out_dir: Path, opts: RunOptions = RunOptions(),
              log: Callable[[str], None] = print, resume: bool = False) -> Path:
    """Run every dataset x model x seed (x control) of a suite into ``out_dir``; returns it.

    The directory is locked for the whole run (a second process on it fails at once);
    ``resume=True`` finishes an interrupted run of the same suite, options and data. A
    directory this call created is removed again if it fails before any work was stored.
    Fits run on ``opts.executor``; whichever it is, this process alone writes the directory.
    """
    plan = plan_run(suite, opts)
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with store.RunLock(out_dir):
            fingerprint = plan.fingerprint(opts)
            if (out_dir / store.RESULTS).exists() and not resume:
                raise ConfigError(f"{out_dir} already holds a run; finish it with --resume {out_dir} "
                                  "or choose another --out")
            if resume and not (out_dir / store.RESULTS).exists():
                raise ConfigError(f"{out_dir} holds no run to resume")
            with make_executor(opts.executor, opts.address, opts.workers, opts.progress) as executor:
                threads = executor.threads(opts.threads)
                executor.check((m.label, fit_resources(m, plan.device, threads, opts.gpus_per_fit)) for m in plan.models)
                results = _resume(out_dir, fingerprint, log) if resume else _start(plan, out_dir, opts, fingerprint, executor)
                if executor.name == "local":
                    warm_up(plan.device)  # Ray workers warm up their own GPU before their first fit
                for pd in plan.datasets:
                    run_dataset(plan, pd, out_dir, results, opts, log, executor)
    except BaseException:
        if created:
            store.discard_unused_run_dir(out_dir)
        raise
    return out_dir
