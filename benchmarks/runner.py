"""The harness: every dataset x model x seed x control of a suite, through the one data path.

``plan_run`` loads and validates everything (no file is written before it succeeds);
``run_suite`` then describes each dataset, ranks features and searches (Optuna, never a test
event), and has the executor run each fit (``run_fit``: the data path of
``pipeline.train_and_evaluate``); each fit's typed record goes to the run's
:class:`~benchmarks.store.RunWriter` once, in plan order. Every model sees the identical
Splits for a seed. ``run_suite`` returns the :class:`~benchmarks.store.StoredRun` that reports
are rendered from.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from datasets import Dataset, Splits
from models import model_entry

from . import pipeline, store
from .controls import CONTROLS
from .core import limits
from .core.device import resolve_device
from .core.errors import ConfigError
from .core.naming import refuse_shared_files
from .core.secrets import redact
from .executors import EXECUTORS, check_executor_options, make_executor
from .fits import (DatasetFacts, FitData, FitResult, FitTask, effective_threads, error_line, failure_record,
                   fit_resources, warm_up, where_it_ran)
from .importance import permutation_importance, selected_features
from .manifest import make_manifest
from .run_record import NO_CONTROL
from .suite import DEFAULT, DatasetSpec, ModelSpec, Suite
from .tuning import TuneJob, reclaim_orphans, select_ensemble, storage_dir, study_target



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
        check_executor_options(self.executor, self.address, self.workers)


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

    def order(self) -> dict[tuple[str, str, int, str], int]:
        """Each planned fit's position: records are stored in this order."""
        return {f: i for i, f in enumerate(self.fits())}

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
        match = [m for m in suite.models if name in (m.label, m.name, m.base)]
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
    if not opts.tune:  # without searches a tuned entry would be its default under another name
        models = tuple(m for m in models if m.entry in (None, DEFAULT))
        if not models:
            raise ConfigError("--no-tune leaves no model to run: every model asked for is a tuned entry")
    refuse_shared_files("models", [(m.label, m.label) for m in models], "; give each a distinct label")
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
            pipeline.check_model(spec, spec.params, device, first.for_model(spec))
        planned.append(PlannedDataset(dspec, ds, seeds, first))
        refuse_shared_files("datasets", [(d.spec.name, d.ds.name) for d in planned],
                            "; list each table once (a csv: table is named after its file: rename one of the files)")
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


def run_fit(data: FitData, task: FitTask) -> FitResult:
    """One fit where the executor runs it (this process or a Ray worker): its record and
    arrays, or its failure with a one-line error; the driver stores either. The executor
    adds where it ran."""
    where = where_it_ran()
    try:
        for module in task.plugins:  # models registered outside `models` (on a fresh worker)
            importlib.import_module(module)
        splits = data.splits[task.spec.label]
        pipeline.check_model(task.spec, task.params, task.device, splits)  # as planning did
        warm_up(task.device)
        rank = None
        if task.importance:
            def rank(model, splits):
                return permutation_importance(model, splits, data.facts.scorer.objective, task.importance, task.seed)
        record, arrays, png = pipeline.train_and_evaluate(data.facts, splits, task.spec, task.params, task.seed,
                                                          task.device, task.control, examples=task.examples, rank=rank,
                                                          threads=task.resources.threads)
    except Exception as exc:  # noqa: BLE001 - the fit's own failure is recorded; the run goes on
        kind, message = error_line(exc)
        return FitResult(task.key, failure_record(task, kind, message, where))
    record = record.with_(info={**record.info, "threads": effective_threads(task.resources, record.info)},
                          tuned=task.tuned, **where)
    return FitResult(task.key, record, arrays, png)


def _selected(splits: Splits, selection: dict | None) -> Splits:
    return splits if selection is None else splits.keep_features(selection["features"])


