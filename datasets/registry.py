"""Dataset registry: ``register_dataset``, ``load_dataset(name, **kw)``, ``list_datasets``, ``fetch_dataset``.

Tags on a registration: ``data_file=True`` for loaders of a real file that take its path
as ``data=`` (the CLI's ``--data`` reaches only those); ``fetch=callable`` for datasets the
CLI can download (``python -m benchmarks fetch NAME``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.core.errors import ConfigError
from benchmarks.core.registry import Registry

from .base import Dataset

DATASETS = Registry("dataset")
register_dataset = DATASETS.register


def load_dataset(name: str, **kwargs) -> Dataset:
    """Load a dataset by name. ``csv:PATH`` loads a user table (needs ``target=``)."""
    if name.startswith("csv:"):
        kwargs = {"path": name[4:], **kwargs}
        name = "csv"
    return DATASETS.create(name, **kwargs)


def list_datasets() -> list[str]:
    return DATASETS.names()


def fetch_dataset(name: str, dest: str | Path | None = None, force: bool = False, id: Any = None) -> Path:  # noqa: A002
    """Download a dataset into its cache: ``higgsml``, ``openml:ID``, or a suite entry
    ``name = "openml"`` with its ``id``. What ``python -m benchmarks fetch`` calls; a dataset
    that is bundled or a local file is a one-line ConfigError."""
    fetcher = DATASETS.get(name).tags.get("fetch")
    if fetcher is None:
        known = ", ".join(e.name for e in DATASETS if e.tags.get("fetch"))
        raise ConfigError(f"dataset {name!r} has nothing to download (bundled or a local file); "
                          f"fetch knows {known} and openml:ID")
    return fetcher(dest, force=force, **({} if id is None else {"data_id": id}))
