"""Command line: ``python -m benchmarks {list,run,report,export,fetch,score,encode,tune,compare,perf}``."""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import warnings
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Callable

from datasets import DATASETS, dataset_cached, fetch_dataset
from encoders import ENCODERS
from models import MODELS, backend_available
from reports import console_summary, write_comparison, write_report
from reports.compare import comparison_page
from reports.plots import write_importance
from reports.tracking import check_store, log_run, tracking_uri

from . import pipeline, store
from .controls import CONTROLS
from .core import limits
from .core.device import resolve_device
from .core.errors import BenchmarkError, ConfigError, one_line
from .core.naming import safe_name
from .core.scoring import METRICS
from .core.secrets import MASK, redact
from .encode_command import encode_examples
from .executors import require_ray, tune_on_ray
from .importance import importance_of
from .records_table import FORMATS, write_table
from .runner import RunOptions, run_suite, select_models
from .submission import score_submission_files
from .suite import list_suites, load_suite, parse_suite
from .tuning import describe_job, open_storage, prepare_tune, run_tune_worker, storage_dir

EPILOG = """examples:
  python -m benchmarks run                              # default suite, offline
  python -m benchmarks run --suite higgsml --data atlas-higgs-challenge-2014-v2.csv.gz
  python -m benchmarks run --suite smoke --dataset csv:table.csv --target label
  python -m benchmarks report runs/higgsml-20261122-120000 --unblind
  python -m benchmarks export runs/iris-20261122-120000 --format parquet   # the tidy records table
  python -m benchmarks fetch openml:1590                # the Adult table into scikit-learn's cache
  python -m benchmarks fetch keel:pima                  # a KEEL table into ~/.cache/supertml-bench/keel
  KEEL_DATA=dir/of/dat/files python -m benchmarks run --suite keel-small
  python -m benchmarks perf ams
"""


def _csv_list(text: str) -> tuple[str, ...]:
    names = tuple(t.strip() for t in text.split(",") if t.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"no name in {text!r}; give comma-separated model labels")
    return names


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (not a usage block) and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"error: {redact(message)} (see {self.prog} --help)\n")


def _add_run(sub) -> None:
    r = sub.add_parser("run", help="run a suite and write results.json, manifest.json, report.md, report.html")
    r.add_argument("--suite", help="suite name or path to a .toml (default: default)")
    r.add_argument("--data", help="path to the dataset file for datasets that read one (higgsml: the CSV or .csv.gz)")
    r.add_argument("--dataset", help="run the suite's models on this dataset instead (e.g. iris, openml:ID, keel:NAME, "
                   "csv:PATH)")
    r.add_argument("--target", help="label column for --dataset csv:PATH")
    r.add_argument("--weight", help="event-weight column for --dataset csv:PATH")
    r.add_argument("--metric", help="metric for --dataset csv:PATH (default: accuracy; see `list`)")
    r.add_argument("--categorical", help="categorical columns of --dataset csv:PATH, comma-separated")
    r.add_argument("--models", type=_csv_list, help="comma-separated model labels or registry names (a table's label or name picks all its entries)")
    r.add_argument("--seeds", type=int, help="number of seeds (repeats of split + train + evaluate: the outer folds of repeated "
                   "stratified K-fold, or train/validation draws beside fixed test sets)")
    r.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: auto)")
    r.add_argument("--max-events", type=int, help="subsample every split to at most N events")
    r.add_argument("--control", choices=["none", *CONTROLS.names()],
                   help="also run this control for every model (shuffled: shuffled-label retraining)")
    r.add_argument("--no-tune", action="store_true", default=None, help="skip Optuna searches; use the suite's parameters (runs only the default entries of a model with entries)")
    r.add_argument("--importance", type=int, default=0, metavar="REPEATS",
                   help="permutation importance of every model on validation (first seed), with this many repeats")
    r.add_argument("--storage", help="Optuna storage URL (default: SQLite file in the run directory)")
    r.add_argument("--out", type=Path, help="run directory (default: runs/SUITE-TIMESTAMP)")
    r.add_argument("--resume", type=Path, metavar="RUN_DIR",
                   help="finish an interrupted run: the fits it lacks (suite and options from its manifest)")
    r.add_argument("--unblind", action="store_true", help="show private AMS in the report of a blind suite")
    _add_mlflow(r)
    r.add_argument("--no-html", action="store_true", help="write report.md only, not report.html beside it")
    r.add_argument("--quiet", action="store_true", help="no progress bars")
    x = r.add_argument_group("where fits run")
    x.add_argument("--executor", choices=["local", "ray"],
                   help="local: one fit after another in this process (default); ray: each fit a Ray task")
    x.add_argument("--address", help="Ray cluster to join (HOST:PORT, ray://HOST:PORT or auto; "
                   "default: start a local Ray using every core and GPU here)")
    x.add_argument("--threads", type=int, help="CPU threads per fit (default: local every core, ray "
                   "min(4, a node's CPUs)); fixed threads make CPU results identical across executors")
    x.add_argument("--gpus-per-fit", type=float, help="GPU share of a GPU fit on Ray (default 1; 0.25 packs four per GPU)")
    x.add_argument("--workers", type=int, help="Ray tasks per Optuna search (default 1, which searches exactly as local)")