def select_features(plan: Plan, planned: PlannedDataset, writer: store.RunWriter, found: Mapping,
                    log: Callable[[str], None]) -> dict[str, dict]:
    """The features each model with a ``select`` trains on, ranked once per dataset on the
    search splits (never a test event of any seed); stored with the dataset's facts. The
    ranking runs in this process, whichever executor runs the fits."""
    out = {}
    for spec in plan.models:
        if not spec.select:
            continue
        if spec.label in found:
            out[spec.label] = found[spec.label]
            continue
        log(f"{planned.ds.name}: ranking features for {spec.label} by {spec.select['by']} (permutation importance)")
        features, ranking = selected_features(planned.ds, planned.spec, spec, planned.seeds[0], plan.device)
        out[spec.label] = {**spec.select, "features": features, "ranking": ranking.as_dict()}
    if out:
        writer.add_to_dataset(planned.ds.name, "selections", out)
    return out


def search_key(dataset: str, label: str, seed: int | None = None) -> str:
    """The key of a search in results.json's ``tuning``: per dataset and model, and per seed for
    a nested search (each repeat searches its own outer fold's training part)."""
    return f"{dataset}/{label}" if seed is None else f"{dataset}/{label}/seed {seed}"


def tune_models(plan: Plan, planned: PlannedDataset, writer: store.RunWriter, opts: RunOptions,
                log: Callable[[str], None], executor, selections: Mapping | None = None) -> dict:
    """Optuna search per model that asks for one, never on a test event of the fold it serves:
    scope ``fold`` (nested) searches each seed's own train/validation parts; scope ``once``
    searches once on the fixed search pool the dataset keeps apart from every fold's tests.

    Returns the best parameters by label (``once``) or by (label, seed) (``fold``). A resumed
    run reuses the searches it already recorded. The executor runs each search (in this
    process, or as ``opts.workers`` Ray tasks sharing the study).
    """
    tuned: dict = {}
    searched = [spec for spec in plan.models if spec.search is not None and opts.tune]
    if not searched:
        return tuned
    ds = planned.ds
    notes: list[str] = []  # stored as they grow: an interrupted run keeps what its searches saw
    writer.add_to_dataset(ds.name, "search", notes)
    threads = executor.threads(opts.threads)
    ensembles = {spec.search_label: spec for spec in searched if spec.is_ensemble}
    first: dict[str, ModelSpec] = {}
    for spec in searched:  # the entries of one model share one search
        first.setdefault(spec.search_label, spec)
    for spec in first.values():
        nested = spec.search.scope == "fold"
        for seed in (planned.seeds if nested else planned.seeds[:1]):
            key = search_key(ds.name, spec.search_label, seed if nested else None)
            seed_splits = pipeline.SeedSplits(ds, planned.spec, seed, search=spec.search.scope)
            new_notes = [n for n in seed_splits.raw.notes if n not in notes]
            if new_notes:
                notes.extend(new_notes)
                writer.add_to_dataset(ds.name, "search", notes)
            target = (spec.search_label, seed) if nested else spec.search_label
            done = writer.search(key)
            if done is not None:
                tuned[target] = done
                continue
            splits = _selected(seed_splits.for_model(spec), (selections or {}).get(spec.label))
            url, study = study_target(writer.run_dir, opts.storage, plan.suite.name, ds.name, spec.search_label,
                                      seed=seed if nested else None)
            if storage_dir(url) == writer.run_dir.resolve():  # ours alone, under the run lock
                reclaimed = reclaim_orphans(url, study)
                if reclaimed:
                    log(f"{study}: {reclaimed} trial(s) of the interrupted run re-queued")
            job = TuneJob(ds.name, ds.scorer, replace(splits, tests=()), spec, plan.device, url, study,
                          seed, plan.suite.base_seed, None, None)
            best, summary = executor.search(job, fit_resources(spec, plan.device, threads, opts.gpus_per_fit), log)
            summary = {**summary, "best_params": dict(best), "label": spec.search_label,
                       "seed": seed if nested else None, "scope": spec.search.scope}
            if spec.search_label in ensembles:  # chosen in this process, from what the study kept
                t0 = time.perf_counter()
                summary["ensemble"] = select_ensemble(ensembles[spec.search_label], ds.scorer, splits, url, study)
                summary["search_s"] = float(summary["search_s"]) + time.perf_counter() - t0
                log(f"{ds.name}/{spec.search_label}: ensemble of {len(summary['ensemble']['members'])} "
                    f"configuration(s) from {summary['ensemble']['candidates']}, validation "
                    f"{summary['ensemble']['val_score']:.5g} (best single {summary['ensemble']['best_single']:.5g})")
            tuned[target] = summary
            writer.add_search(key, summary)
    return tuned


