"""Dataset registry: ``register_dataset``, ``load_dataset(name, **kw)``, ``list_datasets``, ``fetch_dataset``.

Tags on a registration: ``data_file=True`` for loaders of a real file that take its path
as ``data=`` (the CLI's ``--data`` reaches only those); ``fetch=callable`` for datasets the
CLI can download (``python -m benchmarks fetch NAME``), with ``cached=callable`` (same
``dest`` and id) saying whether the download already lies in the cache; ``fetch_id`` the
keyword under which they take a suite entry's id (default ``data_id``), ``fetch_as`` how
``fetch`` names them in messages (``openml:ID``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.core.errors import ConfigError
from benchmarks.core.registry import Registry

from .base import Dataset

DATASETS = Registry("dataset")
register_dataset = DATASETS.register


def load_dataset(name: str, /, **kwargs) -> Dataset:
    """Load a dataset by name. ``csv:PATH`` loads a user table (needs ``target=``)."""
    if name.startswith("csv:"):
        kwargs = {"path": name[4:], **kwargs}
        name = "csv"
    return DATASETS.create(name, **kwargs)


def list_datasets() -> list[str]:
    return DATASETS.names()


def _fetcher(name: str, tag: str):
    """The ``fetch`` (or ``cached``) callable of dataset `name`; a dataset that is bundled or a
    local file is a one-line ConfigError (an unknown name the registry's, with suggestions)."""
    fn = DATASETS.get(name).tags.get(tag)
    if fn is None:
        known = ", ".join(e.tags.get("fetch_as", e.name) for e in DATASETS if e.tags.get("fetch"))
        raise ConfigError(f"dataset {name!r} has nothing to download (bundled or a local file); fetch knows {known}")
    return fn


def _id(name: str, id: Any) -> dict:  # noqa: A002
    """The id of a suite entry (``name = "openml"``, ``options = { id = ... }``) as the
    keyword its fetcher takes (tag ``fetch_id``: ``data_id`` unless the loader says otherwise)."""
    return {} if id is None else {DATASETS.get(name).tags.get("fetch_id", "data_id"): id}


def fetch_dataset(name: str, dest: str | Path | None = None, force: bool = False, id: Any = None) -> Path:  # noqa: A002
    """Download a dataset into its cache: ``higgsml``, ``openml:ID``, ``keel:NAME``, or a suite
    entry ``name = "openml"`` (``"keel"``) with its ``id`` (table name). What ``python -m
    benchmarks fetch`` calls; a dataset that is bundled or a local file is a one-line ConfigError."""
    fetcher = _fetcher(name, "fetch")
    return fetcher(dest, force=force, **_id(name, id))


def dataset_cached(name: str, dest: str | Path | None = None, id: Any = None) -> bool:  # noqa: A002
    """Whether ``fetch_dataset`` would find everything already in the cache (and download nothing)."""
    _fetcher(name, "fetch")
    cached = DATASETS.get(name).tags.get("cached")
    return bool(cached is not None and cached(dest, **_id(name, id)))
