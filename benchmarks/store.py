"""A run directory: its typed records written once each, and read back as one :class:`StoredRun`.

The runner hands every finished fit to a :class:`RunWriter` once (its predictions first,
then results.json naming them, both atomic); nothing else writes or changes a run. Readers
get a :class:`StoredRun`: the manifest, the datasets' descriptions, the searches, the
records and failures, checked field by field, and each record's prediction arrays loaded
lazily, at most once, and only the splits the reader may see (a blind run never opens a
private array).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from .core.errors import BenchmarkError
from .core.files import atomic_write
from .core.naming import file_name
from .core.scoring import PRIVATE, SplitArrays
from .records_table import RECORDS_CSV, records_frame, write_table
from .run_record import PREDICTIONS, Failure, FitKey, Record, freeze, thaw
from .run_schema import MANIFEST as MANIFEST_FIELDS, RESULTS as RESULTS_FIELDS, check, check_arrays

RESULTS = "results.json"
MANIFEST = "manifest.json"
REPORT = "report.md"
REPORT_HTML = "report.html"  # the same report as one self-contained page
PLOTS = "plots"
LOCK = ".lock"
SCHEMA = 1  # the layout of results.json; a reader refuses any other


def example_image_path(run_dir: Path, dataset: str, model_label: str) -> Path:
    """Where a run keeps a SuperTML model's example images (written by the runner, shown by reports)."""
    return Path(run_dir) / PLOTS / f"{file_name(dataset)}__{file_name(model_label)}__examples.png"


def strict_json(obj: Any) -> Any:
    """`obj` as plain JSON values: numpy scalars and arrays unwrapped, NaN and infinities as null.

    JSON has no NaN or Infinity; most parsers reject Python's ``NaN`` token, so a figure
    that does not exist (an AUC with one class, a class absent from a split) is ``null``.
    """
    if isinstance(obj, Mapping):
        return {str(k): strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return strict_json(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, str):
        return obj
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: Path, obj: Any) -> None:
    data = json.dumps(strict_json(obj), indent=2, allow_nan=False).encode()
    atomic_write(path, lambda fh: fh.write(data))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text.encode()))


