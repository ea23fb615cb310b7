"""Run-directory I/O at the edge: atomic JSON/NPZ writes and loading a stored run."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .core.errors import BenchmarkError

RESULTS = "results.json"
MANIFEST = "manifest.json"
REPORT = "report.md"
PREDICTIONS = "predictions"


def _atomic(path: Path, write) -> None:
    """Write to a temp file in the same directory, then rename: a crash leaves no half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    _atomic(path, lambda fh: fh.write(data))


def write_text(path: Path, text: str) -> None:
    _atomic(path, lambda fh: fh.write(text.encode()))


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    _atomic(path, lambda fh: np.savez_compressed(fh, **arrays))


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
