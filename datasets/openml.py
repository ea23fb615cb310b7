"""OpenML classification tables through scikit-learn's ``fetch_openml`` and its cache.

``--dataset openml:1590`` (or a suite entry ``name = "openml"``, ``options = { id = 1590 }``,
or ``name = "openml:1590"``) loads OpenML data set 1590. Everything about the table comes
from OpenML's own metadata: the default target, which columns are nominal (categorical),
the declared order of their categories, missing values and the class names.

Where the data lives: scikit-learn's cache, ``$SCIKIT_LEARN_DATA/openml`` (default
``~/scikit_learn_data/openml``), in the layout ``fetch_openml`` writes (``cache_files``):
the description, feature and quality JSON of the data set and its ARFF file, each gzipped
under ``openml.org/<the URL's path>.gz``. A cached table is read without touching the
network. An uncached one is downloaded when OpenML answers; when it does not, loading
fails with one line naming the table, the cache directory and how to fetch it elsewhere.

How columns reach the models: numeric columns as they are, missing entries marked with
the dataset's missing value (see ``missing_marker``); nominal columns as their category
codes in OpenML's declared order (0..k-1; a missing entry is one more category, k). Models
that embed categories get the categorical column names (``Dataset.categorical``); every
other model sees the codes as ordinal numbers. The report's dataset section says so.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import socket
import warnings
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from benchmarks.core import limits, network
from benchmarks.core.errors import ConfigError, DataError, excerpt
from benchmarks.core.registry import Entry

from .base import Dataset
from .registry import DATASETS, register_dataset

API = "https://www.openml.org/api/v1/json/data"
PREFIX = "openml:"
MISSING_CANDIDATES = (-999.0, -9999.0, -99999.0, -999999.0)  # HiggsML's convention first
MAX_ID = 10**9


def openml_home(data_home: str | os.PathLike | None = None) -> Path:
    """scikit-learn's OpenML cache: ``<data_home>/openml`` (``$SCIKIT_LEARN_DATA`` or ~/scikit_learn_data)."""
    base = data_home if data_home is not None else os.environ.get("SCIKIT_LEARN_DATA", "~/scikit_learn_data")
    return Path(base).expanduser() / "openml"


def cached_path(home: Path, url: str) -> Path:
    """Where ``fetch_openml`` keeps the answer of ``url``: the URL's path under ``openml.org``, gzipped."""
    return home / "openml.org" / (urlparse(url).path.lstrip("/") + ".gz")


def api_urls(data_id: int) -> dict[str, str]:
    return {"description": f"{API}/{data_id}", "features": f"{API}/features/{data_id}",
            "qualities": f"{API}/qualities/{data_id}"}


def _read_json(path: Path) -> dict:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"OpenML cache file {path} is unreadable ({type(exc).__name__}); delete it and "
                        "fetch the table again") from None


def cache_files(data_id: int, home: Path) -> tuple[list[Path], list[Path]]:
    """(files of this data set in the cache, files it lacks). The data file's name comes from
    the cached description, so without a description only the description is named."""
    urls = api_urls(data_id)
    description = cached_path(home, urls["description"])
    if not description.is_file():
        return [], [description]
    desc = _read_json(description).get("data_set_description") or {}
    wanted = [description, cached_path(home, urls["features"]), cached_path(home, urls["qualities"])]
    if desc.get("url"):
        wanted.append(cached_path(home, str(desc["url"])))
    return [p for p in wanted if p.is_file()], [p for p in wanted if not p.is_file()]


def fetch_command(data_id: int) -> str:
    return f"python -m benchmarks fetch openml:{data_id}"


def how_to_fetch(data_id: int, home: Path) -> str:
    return (f"on a machine with network run `{fetch_command(data_id)}` (it fills {home}) and copy that "
            f"directory here, or point SCIKIT_LEARN_DATA at a directory whose openml/ holds it")


def reachable(url: str = API, timeout: float = 2.0) -> bool:
    """Whether OpenML (or the HTTPS proxy to it) answers a TCP connect."""
    return network.reachable(url, timeout)


def check_id(data_id: Any) -> int:
    if isinstance(data_id, str) and data_id.strip().isdigit():
        data_id = int(data_id)
    if data_id is None:
        raise ConfigError("openml needs a data set id: --dataset openml:ID or options = { id = ID }")
    return limits.integer(data_id, "OpenML data set id", 1, MAX_ID)


