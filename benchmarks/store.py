"""Run-directory I/O at the edge: atomic JSON/NPZ writes and loading a stored run."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .core.errors import BenchmarkError
from .core.files import atomic_write
from .core.naming import safe_name

RESULTS = "results.json"
MANIFEST = "manifest.json"
REPORT = "report.md"
PREDICTIONS = "predictions"
PLOTS = "plots"
LOCK = ".lock"
SCHEMA = 1  # the layout of results.json; a reader refuses any other


def new_results(suite: str, blind: bool) -> dict:
    """An empty results.json document.

    ``records`` hold the fits that finished; ``failures`` the fits that failed by
    themselves (``status: "failed"``, ``error_kind``, one-line ``error``), which readers of
    records never see: a report counts them as missing fits, ``--resume`` reruns them.
    """
    return {"schema": SCHEMA, "suite": suite, "blind": blind, "datasets": {}, "tuning": {}, "records": [],
            "failures": []}


def record_key(rec: dict) -> str:
    """The file-name stem of a record's predictions: dataset, model, control and seed."""
    return f"{safe_name(rec['dataset'])}__{safe_name(rec['model'])}__{rec['control']}__seed{rec['seed']}"


def fit_key(rec: dict) -> tuple[str, str, int, str]:
    """(dataset, model label, seed, control): which planned fit a record or failure is."""
    return (rec["dataset"], rec["model"], rec["seed"], rec["control"])


def add_record(run_dir: Path, results: dict, record: dict, arrays: dict[str, np.ndarray],
               order: dict | None = None) -> None:
    """Store one fit: its predictions first, then results.json naming them (both atomic).

    With ``order`` (fit key -> position in the plan) records are kept in plan order, so a
    run's results.json does not depend on the order in which its fits finished.
    """
    key = record_key(record)
    record["predictions"] = f"{PREDICTIONS}/{key}.npz"
    write_npz(prediction_path(run_dir, key), **arrays)
    results["records"].append(record)
    if order is not None:
        results["records"].sort(key=lambda r: order.get(fit_key(r), len(order)))
    results["failures"] = [f for f in results.get("failures", []) if fit_key(f) != fit_key(record)]
    write_json(Path(run_dir) / RESULTS, results)


def add_failure(run_dir: Path, results: dict, failure: dict) -> None:
    """Store a fit that failed by itself (its one-line error): never among the records."""
    results.setdefault("failures", []).append(failure)
    write_json(Path(run_dir) / RESULTS, results)


def example_image_path(run_dir: Path, dataset: str, model_label: str) -> Path:
    """Where a run keeps a SuperTML model's example images (written by the runner, shown by reports)."""
    return Path(run_dir) / PLOTS / f"{safe_name(dataset)}__{safe_name(model_label)}__examples.png"


def strict_json(obj: Any) -> Any:
    """`obj` as plain JSON values: numpy scalars and arrays unwrapped, NaN and infinities as null.

    JSON has no NaN or Infinity; most parsers reject Python's ``NaN`` token, so a figure
    that does not exist (an AUC with one class, a class absent from a split) is ``null``.
    """
    if isinstance(obj, dict):
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


