"""Dataset registry: ``register_dataset``, ``load_dataset(name, **kw)``, ``list_datasets``.

Tags on a registration: ``data_file=True`` for loaders of a real file that take its path
as ``data=`` (the CLI's ``--data`` reaches only those); ``fetch=callable`` for datasets the
CLI can download (``python -m benchmarks fetch NAME``).
"""
from __future__ import annotations

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