def _add_mlflow(p) -> None:
    p.add_argument("--mlflow", nargs="?", const="", metavar="URI",
                   help="log the run into MLflow: one parent run, one child run per record (never a blind "
                        "suite's private figures); URI default: $MLFLOW_TRACKING_URI")
    p.add_argument("--mlflow-experiment", metavar="NAME", help="MLflow experiment (default: the suite's name)")


def _add_tune(sub) -> None:
    t = sub.add_parser("tune", help="start or join an Optuna study for one model of a suite (many workers may share a storage)")
    t.add_argument("--suite", required=True, help="suite name or path to a .toml")
    t.add_argument("--model", required=True, help="model label in the suite")
    t.add_argument("--storage", required=True,
                   help="Optuna storage shared by the workers: sqlite:///FILE, postgresql://..., mysql://..., journal:FILE")
    t.add_argument("--study", help="study name (default: SUITE-DATASET-MODEL, plus -seedS for a nested search)")
    t.add_argument("--trials", type=int, help="the study's total of complete trials; every worker stops there "
                   "(default: the suite's search.trials)")
    t.add_argument("--timeout", type=float, help="start no new trial after this many seconds")
    t.add_argument("--dataset", help="which of the suite's datasets (default: its first)")
    t.add_argument("--seed", type=int, help="this worker's sampler seed (default: mixed with the process id)")
    t.add_argument("--repeat", type=int, default=0,
                   help="for a nested search (scope fold): which repeat's outer-fold training part to search "
                        "(0, 1, ...; default 0); a search with scope once has one study per dataset")
    t.add_argument("--data", help="path to the dataset file for datasets that read one (higgsml)")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    t.add_argument("--max-events", type=int)
    t.add_argument("--workers", type=int, help="run N workers as Ray tasks on the shared storage (needs Ray)")
    t.add_argument("--address", help="Ray cluster for --workers (default: a local Ray on this machine)")


def _add_importance(sub) -> None:
    i = sub.add_parser("importance", help="rank a suite model's features by permutation importance on validation")
    i.add_argument("--suite", required=True, help="suite name or path to a .toml")
    i.add_argument("--model", required=True, help="model label in the suite (or a registry name)")
    i.add_argument("--dataset", help="which of the suite's datasets (default: its first)")
    i.add_argument("--data", help="path to the dataset file for datasets that read one (higgsml)")
    i.add_argument("--repeats", type=int, default=5, help="shuffles per feature (default: %(default)s)")
    i.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    i.add_argument("--max-events", type=int)
    i.add_argument("--out", type=Path, help="also write importance.csv and importance.png into this directory")