def load_run(run_dir: Path) -> tuple[dict, dict]:
    """results.json and manifest.json of a run directory, checked field by field.

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
    if not isinstance(results, dict) or "records" not in results:
        raise BenchmarkError(f"{run_dir / RESULTS} has no 'records': not written by this tool")
    if results.get("schema") != SCHEMA:
        raise BenchmarkError(f"{run_dir / RESULTS} has schema {results.get('schema')!r}; this version reads schema {SCHEMA}")
    check_results(results, str(run_dir / RESULTS))
    if not isinstance(manifest, dict):
        raise BenchmarkError(f"{run_dir / MANIFEST} is not a JSON object")
    return results, manifest


_NUMBER = (int, float)
_RECORD_FIELDS = {"dataset": str, "model": str, "seed": int, "control": str, "metrics": dict, "timing": dict}
_DATASET_FIELDS = {"name": str, "metric": str, "class_names": list, "seeds": list, "splits": dict}


def _check_fields(obj: Any, fields: dict[str, type], where: str) -> None:
    if not isinstance(obj, dict):
        raise BenchmarkError(f"{where} is not a JSON object")
    for key, kind in fields.items():
        value = obj.get(key)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BenchmarkError(f"{where}: field {key!r} must be {kind.__name__}, got {type(value).__name__}")


def _is_figure(value: Any) -> bool:
    if isinstance(value, list):
        return all(_is_figure(v) for v in value)
    return value is None or (isinstance(value, _NUMBER) and not isinstance(value, bool))


def check_results(results: dict, where: str) -> None:
    """Raise BenchmarkError (one line) unless every field a reader uses has the right type."""
    if not isinstance(results.get("datasets"), dict) or not isinstance(results.get("tuning", {}), dict):
        raise BenchmarkError(f"{where}: 'datasets' and 'tuning' must be JSON objects")
    if not isinstance(results["records"], list):
        raise BenchmarkError(f"{where}: 'records' must be a list")
    for name, info in results["datasets"].items():
        _check_fields(info, _DATASET_FIELDS, f"{where}, dataset {name!r}")
    for i, rec in enumerate(results["records"]):
        _check_fields(rec, _RECORD_FIELDS, f"{where}, record {i}")
        bad = [k for k, v in {**rec["metrics"], **rec["timing"]}.items() if not _is_figure(v)]
        if bad:
            raise BenchmarkError(f"{where}, record {i}: {bad[0]!r} is not a number")
        rel = rec.get("predictions")
        if rel is not None and (not isinstance(rel, str) or Path(rel).parent.as_posix() != PREDICTIONS
                                or Path(rel).name in ("", ".", "..")):
            raise BenchmarkError(f"{where}, record {i}: predictions must name a file in {PREDICTIONS}/")
        if rec.get("status", "ok") != "ok":
            raise BenchmarkError(f"{where}, record {i}: a failed fit belongs in 'failures', not 'records'")
    _check_failures(results.get("failures", []), where)


_FAILURE_FIELDS = {"dataset": str, "model": str, "seed": int, "control": str, "status": str, "error": str}


def _check_failures(failures: Any, where: str) -> None:
    if not isinstance(failures, list):
        raise BenchmarkError(f"{where}: 'failures' must be a list")
    for i, fail in enumerate(failures):
        _check_fields(fail, _FAILURE_FIELDS, f"{where}, failure {i}")
        if fail["status"] != "failed" or "predictions" in fail:
            raise BenchmarkError(f"{where}, failure {i}: status must be 'failed', with no predictions")


def prediction_path(run_dir: Path, key: str) -> Path:
    return Path(run_dir) / PREDICTIONS / f"{key}.npz"


def load_predictions(run_dir: Path | None, record: dict, keys=None) -> dict[str, np.ndarray] | None:
    """A record's stored predictions (only ``keys`` when given); None when missing or unreadable.

    Reading only the named arrays is what keeps blind reports from touching private ones.
    """
    rel = record.get("predictions")
    if run_dir is None or not rel:
        return None
    try:
        with np.load(Path(run_dir) / rel) as npz:
            return {k: npz[k] for k in (npz.files if keys is None else keys)}
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


class RunLock:
    """An exclusive lock on a run directory, held while a process writes into it.

    flock(2) on a file inside the directory: the kernel drops the lock when the holder
    dies, kill -9 included, so a crashed run never leaves its directory locked. The lock
    file itself stays (removing it would let two processes lock two different files).
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        fd = os.open(self.run_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise BenchmarkError(f"{self.run_dir} is in use by another run (pid {holder}); "
                                 "wait for it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


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


def readable_record(run_dir: Path, record: dict) -> bool:
    """Whether a record's predictions file holds every array it should (not torn or lost)."""
    arrays = load_predictions(run_dir, record)
    return arrays is not None and "val_proba" in arrays and any(k.endswith("_proba") and k != "val_proba" for k in arrays)


def discard_unused_run_dir(run_dir: Path) -> None:
    """Remove a run directory this process created, if it holds no work (no fit, no search)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or (run_dir / "optuna.db").exists():
        return
    results = run_dir / RESULTS
    if results.is_file():
        try:
            if json.loads(results.read_text()).get("records"):
                return
        except (OSError, ValueError, AttributeError):
            return
    shutil.rmtree(run_dir, ignore_errors=True)