def tuned_params(tuned: dict, spec: ModelSpec, seed: int) -> dict | None:
    """The searched parameters a fit of (spec, seed) uses: its own nested search's, else the
    dataset's once-per-dataset search's; None without a search (or for a default entry). A
    tuned+ensemble entry's are ``{"ensemble": members}`` (see pipeline.build_model)."""
    if spec.search is None:
        return None
    summary = tuned.get((spec.search_label, seed), tuned.get(spec.search_label))
    if summary is None:
        return None
    if spec.is_ensemble:
        return {"ensemble": [dict(m) for m in summary["ensemble"]["members"]]}
    return dict(summary["best_params"])


def tune_seconds(writer: store.RunWriter, dataset: str, label: str, seed: int, tuned: bool) -> float:
    # ``label``: the search's (ModelSpec.search_label): the entries of one model share it.
    """A record's share of the search: the seconds this run spent on the search whose parameters
    it uses (a nested search serves one seed; a once-per-dataset search serves every seed and
    counts fully on each); 0 without a search. Trials a shared storage already held (``tune``
    workers) cost this run nothing and are not counted."""
    if not tuned:
        return 0.0
    summary = writer.search(search_key(dataset, label, seed)) or writer.search(search_key(dataset, label))
    return float(summary.get("search_s") or 0.0) if summary else 0.0


def fit_batches(plan: Plan, planned: PlannedDataset, tuned: dict[str, dict], todo: set, opts: RunOptions,
                threads: int | None, selections: Mapping | None = None) -> Iterator[tuple[FitData, list[FitTask]]]:
    """The fits still to do, per seed, with the data they share: the seed's events split once,
    each preprocessing its models ask for fitted once, each model's feature selection applied."""
    ds, seeds = planned.ds, planned.seeds
    for seed in seeds:
        tasks = [FitTask(ds.name, spec, {**spec.params, **(tuned_params(tuned, spec, seed) or {})}, seed,
                         control, plan.device, fit_resources(spec, plan.device, threads, opts.gpus_per_fit),
                         examples=seed == seeds[0] and control == NO_CONTROL,
                         tuned=tuned_params(tuned, spec, seed) is not None,
                         importance=opts.importance if seed == seeds[0] and control == NO_CONTROL else 0)
                 for spec in plan.models for control in plan.controls if (ds.name, spec.label, seed, control) in todo]
        if tasks:
            by_preprocessing = planned.first if seed == seeds[0] else pipeline.SeedSplits(ds, planned.spec, seed)
            splits = {t.spec.label: _selected(by_preprocessing.for_model(t.spec), (selections or {}).get(t.spec.label))
                      for t in tasks}
            yield FitData(DatasetFacts.of(ds), splits), tasks


def store_result(writer: store.RunWriter, result: FitResult, log: Callable[[str], None]) -> None:
    """The driver stores every result (the executor never does): a record with its share of
    the search's seconds, after its predictions; a failure with its error."""
    dataset, label, seed, control = result.key
    if result.failed:
        writer.add_failure(result.record)
        log(f"{dataset}/{label} seed {seed}{'' if control == NO_CONTROL else ' ' + control} failed: "
            f"{result.record.error}")
        return
    record = result.record
    search_label = (record.facts or {}).get("entry_of", label)
    record = record.with_(timing={**record.timing,
                                  "tune_s": tune_seconds(writer, dataset, search_label, seed, record.tuned)})
    writer.add_record(record, result.arrays, result.examples_png)


