"""What the harness knows about a registered model, typed: ``ModelInfo``.

``register_model(...)`` (and ``MODELS.register``/``MODELS.make_entry``) turn their keywords
into one, checked when the model is registered: an unknown family or data fact, a thread
parameter that is not a name, is a ValueError then, not a wrong run later.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

TABULAR, DNN, SUPERTML = "tabular", "dnn", "supertml"
FAMILIES = (TABULAR, DNN, SUPERTML)  # the strings runs store as a record's "family"

# The facts of the data the harness can pass a model (benchmarks.pipeline.model_kwargs).
DATA_FACTS = ("feature_names", "missing_value", "categorical_features", "augmentation")


@dataclass(frozen=True)
class ModelInfo:
    """A model's registration.

    ``backend``: the optional library it needs (``sklearn``, ``xgboost``, ``lightgbm``,
    ``torch``, or any importable module name). ``family``: one of FAMILIES. ``accepts_device``:
    whether it takes a ``device`` keyword (trains on a GPU in a CUDA run). ``threads_param``:
    the constructor parameter that sets its CPU thread count (``n_jobs``, ``num_threads``),
    None if it has none. ``data_facts``: which of DATA_FACTS the harness passes it.
    ``search_space(trial) -> dict``: its Optuna space, None if it cannot be tuned.
    ``report_facts``: what a report needs to place it (a ladder rung's experiment, say),
    copied into each record's ``facts``; read-only.
    """

    backend: str = "sklearn"
    family: str = TABULAR
    accepts_device: bool = False
    threads_param: str | None = None
    data_facts: tuple[str, ...] = ()
    search_space: Callable[[Any], dict] | None = None
    report_facts: Mapping[str, Any] | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.backend, str) or not self.backend:
            raise ValueError(f"backend must be a module name, not {self.backend!r}")
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}; known: {', '.join(FAMILIES)}")
        if not isinstance(self.accepts_device, bool):
            raise ValueError(f"accepts_device must be True or False, not {self.accepts_device!r}")
        if self.threads_param is not None and not (isinstance(self.threads_param, str)
                                                   and self.threads_param.isidentifier()):
            raise ValueError(f"threads_param must be a parameter name or None, not {self.threads_param!r}")
        if isinstance(self.data_facts, str):  # ("feature_names") without the comma
            raise ValueError(f"data_facts must be a tuple of names, not the string {self.data_facts!r}")
        facts = tuple(self.data_facts)
        unknown = [f for f in facts if f not in DATA_FACTS]
        if unknown:
            raise ValueError(f"unknown data facts {unknown}; known: {', '.join(DATA_FACTS)}")
        if len(set(facts)) != len(facts):
            raise ValueError(f"data_facts names a fact twice: {list(facts)}")
        object.__setattr__(self, "data_facts", facts)
        if self.search_space is not None and not callable(self.search_space):
            raise ValueError(f"search_space must be a function of an Optuna trial, not {self.search_space!r}")
        if self.report_facts is not None:
            if not isinstance(self.report_facts, Mapping):
                raise ValueError(f"report_facts must be a mapping, not {self.report_facts!r}")
            object.__setattr__(self, "report_facts", MappingProxyType(dict(self.report_facts)))

    @property
    def is_tabular(self) -> bool:
        """A classical tabular model (the forests and BDTs), neither a DNN nor a CNN."""
        return self.family == TABULAR
