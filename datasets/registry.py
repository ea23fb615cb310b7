"""Dataset registry: ``register_dataset``, ``load_dataset(name, **kw)``, ``list_datasets``."""
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
    entry = DATASETS.get(name)
    try:
        return entry.factory(**kwargs)
    except TypeError as exc:  # an option the loader does not take (a typo in a suite, say)
        from benchmarks.core.errors import ConfigError

        raise ConfigError(f"dataset {name!r}: {exc}") from None


def list_datasets() -> list[str]:
    return DATASETS.names()