def run_dataset(plan: Plan, planned: PlannedDataset, writer: store.RunWriter, opts: RunOptions,
                log: Callable[[str], None], executor) -> None:
    """Every model x seed x control of one dataset, each record stored as soon as it exists."""
    from tqdm.auto import tqdm

    ds = planned.ds
    log(f"{ds.name}: {ds.n_events} events, {len(ds.feature_names)} features, seeds {planned.seeds}")
    earlier = writer.dataset(ds.name) or {}  # a resumed run keeps what it already found
    writer.describe(ds.name, describe_dataset(ds, planned.first.for_model(ModelSpec("", "")), planned.spec,
                                              planned.seeds, plan.models))
    selections = select_features(plan, planned, writer, earlier.get("selections") or {}, log)
    tuned = tune_models(plan, planned, writer, opts, log, executor, selections)
    done = writer.done()
    todo = {f for f in plan.fits() if f[0] == ds.name and f not in done}
    bar = tqdm(total=len(todo), desc=ds.name, unit="fit", disable=not opts.progress, leave=False)
    batches = fit_batches(plan, planned, tuned, todo, opts, executor.threads(opts.threads), selections)
    for result in executor.run_fits(run_fit, batches):
        store_result(writer, result, log)
        _, label, seed, control = result.key
        bar.set_postfix_str(f"{label} seed {seed}{'' if control == NO_CONTROL else ' ' + control}")
        bar.update()
    bar.close()


def _start(plan: Plan, out_dir: Path, opts: RunOptions, fingerprint: str, executor) -> store.RunWriter:
    """A new run: manifest (with the fingerprint and the planned fits) and an empty results.json."""
    config = {"suite": plan.suite.raw, "suite_source": plan.suite.source,
              "options": opts.__dict__ | {"models": list(opts.models or [])},
              "models": [m.label for m in plan.models]}
    manifest = make_manifest(config, plan.seeds, plan.device)
    manifest.update(fingerprint=fingerprint, fits=[list(f) for f in plan.fits()], executor=executor.describe(opts))
    return store.RunWriter.start(out_dir, plan.suite.name, plan.suite.blind, manifest, plan.order())


def _resume(plan: Plan, out_dir: Path, fingerprint: str, log: Callable[[str], None]) -> store.RunWriter:
    """An interrupted run's writer, keeping the fits whose predictions are intact."""
    if store.read_json(out_dir / store.MANIFEST).get("fingerprint") != fingerprint:
        raise ConfigError(f"{out_dir} was run with another suite, options or data; "
                          "--resume must repeat the original run exactly")
    writer, torn, failed = store.RunWriter.resume(out_dir, plan.order())
    if torn:
        log(f"{torn} record(s) with missing, torn or wrong predictions will be rerun")
    if failed:
        log(f"{failed} failed fit(s) will be rerun")
    log(f"resuming {out_dir}: {len(writer.done())} fit(s) already recorded")
    return writer


def run_suite(suite: Suite, out_dir: Path, opts: RunOptions = RunOptions(),
              log: Callable[[str], None] = print, resume: bool = False,
              finish: Callable[[store.StoredRun], Any] = lambda run: None) -> store.StoredRun:
    """Run every dataset x model x seed (x control) of a suite into ``out_dir``; returns the
    stored run (what a report and the console summary are made from).

    The directory is locked before anything else, data loading included, and for the whole
    run, ``finish(run)`` (the report) too: a second process on it fails at once.
    ``resume=True`` finishes an interrupted run of the same suite, options and data; a
    directory that holds no run is refused with nothing written into it. A directory this
    call created is removed again if it fails before any work was stored. Fits run on
    ``opts.executor``; whichever it is, this process alone writes the directory.
    """
    out_dir = Path(out_dir)
    if resume and not store.is_run_dir(out_dir, complete=True):
        raise ConfigError(f"{out_dir} holds no run to resume")
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with store.RunLock(out_dir):
            if (out_dir / store.RESULTS).exists() and not resume:
                raise ConfigError(f"{out_dir} already holds a run; finish it with --resume {out_dir} "
                                  "or choose another --out")
            plan = plan_run(suite, opts)
            fingerprint = plan.fingerprint(opts)
            with make_executor(opts.executor, opts.address, opts.workers, opts.progress) as executor:
                threads = executor.threads(opts.threads)
                executor.check((m.label, fit_resources(m, plan.device, threads, opts.gpus_per_fit)) for m in plan.models)
                writer = _resume(plan, out_dir, fingerprint, log) if resume else _start(plan, out_dir, opts,
                                                                                         fingerprint, executor)
                executor.prepare(plan.device)
                for planned in plan.datasets:
                    run_dataset(plan, planned, writer, opts, log, executor)
            run = writer.stored()
            finish(run)
    except BaseException:
        if created:
            store.discard_unused_run_dir(out_dir)
        raise
    return run
