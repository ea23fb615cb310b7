"""The Python API, for notebooks and scripts: the command line's ``run``, ``report``,
``compare`` and ``export`` as functions that return objects and pandas DataFrames.

>>> from benchmarks import run, load_run
>>> r = run("iris", models=["xgboost", "random-forest"], seeds=3)
>>> df = r.records()                      # one row per dataset x model x seed x control
>>> df.groupby("model").accuracy.mean()

Every call goes through the command line's own code (``cli.run_from_args``: the same option
checks, run directory, report and stored records), so the numbers are the CLI's and a bad
option raises the project's ``BenchmarkError``/``ConfigError`` with the one-line message the
CLI prints after ``error:``.

:class:`Run` wraps the store's :class:`~benchmarks.store.StoredRun` rather than adding to it:
a stored run's ``records`` is already its tuple of typed records, and a notebook's
``records()`` is the DataFrame.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from reports import write_report
from reports.compare import comparison_leaderboard, distinct_runs, run_labels
from reports.leaderboard import build_leaderboard, run_cells

from . import cli, store
from .core.errors import BenchmarkError, ConfigError
from .core.scoring import PRIVATE, SplitArrays
from .run_record import Record

__all__ = ["Run", "compare", "leaderboard", "load_run", "run"]

_NOT_OPTIONS = {"command", "suite", "quiet"}


@dataclass(frozen=True)
class Run:
    """A stored run, as a notebook reads it. ``stored``: the store's view (private figures
    hidden while the suite is blind, unless loaded with ``unblind=True``)."""

    stored: store.StoredRun

    def __repr__(self) -> str:  # a notebook cell shows this, not every stored record
        blind = ", blind" if self.stored.blind else ""
        return (f"Run({str(self.run_dir)!r}: {len(self.stored.records)} records, "
                f"{len(self.stored.failures)} failures{blind})")

    @property
    def run_dir(self) -> Path:
        return self.stored.run_dir

    @property
    def failures(self):
        """The fits that failed by themselves (one-line errors); ``run(resume=run_dir)`` reruns them."""
        return self.stored.failures

    def records(self):
        """The tidy table: one row per dataset x model x seed x control, each metric, timing,
        split size and key parameter (``param.<name>``) a typed column; what records.csv holds."""
        return self.stored.records_table()

    def record(self, row: Record | Mapping[str, Any]) -> Record:
        """The stored record a table row (or its dataset, model, seed and control) names."""
        if isinstance(row, Record):
            return row
        try:
            key = (str(row["dataset"]), str(row["model"]), int(row["seed"]), str(row.get("control", "none")))
        except (KeyError, TypeError, ValueError):
            raise ConfigError("a record is named by its dataset, model, seed and control (a row of records())") \
                from None
        match = next((r for r in self.stored.records if r.key == key), None)
        if match is None:
            raise ConfigError(f"{self.run_dir} holds no record of {key[0]}/{key[1]} seed {key[2]} control {key[3]}")
        return match

    def predictions(self, row: Record | Mapping[str, Any], split: str | None = None):
        """A record's stored arrays (labels, probabilities, weights): by split, validation and
        every visible test split; with ``split``, that split's. A blind run refuses its private
        arrays (never read: ``load_run(path, unblind=True)`` once every choice is final)."""
        rec = self.record(row)
        if split == PRIVATE and self.stored.blind:
            raise BenchmarkError(f"{self.run_dir} is blind: its private arrays stay unread until every "
                                 "choice is final (load_run(path, unblind=True))")
        arrays = self.stored.splits(rec)
        if arrays is None:
            raise BenchmarkError(f"{self.run_dir / (rec.predictions or '')} is missing, torn or corrupt")
        if split is None:
            return arrays
        if split not in arrays:
            raise ConfigError(f"record {rec.dataset}/{rec.model} has no split {split!r}; "
                              f"it has {', '.join(arrays)}")
        return arrays[split]

    def report(self) -> Path:
        """Render report.md (and its plots) again, as ``python -m benchmarks report`` does."""
        with store.RunLock(self.run_dir):
            return write_report(self.stored)


def run(suite: str | Path | None = None, **options: Any) -> Run:
    """Run a suite (a name or a .toml path; None: the default suite, or with ``resume=RUN_DIR``
    the suite of that run) as ``python -m benchmarks run --suite SUITE`` does,
    with the command's options as keywords (``models=["xgboost"]``, ``seeds=3``, ``out=...``,
    ``dataset="csv:t.csv"``, ``target="label"``, ``no_tune=True``, ...; ``progress=True`` for
    the progress bars and log lines, off by default). Returns the stored run; its report and
    records.csv are written like the command's. Fits that fail by themselves do not raise:
    they are in ``.failures``."""
    args = cli.build_parser().parse_args(["run"])
    progress = bool(options.pop("progress", False))
    allowed = sorted(k for k in vars(args) if k not in _NOT_OPTIONS)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"run() has no option {unknown[0]!r}; its options: progress, {', '.join(allowed)}")
    if isinstance(options.get("models"), str):
        options["models"] = cli._csv_list(options["models"])
    elif options.get("models") is not None:
        options["models"] = tuple(options["models"])
    for key in ("out", "resume"):
        if options.get(key) is not None:
            options[key] = Path(options[key])
    for key, value in options.items():
        setattr(args, key, value)
    args.suite, args.quiet = (None if suite is None else str(suite)), not progress
    return Run(cli.run_from_args(args))


def load_run(path: str | Path, unblind: bool = False) -> Run:
    """A run directory as written by ``run`` (checked field by field); ``unblind`` shows a blind
    suite's private figures and arrays."""
    return Run(store.open_run(Path(path), unblind=unblind))


