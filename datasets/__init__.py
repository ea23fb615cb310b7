"""Datasets: a registry of validated loaders, seeded splits and train-fitted preprocessing."""
from .base import Dataset, Part, Splits
from .registry import DATASETS, dataset_cached, fetch_dataset, list_datasets, load_dataset, register_dataset
from .policies import SCOPES, Repeat
from .splits import make_splits

__all__ = [
    "DATASETS", "Dataset", "Part", "Splits", "dataset_cached", "fetch_dataset", "list_datasets", "load_dataset",
    "Repeat", "SCOPES", "make_splits", "register_dataset",
]

# Importing the loaders registers them.
from . import higgsml, higgsml_toy, keel, openml, table_loaders  # noqa: E402,F401
