"""The typed records of a run: one :class:`Record` per finished fit, one :class:`Failure` per
fit that failed by itself.

They are what results.json holds, field for field (``to_json``/``from_json`` convert, and
``from_json`` checks every field a reader uses, so a hand-edited file gives one line naming
the bad field). Both are frozen and their tables read-only: the runner builds a record once,
the store keeps it, and nothing afterwards changes what was stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Mapping

from .core.errors import BenchmarkError
from .run_schema import FAILURE, PREDICTIONS, RECORD, check  # noqa: F401 - PREDICTIONS: named from here too

NO_CONTROL = "none"  # the control of a real (uncontrolled) fit
FAILED = "failed"

FitKey = tuple[str, str, int, str]  # (dataset, model label, seed, control)


def freeze(value: Any) -> Any:
    """Tables (dicts) made read-only, all the way down; other values as they are."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return [freeze(v) for v in value]
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again (for JSON and for callers that build on a copy)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


class _Frozen:
    """Shared by Record and Failure: read-only tables, pickled as their JSON (Ray ships them)."""

    _TABLES: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in self._TABLES:
            object.__setattr__(self, name, freeze(getattr(self, name)))

    def __reduce__(self):
        return (type(self).from_json, (self.to_json(), "a pickled record"))

    def with_(self, **changes: Any):
        """A copy with ``changes`` (tables replaced whole): records are built, never edited."""
        return replace(self, **{k: thaw(v) for k, v in changes.items()})

    @property
    def key(self) -> FitKey:
        """Which planned fit this is."""
        return (self.dataset, self.model, self.seed, self.control)

    def to_json(self) -> dict:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and f.metadata.get("optional"):
                continue
            out[f.name] = thaw(value)
        return out


def _optional(default=None):
    return field(default=default, metadata={"optional": True})


@dataclass(frozen=True, eq=False, kw_only=True)
class Record(_Frozen):
    """One finished fit: what was fitted, its figures, where and how fast.

    ``metrics`` holds the metric object's figures (validation, each test part, the chosen
    cut, ...); ``timing`` the seconds (train, predict, the record's share of the search) and
    the split sizes; ``info`` what the model reported of its fit (epochs, threads, ...);
    ``predictions`` the file of its stored arrays, set by the store.
    """

    dataset: str
    model: str  # the suite's label
    registry_name: str = ""
    family: str = "tabular"
    seed: int
    control: str = NO_CONTROL
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any]
    timing: Mapping[str, Any]
    device: str = "cpu"
    info: Mapping[str, Any] = field(default_factory=dict)
    facts: Mapping[str, Any] | None = _optional()  # what a report needs to place the model (a ladder rung)
    importance: Mapping[str, Any] | None = _optional()  # permutation importance on validation
    tuned: bool = False
    executor: str | None = None
    node: str | None = None
    node_id: str | None = _optional()  # Ray only
    gpu_ids: list | None = _optional()  # Ray only
    predictions: str | None = _optional()

    _TABLES = ("metrics", "timing", "params", "info", "facts", "importance")

    @classmethod
    def from_json(cls, obj: Mapping, where: str = "record") -> "Record":
        check(RECORD, obj, where)
        if obj.get("status", "ok") != "ok":
            raise BenchmarkError(f"{where}: a failed fit belongs in 'failures', not 'records'")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in known})


@dataclass(frozen=True, eq=False, kw_only=True)
class Failure(_Frozen):
    """A fit that failed by itself: its one-line error and its kind (``input``: the user's to
    fix; ``memory``; ``lost``: Ray lost its worker; ``internal``: a defect of ours). Readers of
    records never see it: a report counts it as a missing fit, ``--resume`` reruns it."""

    dataset: str
    model: str
    registry_name: str = ""
    seed: int
    control: str = NO_CONTROL
    params: Mapping[str, Any] = field(default_factory=dict)
    status: str = FAILED
    error_kind: str = "internal"
    error: str
    executor: str | None = None
    node: str | None = None
    node_id: str | None = _optional()
    gpu_ids: list | None = _optional()

    _TABLES = ("params",)

    @classmethod
    def from_json(cls, obj: Mapping, where: str = "failure") -> "Failure":
        check(FAILURE, obj, where)
        if obj["status"] != FAILED or "predictions" in obj:
            raise BenchmarkError(f"{where}: status must be 'failed', with no predictions")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in known})
