"""What one fit needs and what it gives back, whichever executor runs it.

A run is a list of fits (dataset x model x seed x control). The runner describes each one
as a :class:`FitTask` (plain data: the model spec, parameters, seed, control, device and
the resources it may use) and ships it, with the seed's :class:`FitData` (the splits each
model of the seed sees, after its preprocessing and feature selection, and the few facts of
the dataset a fit reads, never the full table), to an executor
(``benchmarks.executors``). The fit comes back as a :class:`FitResult`: a record and its
prediction arrays, or a failure with its one-line error. Only the driver writes them.

Threads: a fit is given a fixed number of CPU threads (``FitResources.threads``), passed to
the model's own thread parameter (``n_jobs`` or ``num_threads``) and recorded; ``None``
leaves the model's default (every core of the machine), which is what a local run does
unless ``--threads`` is given.
"""
from __future__ import annotations

import functools
import os
import socket
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from datasets import Splits
from models import model_info

from .core.errors import BenchmarkError, one_line
from .run_record import Failure, Record
from .suite import ModelSpec



@dataclass(frozen=True, eq=False)
class DatasetFacts:
    """The facts of a dataset a fit reads (name, classes, metric object): the table stays with the driver."""

    name: str
    class_names: tuple[str, ...]
    scorer: Any  # the dataset's metric object, with its options

    @classmethod
    def of(cls, ds) -> "DatasetFacts":
        return cls(ds.name, tuple(ds.class_names), ds.scorer)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True, eq=False)
class FitData:
    """Everything the fits of one dataset and seed share: one copy per seed (one object in Ray's store).

    ``splits`` maps each model label to the splits it trains on; models with the same
    preprocessing and no feature selection share one object (stored once).
    """

    facts: DatasetFacts
    splits: dict[str, Splits]


@dataclass(frozen=True)
class FitResources:
    """What one fit may use: CPU threads (None: the model's default, every core) and a GPU share."""

    threads: int | None = None
    gpus: float = 0.0

    @property
    def cpus(self) -> int:
        """CPUs an executor reserves for the fit."""
        return self.threads or 1


@dataclass(frozen=True)
class FitTask:
    """One fit, as plain data an executor can ship to another process or machine."""

    dataset: str
    spec: ModelSpec
    params: dict
    seed: int
    control: str
    device: str
    resources: FitResources = FitResources()
    examples: bool = False  # draw the encoder's example sheet (SuperTML, first seed, no control)
    tuned: bool = False
    plugins: tuple[str, ...] = ()  # modules to import first: they register models outside `models`
    importance: int = 0  # repeats of the permutation importance on validation (0: none)

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (self.dataset, self.spec.label, self.seed, self.control)


@dataclass(frozen=True, eq=False)
class FitResult:
    """A fit's record and prediction arrays, or (``arrays is None``) its failure."""

    key: tuple[str, str, int, str]
    record: Record | Failure
    arrays: dict[str, np.ndarray] | None = None
    examples_png: bytes | None = None

    @property
    def failed(self) -> bool:
        return isinstance(self.record, Failure)

    def placed(self, **where: Any) -> "FitResult":
        """The result with where it ran (executor, node, ...) written into its record."""
        return replace(self, record=self.record.with_(**where))


# --------------------------------------------------------------------------- threads


@functools.lru_cache(maxsize=None)
def thread_param(name: str) -> str | None:
    """The parameter through which model ``name`` takes its CPU thread count, if any: the
    ``threads_param`` its registration declares."""
    return model_info(name).threads_param


def with_threads(name: str, params: dict, threads: int | None) -> dict:
    """``params`` with the model's thread parameter set to ``threads`` (unless a suite set it)."""
    key = thread_param(name)
    if threads is None or key is None or _positive(params.get(key)):
        return dict(params)
    return {**params, key: int(threads)}


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def fit_resources(spec: ModelSpec, device: str, threads: int | None, gpus_per_fit: float = 1.0) -> FitResources:
    """What a fit of ``spec`` reserves: a GPU share when it trains on one (a model that takes
    a device, in a CUDA run), and its CPU threads (a suite's own ``n_jobs``/``num_threads``
    wins over ``threads``)."""
    key = thread_param(spec.name)
    own = spec.params.get(key) if key else None
    threads = int(own) if _positive(own) else threads
    on_gpu = device.startswith("cuda") and model_info(spec.name).accepts_device
    return FitResources(threads=threads, gpus=float(gpus_per_fit) if on_gpu else 0.0)


def effective_threads(resources: FitResources, info: dict) -> int:
    """The thread count a fit ran with, for its record: the one it was given, else what the
    model reports, else every usable core (the libraries' default)."""
    if resources.threads:
        return int(resources.threads)
    reported = info.get("threads")
    return int(reported) if _positive(reported) else usable_cores()


# --------------------------------------------------------------------------- records


def where_it_ran() -> dict:
    """The node that ran a fit (the executor adds its own name, and on Ray the node id and GPUs)."""
    return {"node": socket.gethostname()}


_WARM: set[str] = set()  # devices this process has warmed up


def warm_up(device: str) -> None:
    """Pay CUDA's one-off costs (context, cuDNN/cuBLAS loading) once per process and device,
    before any timed fit: without this the first torch model of a run carries several seconds
    that belong to no model at all."""
    if not device.startswith("cuda") or device in _WARM:
        return
    import torch

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.LazyLinear(2)).to(device)
    x = torch.randn(4, 3, 16, 16, device=device)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        net(x).float().sum().backward()
    (torch.randn(64, 64, device=device) @ torch.randn(64, 64, device=device)).sum().item()
    torch.cuda.synchronize(device)
    _WARM.add(device)


def error_line(exc: BaseException) -> tuple[str, str]:
    """(kind, one-line message) of a fit's own failure: ``input`` for errors the user can fix,
    ``memory`` for MemoryError, ``internal`` for a defect of ours."""
    if isinstance(exc, BenchmarkError):
        return "input", str(exc) or type(exc).__name__
    text = one_line(exc)
    if isinstance(exc, MemoryError):
        return "memory", "out of memory" + (f": {text}" if text else "")
    return "internal", f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_record(task: FitTask, kind: str, error: str, where: dict | None = None) -> Failure:
    """A failed fit, as results.json keeps it (in ``failures``, never among ``records``)."""
    from .core.secrets import redact

    return Failure(dataset=task.dataset, model=task.spec.label, registry_name=task.spec.name, seed=task.seed,
                   control=task.control, params=task.params, error_kind=kind, error=redact(error),
                   **(where or {"executor": None, "node": None}))