# ----------------------------------------------------------------------------- download and read


def _fetch_openml(data_id: int, home: Path, target: str | None):
    """scikit-learn's reader, warnings kept for the notes, any failure as one line."""
    from sklearn.datasets import fetch_openml

    kwargs = {"target_column": target} if target else {}
    timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(60)  # scikit-learn opens URLs without a timeout
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            bunch = fetch_openml(data_id=data_id, data_home=str(home.parent), as_frame=True, parser="pandas",
                                 n_retries=1, delay=1.0, **kwargs)
    except (OSError, ValueError, KeyError, TypeError, EOFError, pd.errors.ParserError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        first = excerpt(first, 120, quote=False)
        raise DataError(f"openml:{data_id}: scikit-learn could not read it ({type(exc).__name__}: {first})") from None
    finally:
        socket.setdefaulttimeout(timeout)
    notes = tuple(dict.fromkeys(str(w.message).splitlines()[0] for w in caught
                                if "OpenML" in str(w.message) or "inactive" in str(w.message)))
    return bunch, notes


def file_md5(path: Path) -> str:
    """MD5 of a cached file's content after gunzip: what OpenML's description states."""
    digest = hashlib.md5()
    try:
        with gzip.open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except (OSError, EOFError) as exc:
        raise DataError(f"OpenML cache file {path} is unreadable ({type(exc).__name__})") from None
    return digest.hexdigest()


def verify_cache(data_id: int, home: Path) -> None:
    """Every cached file readable and the data file's checksum the description's.

    Checked here because scikit-learn answers a bad cached file by deleting it and
    downloading it again: offline that would turn a corrupt file into a network error.
    """
    urls = api_urls(data_id)
    desc = _read_json(cached_path(home, urls["description"])).get("data_set_description") or {}
    for key in ("features", "qualities"):
        _read_json(cached_path(home, urls[key]))
    data = cached_path(home, str(desc.get("url", "")))
    expected = str(desc.get("md5_checksum") or "")
    if expected and file_md5(data) != expected:
        raise DataError(f"openml:{data_id}: the cached data file {data} does not match OpenML's checksum "
                        f"(corrupt or changed); fetch it again with `{fetch_command(data_id)} --force`")


def ensure_cached(data_id: int, home: Path, download: bool) -> None:
    """Raise DataError (one line) unless the data set is cached (and intact) or can be downloaded now."""
    _, missing = cache_files(data_id, home)
    if not missing:
        verify_cache(data_id, home)
        return
    if not download:
        raise DataError(f"openml:{data_id} is not in the OpenML cache {home} (download=false); "
                        f"{how_to_fetch(data_id, home)}")
    if not reachable():
        raise DataError(f"openml:{data_id} is not in the OpenML cache {home} and OpenML cannot be reached "
                        f"(offline?); {how_to_fetch(data_id, home)}")


def check_size(data_id: int, home: Path) -> None:
    """Refuse, before reading it, a table that would not fit in memory (from OpenML's qualities)."""
    path = cached_path(home, api_urls(data_id)["qualities"])
    if not path.is_file():
        return
    qualities = {q.get("name"): q.get("value") for q in
                 (_read_json(path).get("data_qualities") or {}).get("quality") or []}
    try:
        rows, cols = float(qualities.get("NumberOfInstances") or 0), float(qualities.get("NumberOfFeatures") or 0)
    except (TypeError, ValueError):
        return
    memory = limits.memory_bytes()
    need = rows * cols * 8 * 4  # float64 features plus pandas' parsing copies
    if rows > limits.MAX_EVENTS or (memory is not None and need > memory / 2):
        raise DataError(f"openml:{data_id}: {rows:.0f} rows x {cols:.0f} columns is too large to load here")


def remove_cached(data_id: int, home: Path) -> int:
    """Delete a data set's cached files (``fetch --force``); returns how many went."""
    present, _ = cache_files(data_id, home)
    for path in present:
        path.unlink(missing_ok=True)
    empty = home / "openml.org" / "data" / "v1" / "download"
    if empty.is_dir():
        for sub in empty.iterdir():
            if sub.is_dir() and not any(sub.iterdir()):
                shutil.rmtree(sub, ignore_errors=True)
    return len(present)


def cached(dest_dir: str | os.PathLike | None = None, data_id: Any = None) -> bool:
    """Whether every file of OpenML data set `data_id` is in the cache under data home `dest_dir`."""
    return not cache_files(check_id(data_id), openml_home(dest_dir))[1]


def fetch(dest_dir: str | os.PathLike | None = None, force: bool = False, data_id: Any = None) -> Path:
    """Download OpenML data set `data_id` into scikit-learn's cache (`dest_dir` is the
    data home; default ``$SCIKIT_LEARN_DATA``); returns the OpenML cache directory.

    What ``python -m benchmarks fetch openml:ID`` calls. ``force`` deletes the cached files
    of this data set first.
    """
    data_id = check_id(data_id)
    home = openml_home(dest_dir)
    if force:
        remove_cached(data_id, home)
    ensure_cached(data_id, home, download=True)
    check_size(data_id, home)
    _fetch_openml(data_id, home, None)
    return home


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Columns:
    """The feature columns as the models get them, and what the report says about them."""

    X: np.ndarray
    names: tuple[str, ...]
    categorical: tuple[str, ...]
    missing_value: float | None
    notes: tuple[str, ...]


def _declared(features: list[dict]) -> dict[str, list[str]]:
    """Each nominal column's categories in the order OpenML declares them."""
    out = {}
    for f in features:
        values = f.get("nominal_value")
        if f.get("data_type") == "nominal" and values is not None:
            out[str(f["name"])] = [str(v) for v in (values if isinstance(values, list) else [values])]
    return out


def category_codes(column: pd.Series, declared: list[str] | None) -> tuple[np.ndarray, int]:
    """(codes 0..k-1 in OpenML's declared order, missing entries as k; k). Categories the
    declaration lacks follow it in sorted order, so no value is ever lost."""
    seen = [str(c) for c in column.cat.categories]
    order = list(dict.fromkeys([*(declared or []), *sorted(seen)]))
    position = np.array([order.index(c) for c in seen], dtype=np.float64)
    raw = column.cat.codes.to_numpy()  # -1 where missing
    return np.where(raw < 0, float(len(order)), position[np.maximum(raw, 0)] if len(seen) else 0.0), len(order)


def missing_marker(X: np.ndarray) -> float:
    """A marker for missing numeric entries that no real value of the table equals."""
    present = X[np.isfinite(X)]
    for candidate in MISSING_CANDIDATES:
        if not (present == candidate).any():
            return candidate
    return float(np.floor(present.min()) - 1000.0)


def feature_columns(X: pd.DataFrame, features: list[dict]) -> Columns:
    """Numeric columns as floats, nominal ones as category codes; text columns are dropped."""
    declared = _declared(features)
    arrays, names, categorical, dropped, notes = [], [], [], [], []
    cat_missing = 0
    for name in X.columns:
        col = X[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes, _ = category_codes(col, declared.get(str(name)))
            arrays.append(codes)
            categorical.append(str(name))
            cat_missing += int(col.isna().sum())
        elif pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
            arrays.append(pd.to_numeric(col).to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            dropped.append(str(name))
            continue
        names.append(str(name))
    if not arrays:
        raise DataError("the table has no numeric or nominal feature column")
    values = np.column_stack(arrays)
    marker = None
    n_missing = int(np.isnan(values).sum())
    if n_missing:
        marker = missing_marker(values)
        cols = [n for n, c in zip(names, np.isnan(values).any(axis=0)) if c]
        notes.append(f"Missing values: {n_missing} numeric entries in {len(cols)} column(s) "
                     f"({', '.join(cols[:8])}{', ...' if len(cols) > 8 else ''}) are marked {marker:g}; "
                     "the suite's preprocess.missing decides what models see.")
        values = np.where(np.isnan(values), marker, values)
    if cat_missing:
        notes.append(f"Missing values: {cat_missing} categorical entries are their column's own category (code k).")
    if dropped:
        notes.append(f"Text columns dropped (not features): {', '.join(dropped)}.")
    return Columns(values, tuple(names), tuple(categorical), marker, tuple(notes))


def class_labels(y: pd.Series, data_id: int, declared: list[str] | None = None
                 ) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """(labels 0..k-1, class names in OpenML's declared order, notes); classes without rows
    are left out (and named in the notes)."""
    if isinstance(y, pd.DataFrame):
        raise DataError(f"openml:{data_id}: {y.shape[1]} target columns; pick one with options = {{ target = ... }}")
    if not isinstance(y.dtype, pd.CategoricalDtype):
        raise DataError(f"openml:{data_id}: target {excerpt(y.name)} is not nominal (a regression table?); "
                        "only classification tables are supported")
    values = y.astype(str)
    seen = set(values[y.notna()])
    order = list(dict.fromkeys([*(declared or []), *sorted(seen)]))
    present = [c for c in order if c in seen]
    empty = [c for c in order if c not in seen]
    notes = (f"Classes without rows left out: {', '.join(empty)}.",) if empty else ()
    if len(present) < 2:
        raise DataError(f"openml:{data_id}: target {excerpt(y.name)} has a single class")
    codes = values.map({c: i for i, c in enumerate(present)}).to_numpy(dtype=np.int64)
    return codes, tuple(present), notes


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_.]+", "-", name.lower()).strip("-.") or "table"


def openml_dataset(bunch, data_id: int, features: list[dict], home: Path, metric: str,
                   extra_notes: tuple[str, ...] = ()) -> Dataset:
    """A validated Dataset from ``fetch_openml``'s frame and OpenML's feature metadata."""
    details = getattr(bunch, "details", None) or {}
    name = str(details.get("name") or f"openml-{data_id}")
    columns = feature_columns(bunch.data, features)
    target = getattr(bunch.target, "name", None) or "?"
    y, class_names, class_notes = class_labels(bunch.target, data_id, _declared(features).get(str(target)))
    cats = columns.categorical
    notes = [f"OpenML {data_id} ({name}, version {details.get('version', '?')}): {len(y)} rows, "
             f"{len(columns.names)} features ({len(cats)} categorical), {len(class_names)} classes; "
             f"target {target!r} (OpenML's default unless the suite names one)."]
    if cats:
        notes.append(f"Categorical columns ({len(cats)}: {', '.join(cats[:10])}{', ...' if len(cats) > 10 else ''}): "
                     "given by name to models that embed categories; every other model sees their category "
                     "codes (OpenML's declared order, 0..k-1, a missing entry is code k) as ordinal numbers.")
    return Dataset(
        name=f"{slug(name)}-{data_id}", X=columns.X, y=y, feature_names=columns.names, class_names=class_names,
        metric=metric, source=f"OpenML data set {data_id} ({name}; https://www.openml.org/d/{data_id}), "
                              f"read from the cache {home}",
        missing_value=columns.missing_value, categorical=cats,
        notes=(*notes, *columns.notes, *class_notes, *extra_notes))


@register_dataset("openml", fetch=fetch, cached=cached, fetch_as="openml:ID")
def openml(id: Any = None, data_home: str | None = None, target: str | None = None,  # noqa: A002 - the suite's key
           metric: str = "accuracy", download: bool = True) -> Dataset:
    """Any OpenML classification table: --dataset openml:ID, or options = { id = ID } (cached or downloaded)."""
    data_id = check_id(id)
    if not isinstance(download, bool):
        raise ConfigError(f"openml: download must be true or false, got {download!r}")
    home = openml_home(data_home)
    ensure_cached(data_id, home, download)
    check_size(data_id, home)
    bunch, warned = _fetch_openml(data_id, home, target)
    features = (_read_json(cached_path(home, api_urls(data_id)["features"])).get("data_features") or {}).get(
        "feature") or []
    try:
        return openml_dataset(bunch, data_id, features, home, metric, warned)
    except DataError as exc:
        message = str(exc)
        raise DataError(message if message.startswith(PREFIX) else f"openml:{data_id}: {message}") from None


def _resolve(name: str) -> Entry | None:
    """``openml:ID`` names the loader with its id bound (``--dataset openml:1590``)."""
    if not name.startswith(PREFIX):
        return None
    data_id = check_id(name[len(PREFIX):])
    return Entry(name, partial(openml, id=data_id), f"OpenML data set {data_id}",
                 {"fetch": partial(fetch, data_id=data_id), "cached": partial(cached, data_id=data_id)})


DATASETS.add_resolver(_resolve)
