"""Run-directory I/O at the edge: atomic JSON/NPZ writes and loading a stored run."""
from __future__ import annotations

import json
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
SCHEMA = 1  # the layout of results.json; a reader refuses any other


def new_results(suite: str, blind: bool) -> dict:
    """An empty results.json document."""
    return {"schema": SCHEMA, "suite": suite, "blind": blind, "datasets": {}, "tuning": {}, "records": []}


def record_key(rec: dict) -> str:
    """The file-name stem of a record's predictions: dataset, model, control and seed."""
    return f"{safe_name(rec['dataset'])}__{safe_name(rec['model'])}__{rec['control']}__seed{rec['seed']}"


def add_record(run_dir: Path, results: dict, record: dict, arrays: dict[str, np.ndarray]) -> None:
    """Store one fit: its predictions first, then results.json naming them (both atomic)."""
    key = record_key(record)
    record["predictions"] = f"{PREDICTIONS}/{key}.npz"
    write_npz(prediction_path(run_dir, key), **arrays)
    results["records"].append(record)
    write_json(Path(run_dir) / RESULTS, results)


def example_image_path(run_dir: Path, dataset: str, model_label: str) -> Path:
    """Where a run keeps a SuperTML model's example images (written by the runner, shown by reports)."""
    return Path(run_dir) / PLOTS / f"{safe_name(dataset)}__{safe_name(model_label)}__examples.png"


def _default(o: Any):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json(path: Path, obj: Any) -> None:
    data = json.dumps(obj, indent=2, default=_default, allow_nan=True).encode()
    atomic_write(path, lambda fh: fh.write(data))


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text.encode()))


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
    return results, manifest


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