def write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda fh: fh.write(data))


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    atomic_write(path, lambda fh: np.savez_compressed(fh, **arrays))


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BenchmarkError(f"not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise BenchmarkError(f"{path} is not valid JSON: {exc}") from None


def prediction_path(run_dir: Path, key: str) -> Path:
    return Path(run_dir) / PREDICTIONS / f"{key}.npz"


def _load_npz(path: Path, keys: Iterable[str] | None) -> dict[str, np.ndarray] | None:
    """The named arrays of one prediction file (all without ``keys``); None when missing or
    torn, BenchmarkError for an array of Python objects. The one place a prediction file is opened."""
    try:
        with np.load(path) as npz:
            return {k: npz[k] for k in (npz.files if keys is None else keys)}
    except ValueError as exc:
        if "allow_pickle" in str(exc):  # an array of Python objects: written by something else
            raise BenchmarkError(f"{path} holds an array of Python objects, not numbers") from None
        return None
    except (OSError, KeyError, zipfile.BadZipFile):
        return None


def read_predictions(path: Path, splits: Sequence[str], n_classes: int | None) -> dict[str, SplitArrays] | None:
    """The checked arrays of ``splits`` in one prediction file (``run_schema.check_arrays``:
    types, dimensions, one length per split, finite probabilities); None when the file is
    missing or torn, BenchmarkError (one line) when its arrays are of the wrong type or shape."""
    arrays = _load_npz(path, [k for n in splits for k in SplitArrays.keys(n)])
    if arrays is None:
        return None
    check_arrays(arrays, splits, n_classes, str(path))
    return {n: SplitArrays.from_npz(arrays, n) for n in splits}


_HELD: set[Path] = set()  # the run directories this process holds the lock of


class RunLock:
    """An exclusive lock on a run directory, held while a process writes into it.

    flock(2) on a file inside the directory: the kernel drops the lock when the holder
    dies, kill -9 included, so a crashed run never leaves its directory locked. The lock
    file itself stays (removing it would let two processes lock two different files).
    ``shared``: ``tune`` workers on a study in the directory hold it together, excluding a
    run (and any other writer) but not each other.
    """

    def __init__(self, run_dir: Path, shared: bool = False):
        self.run_dir = Path(run_dir)
        self.shared = shared
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        fd = os.open(self.run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            raise BenchmarkError(f"{self.run_dir} is in use by another run or command"
                                 f"{f' (pid {holder})' if holder.isdigit() else ''}; "
                                 "wait for it to finish, or choose another directory") from None
        os.ftruncate(fd, 0)  # the holder's pid, when there is one holder
        if not self.shared:
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        _HELD.add(self.run_dir.resolve())
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            _HELD.discard(self.run_dir.resolve())
            if not self.shared:
                os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def is_run_dir(path: Path, complete: bool = False) -> bool:
    """Whether ``path`` holds a run: its results.json or manifest.json (``complete``: both,
    as ``--resume`` needs). A command writes into a directory, the lock file included, only
    when it is one, or when it is making a new run there."""
    names = [(Path(path) / name).is_file() for name in (RESULTS, MANIFEST)]
    return all(names) if complete else any(names)


def is_locked(run_dir: Path) -> bool:
    """True while some process holds the run directory's lock (a run in progress)."""
    path = Path(run_dir) / LOCK
    if not path.is_file():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def discard_unused_run_dir(run_dir: Path) -> None:
    """Remove a run directory this process created, if it holds no work: no fit (a record or a
    failure), no search (stored in results.json, or a study in the run's own optuna.db)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or (run_dir / "optuna.db").exists():
        return
    results = run_dir / RESULTS
    if results.is_file():
        try:
            stored = json.loads(results.read_text())
            if any(stored.get(key) for key in ("records", "failures", "tuning")):
                return
        except (OSError, ValueError, AttributeError):
            return
    shutil.rmtree(run_dir, ignore_errors=True)


# --------------------------------------------------------------------------- reading a run


NOT_TESTS = ("train", "val")


def visible_tests(info: Mapping, blind: bool) -> list[str]:
    """A dataset description's test splits in stored order; the private one left out when blind."""
    return [n for n in info.get("splits", {}) if n not in NOT_TESTS and not (blind and n == PRIVATE)]


def _frozen_copy(value: Any) -> Any:
    return freeze(json.loads(json.dumps(strict_json(value))))


@dataclass(frozen=True, eq=False)
class StoredRun:
    """A run as stored: read (and checked) once, then only read.

    ``blind`` says whether private figures are hidden (by default: when the suite is blind);
    :meth:`splits` then never names a private array, so none is ever read.
    Each record's arrays are loaded the first time they are asked for and kept.
    """

    run_dir: Path
    suite: str
    blind_run: bool  # the suite is blind (results.json's "blind")
    manifest: Mapping[str, Any]
    datasets: Mapping[str, Mapping[str, Any]]
    tuning: Mapping[str, Mapping[str, Any]]
    records: tuple[Record, ...]
    failures: tuple[Failure, ...]
    blind: bool  # private figures hidden from readers of this view
    _arrays: dict = field(default_factory=dict, repr=False)

    def view(self, *, unblind: bool = False, blind: bool | None = None) -> "StoredRun":
        """The same run with private figures shown (``unblind``), or hidden as ``blind`` says
        (default: as the suite says). A view reads its own arrays."""
        hide = (self.blind_run and not unblind) if blind is None else bool(blind)
        return self if hide == self.blind else replace(self, blind=hide, _arrays={})

    @property
    def in_progress(self) -> bool:
        """Whether another process still holds the run's lock (it is being written); a
        report written under this process's own lock is of a run that has stopped."""
        return self.run_dir.resolve() not in _HELD and is_locked(self.run_dir)

    def visible_tests(self, dataset: str) -> list[str]:
        """The dataset's test splits in stored order; the private one left out when blind."""
        return visible_tests(self.datasets.get(dataset) or {}, self.blind)

    def splits(self, record: Record) -> dict[str, SplitArrays] | None:
        """The record's stored labels, probabilities and weights on validation and every visible
        test split; None when its file is missing, torn or corrupt. Read from disk once."""
        rel = record.predictions
        if rel is None:
            return None
        if rel not in self._arrays:
            self._arrays[rel] = read_predictions(self.run_dir / rel, ["val", *self.visible_tests(record.dataset)],
                                                 self.n_classes(record.dataset))
        return self._arrays[rel]

    def records_table(self):
        """The records as one tidy pandas DataFrame (``records_table``), private figures left
        out while this view is blind: what records.csv holds."""
        return records_frame(self.records, self.datasets, self.blind)

    def n_classes(self, dataset: str) -> int | None:
        """How many classes the dataset's probabilities have (None for a dataset not described)."""
        info = self.datasets.get(dataset)
        return None if info is None else len(info["class_names"])

    def unreadable(self) -> tuple[str, ...]:
        """The prediction files a report needs but cannot read (missing, torn, corrupt)."""
        return tuple(r.predictions for r in self.records
                     if r.dataset in self.datasets and r.predictions and self.splits(r) is None)

    def missing_fits(self) -> tuple[FitKey, ...]:
        """The fits the manifest planned that the run holds no record of."""
        done = {r.key for r in self.records}
        planned = [tuple(f) for f in self.manifest.get("fits") or [] if isinstance(f, (list, tuple)) and len(f) == 4]
        return tuple(f for f in planned if f not in done)

    def example_image(self, dataset: str, label: str) -> str | None:
        """A SuperTML model's example sheet, relative to the run directory, when the run drew one."""
        path = example_image_path(self.run_dir, dataset, label)
        return path.relative_to(self.run_dir).as_posix() if path.is_file() else None


def _checked(results: Any, where: str) -> tuple[tuple[Record, ...], tuple[Failure, ...]]:
    """The typed records and failures of a results.json document; BenchmarkError (one line)
    for any field a reader uses with the wrong type (``run_schema`` says what each is)."""
    if not isinstance(results, dict) or "records" not in results:
        raise BenchmarkError(f"{where} has no 'records': not written by this tool")
    if results.get("schema") != SCHEMA:
        raise BenchmarkError(f"{where} has schema {results.get('schema')!r}; this version reads schema {SCHEMA}")
    check(RESULTS_FIELDS, results, where)
    for name, info in results["datasets"].items():
        if info["name"] != name:
            raise BenchmarkError(f"{where}: dataset {name!r} is described as {info['name']!r}")
    records = tuple(Record.from_json(r, f"{where}, record {i}") for i, r in enumerate(results["records"]))
    failures = tuple(Failure.from_json(f, f"{where}, failure {i}") for i, f in enumerate(results.get("failures", [])))
    return records, failures


def open_run(run_dir: Path, unblind: bool = False) -> StoredRun:
    """A run directory's results.json and manifest.json as a StoredRun, checked field by field.

    A reader never trusts these files: a hand-edited or foreign file gives one line naming
    the bad field, not a crash deep inside a report.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise BenchmarkError(f"run directory not found: {run_dir}")
    if not (run_dir / RESULTS).is_file():
        raise BenchmarkError(f"{run_dir} holds no {RESULTS}: not a run directory")
    results = read_json(run_dir / RESULTS)
    manifest = read_json(run_dir / MANIFEST) if (run_dir / MANIFEST).is_file() else {}
    records, failures = _checked(results, str(run_dir / RESULTS))
    check(MANIFEST_FIELDS, manifest, str(run_dir / MANIFEST))
    blind = bool(results.get("blind"))
    return StoredRun(run_dir, str(results.get("suite", "?")), blind, freeze(manifest), freeze(results["datasets"]),
                     freeze(results.get("tuning") or {}), records, failures, blind=blind and not unblind)


# --------------------------------------------------------------------------- writing a run


class RunWriter:
    """The one writer of a run directory: the runner hands it each dataset description, search,
    record and failure once; it keeps results.json current (atomically) after every one.

    With ``order`` (fit key -> position in the plan) records are kept in plan order, so a
    run's results.json does not depend on the order in which its fits finished.
    """

    def __init__(self, run_dir: Path, suite: str, blind: bool, manifest: Mapping, order: Mapping[FitKey, int],
                 datasets: dict | None = None, tuning: dict | None = None, records=(), failures=()):
        self.run_dir = Path(run_dir)
        self.suite, self.blind, self.manifest, self.order = suite, bool(blind), manifest, dict(order)
        self._datasets: dict[str, dict] = datasets or {}
        self._tuning: dict[str, dict] = tuning or {}
        self._records: list[Record] = list(records)
        self._failures: list[Failure] = list(failures)

    @classmethod
    def start(cls, run_dir: Path, suite: str, blind: bool, manifest: Mapping,
              order: Mapping[FitKey, int]) -> "RunWriter":
        """A new run: its manifest, then an empty results.json."""
        write_json(Path(run_dir) / MANIFEST, manifest)
        writer = cls(run_dir, suite, blind, manifest, order)
        writer._flush()
        return writer

    @classmethod
    def resume(cls, run_dir: Path, order: Mapping[FitKey, int]) -> tuple["RunWriter", int, int]:
        """An interrupted run, keeping the records whose predictions are intact; returns it with
        the numbers of records and failures dropped (to be rerun)."""
        run = open_run(run_dir)
        kept = [r for r in run.records if _intact(run, r)]
        writer = cls(run_dir, run.suite, run.blind_run, thaw(run.manifest), order, thaw(run.datasets),
                     thaw(run.tuning), kept)
        writer._flush()
        return writer, len(run.records) - len(kept), len(run.failures)

    # ------------------------------------------------------------------ what the runner reads back

    def done(self) -> set[FitKey]:
        return {r.key for r in self._records}

    def dataset(self, name: str) -> Mapping | None:
        """A dataset's stored description (a resumed run keeps what it already found)."""
        return self._datasets.get(name)

    def search(self, key: str) -> Mapping | None:
        return self._tuning.get(key)

    # ------------------------------------------------------------------ what the runner hands over

    def describe(self, name: str, description: Mapping) -> None:
        self._datasets[name] = thaw(description)
        self._flush()

    def add_to_dataset(self, name: str, key: str, value: Any) -> None:
        """One more fact of a described dataset (its feature selections, its search notes)."""
        self._datasets[name][key] = thaw(value)
        self._flush()

    def add_search(self, key: str, summary: Mapping) -> None:
        self._tuning[key] = thaw(summary)
        self._flush()

    def add_record(self, record: Record, arrays: Mapping[str, np.ndarray], examples_png: bytes | None = None) -> Record:
        """Store one fit: its example sheet and predictions first, then results.json naming them."""
        if examples_png is not None:
            write_bytes(example_image_path(self.run_dir, record.dataset, record.model), examples_png)
        key = record_key(record)
        write_npz(prediction_path(self.run_dir, key), **arrays)
        record = record.with_(predictions=f"{PREDICTIONS}/{key}.npz")
        self._records = [r for r in self._records if r.key != record.key] + [record]
        self._records.sort(key=lambda r: self.order.get(r.key, len(self.order)))
        self._failures = [f for f in self._failures if f.key != record.key]
        self._flush()
        return record

    def add_failure(self, failure: Failure) -> None:
        """Store a fit that failed by itself (its one-line error): never among the records."""
        self._failures.append(failure)
        self._flush()

    def stored(self) -> StoredRun:
        """What has been written, as readers see it (arrays loaded lazily from the files)."""
        return StoredRun(self.run_dir, self.suite, self.blind, _frozen_copy(self.manifest),
                         _frozen_copy(self._datasets), _frozen_copy(self._tuning), tuple(self._records),
                         tuple(self._failures), blind=self.blind)

    def _flush(self) -> None:
        write_json(self.run_dir / RESULTS, {
            "schema": SCHEMA, "suite": self.suite, "blind": self.blind, "datasets": self._datasets,
            "tuning": self._tuning, "records": [r.to_json() for r in self._records],
            "failures": [f.to_json() for f in self._failures]})
        # Written with results.json, every time, so that every run (an interrupted one too) has
        # the table of exactly what results.json holds; blind as the suite is.
        write_table(records_frame(self._records, self._datasets, self.blind), self.run_dir / RECORDS_CSV, "csv")


def record_key(rec: Record) -> str:
    """The file-name stem of a record's predictions: dataset, model, control and seed; distinct
    fits get distinct stems (``file_name``), so no record's file overwrites another's."""
    return f"{file_name(rec.dataset)}__{file_name(rec.model)}__{file_name(rec.control)}__seed{rec.seed}"


def _intact(run: StoredRun, record: Record) -> bool:
    """Whether a record's predictions file holds every array it should, of the right type and
    shape; a torn, lost or wrong one is not kept (its fit is rerun)."""
    if not record.predictions:
        return False
    tests = visible_tests(run.datasets.get(record.dataset) or {}, blind=False)
    try:
        return read_predictions(run.run_dir / record.predictions, ["val", *tests], run.n_classes(record.dataset)) \
            is not None
    except BenchmarkError:
        return False