def _add_encode(sub) -> None:
    e = sub.add_parser("encode", help="write example SuperTML images (PNG) and a contact sheet")
    e.add_argument("--dataset", required=True, help="dataset name (e.g. iris, higgsml-toy, higgsml, csv:PATH)")
    e.add_argument("--encoder", required=True, help="encoder name (python -m benchmarks list shows them all), or all: "
                        "every encoder on the same events, one row each in gallery.png")
    e.add_argument("--layout", help="encoder layout (text: equal|variable; pixels: blocks|bars)")
    e.add_argument("--size", type=int, default=224, help="image size in pixels (default: %(default)s)")
    e.add_argument("--decimals", help="text encoder: decimals printed (default 3; 'auto' = most that fit)")
    e.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="any encoder option, repeatable, VALUE a TOML value or a bare word "
                        "(e.g. --option embedding=pca --option blur=true --option grid=12)")
    e.add_argument("--n", type=int, default=16, help="number of example events (default: %(default)s)")
    e.add_argument("--data", help="path to the dataset file for --dataset higgsml")
    e.add_argument("--target", help="label column for --dataset csv:PATH")
    e.add_argument("--out", type=Path, required=True, help="output directory")


def _add_small(sub) -> None:
    """The commands with a handful of options each."""
    sub.add_parser("list", help="list suites, datasets, models, encoders, metrics and controls")
    rep = sub.add_parser("report", help="re-render report.md and report.html from a run directory's stored results")
    rep.add_argument("run_dir", type=Path)
    rep.add_argument("--unblind", action="store_true", help="show private AMS")
    _add_mlflow(rep)
    rep.add_argument("--no-html", action="store_true",
                     help="write report.md only, removing an older report.html (by default also report.html: the same "
                          "report as one page, plots embedded)")
    f = sub.add_parser("fetch", help="download a dataset into the cache (higgsml, openml:ID, keel:NAME)")
    f.add_argument("dataset", metavar="DATASET",
                   help="higgsml (CERN Open Data record 328), openml:ID (an OpenML data set id, e.g. openml:1590) "
                        "or keel:NAME (a KEEL repository table, e.g. keel:pima)")
    f.add_argument("--dest", type=Path,
                   help="higgsml: the directory for the file (default: $XDG_CACHE_HOME/supertml-bench/higgsml); "
                        "openml: scikit-learn's data home, the cache being its openml/ (default: $SCIKIT_LEARN_DATA "
                        "or ~/scikit_learn_data); keel: the directory for NAME.dat (default: "
                        "$XDG_CACHE_HOME/supertml-bench/keel)")
    f.add_argument("--force", action="store_true", help="download again even when already in the cache")
    s = sub.add_parser("score", help="score a Kaggle-format submission against the CERN file (public/private AMS)")
    s.add_argument("--solution", required=True, type=Path, help="atlas-higgs-challenge-2014-v2.csv[.gz]")
    s.add_argument("--submission", required=True, type=Path, help="CSV with EventId,RankOrder,Class")
    c = sub.add_parser("compare", help="one Markdown report (and its HTML page) across run directories, with metric and timing deltas")
    c.add_argument("run_dirs", type=Path, nargs="+")
    c.add_argument("--out", type=Path, help="output file (default: comparison.md)")
    c.add_argument("--unblind", action="store_true")
    c.add_argument("--no-html", action="store_true",
                   help="write the Markdown only (by default also the same comparison as one page: --out with the suffix .html)")
    x = sub.add_parser("export", help="write a run's records as one tidy table (CSV, Parquet or JSON)")
    x.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    x.add_argument("--format", choices=FORMATS, default="csv",
                   help="csv, parquet (needs pyarrow: the parquet extra) or json (default: %(default)s)")
    x.add_argument("--out", type=Path, help="output file (default: RUN_DIR/records.FORMAT)")
    pf = sub.add_parser("perf", help="print performance figures")
    pf.add_argument("what", choices=["ams", "encode", "train", "ensemble", "scale"])
    pf.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    pf.add_argument("--quick", action="store_true", help="smaller sizes (a quick look, not the targets)")
    pf.add_argument("--events", type=int, help="scale: events of the synthetic full-size file (default 818,238)")
    pf.add_argument("--workers", type=int, default=4, help="scale: N of the projected wall time with N workers")
    pf.add_argument("--epochs", type=int, help="scale: epochs the deep networks run (default 5; --quick 2), projected "
                    "to their suite's budget")
    pf.add_argument("--models", help="scale: comma-separated labels or names of the higgsml suite's models to measure "
                    "(default: all; the suite's projection needs all)")
    pf.add_argument("--encoders", help="encode: comma-separated encoder names to time (default: all; pixels is always timed, as the yardstick); "
                    "train: the encoders whose batches the timed steps encode (default: text)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="python -m benchmarks",
        description="Honest benchmarks of SuperTML image CNNs against tabular models on tabular data.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_small(sub)
    _add_run(sub)
    _add_tune(sub)
    _add_importance(sub)
    _add_encode(sub)
    return p


def cmd_list(args) -> int:
    print("suites:")
    for name in list_suites():
        print(f"  {name:16s} {load_suite(name).description}")
    print("datasets:")
    for e in DATASETS:
        print(f"  {e.name:16s} {e.description}")
    print("models:")
    for e in MODELS:
        info = e.meta
        ok = "" if backend_available(info.backend) else f"  [needs {info.backend}: not installed]"
        print(f"  {e.name:28s} {info.family:8s} {e.description}{ok}")
    for title, registry in (("encoders", ENCODERS), ("metrics", METRICS), ("controls", CONTROLS)):
        print(f"{title}:")
        for e in registry:
            print(f"  {e.name:16s} {e.description}")
    return 0


RUN_SHAPING = ("suite", "data", "dataset", "target", "weight", "metric", "categorical", "models", "seeds", "device",
               "max_events", "control", "no_tune", "storage", "threads")
# Where the fits run does not shape the results: `run --resume DIR --executor ...` may change it.
EXECUTION = ("executor", "address", "gpus_per_fit", "workers")


def _suite_for_args(args):
    suite = load_suite(args.suite or "default")
    if args.dataset:
        options = {k: v for k, v in (("target", args.target), ("weight", args.weight), ("metric", args.metric),
                                     ("categorical", args.categorical)) if v}
        if args.dataset.startswith("csv:") and not args.target:
            raise ConfigError("--dataset csv:PATH needs --target COL (the label column)")
        # The manifest keeps the suite as run, so that --resume repeats it; parsed again so the
        # dataset gets what the suite's models imply (the search pool, the base seed).
        raw = {**suite.raw, "datasets": [{"name": args.dataset, "options": options}]}
        suite = replace(parse_suite(raw, source=suite.source, default_name=suite.name), source=suite.source)
    elif args.target or args.weight or args.metric or args.categorical:
        raise ConfigError("--target, --weight, --metric and --categorical go with --dataset csv:PATH")
    return suite


def _options(args) -> RunOptions:
    return RunOptions(data=args.data, models=args.models, seeds=args.seeds, device=args.device or "auto",
                      max_events=args.max_events, control=args.control or "none", progress=not args.quiet,
                      tune=not args.no_tune, storage=args.storage, unblind=args.unblind, importance=args.importance,
                      threads=args.threads, **_execution(args))


def _execution(args) -> dict:
    """The executor options given on the command line (the others keep their defaults)."""
    return {k: getattr(args, k) for k in EXECUTION if getattr(args, k) is not None}


def _resumed(args):
    """The suite and options of the run in ``--resume DIR``, from its manifest unless given again."""
    if args.out is not None:
        raise ConfigError("--resume RUN_DIR names the run directory; drop --out")
    if any(getattr(args, k) is not None for k in RUN_SHAPING):
        return _suite_for_args(args), _options(args)  # checked against the manifest's fingerprint
    config = store.read_json(args.resume / store.MANIFEST).get("config") or {}
    stored = config.get("options") or {}
    if MASK in str(stored.get("storage") or ""):
        raise ConfigError("the run's --storage URL held a password, which is never stored; give --storage again")
    fields = {k: stored[k] for k in RunOptions.__dataclass_fields__ if k in stored}
    fields.update(models=tuple(stored.get("models") or ()) or None, progress=not args.quiet, unblind=args.unblind)
    if args.executor is not None and args.executor != fields.get("executor"):
        fields.update(address=None, workers=1)  # another executor: the stored cluster options do not apply
    fields.update(_execution(args))
    try:
        suite = parse_suite(config["suite"], source=config.get("suite_source", ""))
        return suite, RunOptions(**fields)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{args.resume / store.MANIFEST} does not describe a run ({exc})") from None


def run_from_args(args) -> store.StoredRun:
    """The run ``args`` describe (``run``'s options), stored and reported; the one path of
    ``python -m benchmarks run`` and of ``benchmarks.api.run``."""
    if args.resume is not None:
        suite, opts = _resumed(args)
        out = args.resume
    else:
        suite, opts = _suite_for_args(args), _options(args)
        out = args.out or Path("runs") / f"{safe_name(suite.name)}-{datetime.now():%Y%m%d-%H%M%S}"
    _check_output_dir(out)
    mlflow_uri = _mlflow_store(args)
    log = (lambda m: None) if args.quiet else (lambda m: print(redact(m), file=sys.stderr))
    # The report and the summary from the run just stored, not re-read; the report under the run's lock.
    run = run_suite(suite, out, opts, log=log, resume=args.resume is not None,
                    finish=lambda stored: write_report(stored.view(unblind=args.unblind),
                                                       html=not args.no_html)).view(unblind=args.unblind)
    _log_to_mlflow(run, mlflow_uri, args.mlflow_experiment)
    return run


def cmd_run(args) -> int:
    run = run_from_args(args)
    print(console_summary(run))
    print(f"\nwrote {run.run_dir / store.REPORT}" + ("" if args.no_html else f" and {store.REPORT_HTML}"))
    return _failed_fits(run)


def _mlflow_store(args) -> str | None:
    """The MLflow store a run or report logs into, reached before any work; None without --mlflow."""
    if args.mlflow is None:
        return None
    uri = tracking_uri(args.mlflow)
    check_store(uri)
    return uri


def _log_to_mlflow(run: store.StoredRun, uri: str | None, experiment: str | None) -> None:
    if uri is not None:  # the blind view whatever --unblind says: private figures stay here
        parent = log_run(run.view(unblind=False), uri, experiment)
        print(f"logged to MLflow at {redact(uri)}: run {parent}")


def _failed_fits(run: store.StoredRun) -> int:
    """0, or the exit status of a run some of whose fits failed (after its report was written):
    2 when every failure is the user's to fix, else 1."""
    if not run.failures:
        return 0
    f = run.failures[0]
    print("error: " + _one_line(f"{len(run.failures)} fit(s) failed, first {f.dataset}/{f.model} seed {f.seed}: "
                                f"{f.error}; results.json lists them, `run --resume {run.run_dir}` reruns them"),
          file=sys.stderr)
    return 2 if all(f.error_kind == "input" for f in run.failures) else 1


def _check_output_dir(path: Path) -> None:
    """Fail now, not after the work, when `path` cannot become a directory we write into."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{path} exists and is not a directory")
    probe = path if path.exists() else next((p for p in path.parents if p.exists()), Path("."))
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write into {probe}: permission denied")


def cmd_report(args) -> int:
    mlflow_uri = _mlflow_store(args)
    run = store.open_run(args.run_dir, unblind=args.unblind)
    path = write_report(run, html=not args.no_html)
    missing = run.missing_fits()
    if missing:
        print(f"warning: {args.run_dir} is incomplete: {len(missing)} planned fit(s) have no results "
              "(listed at the top of the report)", file=sys.stderr)
    print(f"wrote {path}" + ("" if args.no_html else f" and {path.with_name(store.REPORT_HTML).name}"))
    _log_to_mlflow(run, mlflow_uri, args.mlflow_experiment)
    return 0


def _export_path(args) -> Path:
    return args.out if args.out is not None else args.run_dir / f"records.{args.format}"


def cmd_export(args) -> int:
    run = store.open_run(args.run_dir)
    out = _export_path(args)
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; name the file to write")
    _check_output_dir(out.parent)
    path = write_table(run.records_table(), out, args.format)
    print(f"wrote {path} ({len(run.records)} records)")
    return 0


def cmd_fetch(args) -> int:
    if dataset_cached(args.dataset, args.dest) and not args.force:
        path = fetch_dataset(args.dataset, args.dest)  # downloads nothing; checks what is there
        print(f"{args.dataset} is already in the cache at {path}; nothing downloaded (--force downloads it again)")
        return 0
    path = fetch_dataset(args.dataset, args.dest, force=args.force)
    print(f"{args.dataset} downloaded into {path}")
    return 0


def cmd_score(args) -> int:
    result = score_submission_files(args.solution, args.submission)
    for key, value in result.items():
        print(f"{key}: {value:.5f}" if isinstance(value, float) else f"{key}: {value}")
    return 0


def cmd_perf(args) -> int:
    if args.what == "ams":
        from .perf_ams import run

        run(sizes=(100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000))
    elif args.what == "encode":
        from .perf_encode import run

        only = None if not args.encoders else tuple(n.strip() for n in args.encoders.split(",") if n.strip())
        run(device=args.device, quick=args.quick, only=only)
    elif args.what == "ensemble":
        from .perf_ensemble import run

        run(device=args.device, quick=args.quick)
    elif args.what == "train":
        from .perf_train import run

        names = tuple(n.strip() for n in args.encoders.split(",") if n.strip()) if args.encoders else "text"
        run(device=args.device, quick=args.quick, encoder=names)
    else:
        from .perf_scale import run

        only = tuple(n.strip() for n in args.models.split(",") if n.strip()) if args.models else None
        if args.epochs is not None:
            limits.integer(args.epochs, "--epochs", 1, 1000)
        run(device=args.device, quick=args.quick, n_events=args.events, workers=args.workers, only=only,
            dnn_epochs=args.epochs)
    return 0


def cmd_tune(args) -> int:
    if args.seed is not None:
        limits.integer(args.seed, "--seed", 0, limits.MAX_SEED)
    log = lambda m: print(redact(m), file=sys.stderr)  # noqa: E731
    if args.workers is None and args.address is not None:
        raise ConfigError("--address goes with --workers N (search workers on Ray)")
    if args.workers is None:
        summary = run_tune_worker(args.suite, args.model, args.storage, args.study, args.trials, data=args.data,
                                  device=args.device, max_events=args.max_events, timeout_s=args.timeout,
                                  seed=args.seed, dataset=args.dataset, log=log, repeat=args.repeat)
    else:
        limits.integer(args.workers, "--workers", 1, 1024)
        require_ray()  # fail before loading any data
        job = prepare_tune(args.suite, args.model, args.storage, args.study, args.trials, args.data, args.device,
                           args.max_events, timeout_s=args.timeout, dataset=args.dataset, repeat=args.repeat)
        open_storage(job.storage)  # a bad storage is the one line, not after the job's description
        log(describe_job(job) + f", {args.workers} Ray workers")
        summary = tune_on_ray(job, args.workers, args.seed, args.address, log)
    if summary["best_value"] is None:
        raise BenchmarkError(f"study {summary['study']} holds no complete trial; raise --trials or --timeout")
    print(f"study {summary['study']}: {summary['trials']} complete trials, best validation score "
          f"{summary['best_value']:.4f} with {summary['best_params']}")
    return 0


def cmd_importance(args) -> int:
    suite = load_suite(args.suite)
    dspec = next((d for d in suite.datasets if args.dataset in (None, d.name)), None)
    if dspec is None:
        raise ConfigError(f"suite {suite.name!r} has no dataset {args.dataset!r}")
    if args.max_events is not None:
        dspec = replace(dspec, max_events=limits.integer(args.max_events, "--max-events", 1, limits.MAX_EVENTS))
    spec = select_models(suite, (args.model,))[0]
    if args.out is not None:
        _check_output_dir(args.out)
    ds = pipeline.load_for_spec(dspec, args.data)
    seed = pipeline.resolve_seeds(suite, dspec, ds, None)[0]
    scope = pipeline.search_scope(dspec, spec)
    splits = pipeline.SeedSplits(ds, dspec, seed, search=scope).for_model(spec)
    ranking = importance_of(ds, spec, spec.params, splits, resolve_device(args.device), seed, args.repeats)
    where = "the search pool: never a test event" if scope == "once" else "the first repeat's training part"
    print(f"{spec.label} on {ds.name}: {ds.scorer.text.objective_title} {ranking.baseline:.4f}; "
          f"drop when each feature is shuffled ({ranking.repeats} repeats, on {where})")
    for name in ranking.ranked():
        k = ranking.features.index(name)
        print(f"  {name:32s} {ranking.mean[k]:+.4f} ± {ranking.std[k]:.4f}")
    if args.out is not None:
        for path in write_importance(ranking.as_dict(), f"{spec.label} on {ds.name}", args.out):
            print(f"wrote {path}")
    return 0


def cmd_compare(args) -> int:
    out = args.out if args.out is not None else Path.cwd() / "comparison.md"
    if out.is_dir():
        raise ConfigError(f"--out {out} is a directory; name the Markdown file to write")
    if (out.parent / store.RESULTS).exists() or (out.parent / store.MANIFEST).exists():
        raise ConfigError(f"--out {out} is inside a run directory; write the comparison elsewhere")
    _check_output_dir(out.parent)
    path = write_comparison(args.run_dirs, out, unblind=args.unblind, html=not args.no_html)
    page = None if args.no_html else comparison_page(path)
    print(f"wrote {path}" + ("" if page is None else f" and {page.name}"))
    return 0


def parse_options(items: list[str], flag: str) -> dict:
    """KEY=VALUE pairs; VALUE read as a TOML value (numbers, true/false, lists), else a string."""
    import tomllib

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(f"{flag} expects KEY=VALUE, got {item!r}")
        try:
            options[key] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            options[key] = value.strip()
    return options


def cmd_encode(args) -> int:
    limits.integer(args.n, "--n", 1, limits.MAX_EXAMPLES)
    _check_output_dir(args.out)
    options = {}
    if args.layout:
        options["layout"] = args.layout
    if args.decimals is not None:
        if args.decimals != "auto" and not args.decimals.isdigit():
            raise ConfigError(f"--decimals must be an integer or 'auto', got {args.decimals!r}")
        options["decimals"] = args.decimals if args.decimals == "auto" else int(args.decimals)
    options.update(parse_options(args.option, "--option"))
    paths = encode_examples(args.dataset, args.encoder, args.out, size=args.size, n=args.n,
                            data=args.data, target=args.target, **options)
    print(f"wrote {len(paths)} files to {args.out}")
    return 0


def _writing_into(where: Callable[[argparse.Namespace], Path | None], command: Callable[[argparse.Namespace], int],
                  shared: bool = False) -> Callable[[argparse.Namespace], int]:
    """``command`` holding the lock of the run directory ``where(args)`` names, if it is one,
    from before any work to its end (``run`` locks its directory itself). ``shared``: ``tune``
    workers on a study in a run directory hold it together, excluding any other writer."""
    def locked(args: argparse.Namespace) -> int:
        path = where(args)
        if path is None or not store.is_run_dir(path):
            return command(args)
        with store.RunLock(path, shared=shared):
            return command(args)

    return locked


COMMANDS = {"list": cmd_list, "run": cmd_run, "report": _writing_into(lambda a: a.run_dir, cmd_report),
            "fetch": cmd_fetch, "score": cmd_score, "perf": cmd_perf,
            "tune": _writing_into(lambda a: storage_dir(a.storage) if a.storage else None, cmd_tune, shared=True),
            "compare": cmd_compare, "export": _writing_into(lambda a: _export_path(a).parent, cmd_export),
            "encode": _writing_into(lambda a: a.out, cmd_encode),
            "importance": _writing_into(lambda a: a.out, cmd_importance)}


class _OneLineWarnings:
    """Each distinct warning once, as one line: a user needs what, not our source lines."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, message, category, filename, lineno, file=None, line=None) -> None:
        text = redact(one_line(message))
        if text not in self.seen:
            self.seen.add(text)
            print(f"warning: {text}", file=file or sys.stderr)


def _one_line(exc: BaseException) -> str:
    text = one_line(exc) or type(exc).__name__
    return redact(text)


def _os_error(exc: OSError) -> str:
    """An OSError as the user needs it: what went wrong with which path."""
    where = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or _one_line(exc)
    return redact(one_line(f"{reason}: {where}" if where else reason))


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a scheduler ending a job) as an exception: the command cleans up as for
    Ctrl-C (a run that stored nothing removes its directory; one that stored work stays
    resumable) instead of dying wherever the signal found it."""


_SIGNALLED: list[int] = []  # the signals this command received (an interrupt a library's clean-up hid)


def _interrupt(signum, frame) -> None:
    _SIGNALLED.append(signum)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextlib.contextmanager
def _signals_as_exceptions():
    """SIGTERM and SIGINT raise (Terminated, KeyboardInterrupt) and are remembered: a library
    that turns the interrupt into another error in its own clean-up (Optuna's journal lock,
    for one) must not make Ctrl-C look like bad input."""
    _SIGNALLED.clear()
    try:
        previous = {s: signal.signal(s, _interrupt) for s in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread (e.g. main() called from a worker thread): leave them
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _signal_exit() -> int | None:
    """The exit of a command a signal ended, whatever exception it ended with; None if none came."""
    if not _SIGNALLED:
        return None
    terminated = signal.SIGTERM in _SIGNALLED
    print("terminated" if terminated else "interrupted", file=sys.stderr)
    return 128 + signal.SIGTERM if terminated else 130


def main(argv: list[str] | None = None) -> int:
    """Run one command. Every failure ends as one line on stderr: exit 2 for input the user
    can fix (bad options, files, data, a path that cannot be written), 1 for a defect of
    ours (set SUPERTML_DEBUG=1 for its traceback), 130 when interrupted (Ctrl-C), 143 when
    terminated (SIGTERM)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed as one line
        return int(exc.code or 0)
    try:
        with warnings.catch_warnings(), _signals_as_exceptions():
            warnings.simplefilter("default")
            warnings.showwarning = _OneLineWarnings()
            return COMMANDS[args.command](args)
    except KeyboardInterrupt:  # Terminated (SIGTERM) among them
        if not _SIGNALLED:  # raised without our handler (main() off the main thread)
            _SIGNALLED.append(signal.SIGINT)
        return _signal_exit()
    except BenchmarkError as exc:
        if _SIGNALLED:
            return _signal_exit()
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except OSError as exc:  # a path that cannot be read or written, a full disk, ...
        if _SIGNALLED:
            return _signal_exit()
        print(f"error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("error: out of memory; use smaller data (--max-events), fewer events or smaller images",
              file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a traceback
        if _SIGNALLED:
            return _signal_exit()
        if os.environ.get("SUPERTML_DEBUG"):
            raise
        print(f"error: internal error ({type(exc).__name__}: {_one_line(exc)}); "
              "please report it; SUPERTML_DEBUG=1 shows the traceback", file=sys.stderr)
        return 1