def _opened(runs: Iterable[Run | str | Path], unblind: bool) -> tuple[list[store.StoredRun], list[str]]:
    """The runs (objects or directories), distinct, with their labels; private figures hidden
    for all when any is blind (the rule of ``compare``)."""
    runs = list(runs) if not isinstance(runs, (Run, str, Path)) else [runs]
    dirs = distinct_runs([r.run_dir if isinstance(r, Run) else Path(r) for r in runs])
    stored = [store.open_run(p) for p in dirs]
    hide = not unblind and any(s.blind_run for s in stored)
    return [s.view(blind=hide) for s in stored], run_labels(dirs)


def compare(runs: Sequence[Run | str | Path], unblind: bool = False):
    """The records of several runs as one tidy table, a ``run`` column (the directory names
    ``compare`` labels them by) first; private figures hidden for all when any run is blind."""
    import pandas as pd

    stored, labels = _opened(runs, unblind)
    if len(stored) < 2:
        raise ConfigError("compare needs at least two run directories")
    frames = [s.records_table().assign(run=label) for s, label in zip(stored, labels)]
    table = pd.concat(frames, ignore_index=True)
    table["run"] = table["run"].astype("string")
    return table[["run", *[c for c in table.columns if c != "run"]]]


def leaderboard(runs: Run | str | Path | Sequence[Run | str | Path], unblind: bool = False):
    """The leaderboard of one run's models, or of every model of several runs ("label @ run"),
    best mean rank first: mean rank, normalised score, Elo, time to one result (s), and the
    score on each ranked dataset. Empty with fewer than two entrants."""
    import pandas as pd

    stored, labels = _opened(runs, unblind)
    board = (build_leaderboard(run_cells(stored[0])) if len(stored) == 1
             else comparison_leaderboard(stored, labels))
    if board is None:
        return pd.DataFrame(columns=["mean_rank", "normalised", "elo", "time_per_result_s"],
                            index=pd.Index([], name="entrant", dtype="string"), dtype="float64")
    table = pd.DataFrame({"mean_rank": board.mean_rank, "normalised": board.normalised, "elo": board.elo,
                          "time_per_result_s": board.time_per_result()},
                         index=pd.Index(board.entrants, name="entrant", dtype="string"))
    for i, dataset in enumerate(board.datasets):
        table[f"{dataset}: {board.figures[i]}"] = board.scores[i]
    return table
