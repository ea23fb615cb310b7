"""Learning-rate (and Adam beta1) schedules of Strong (2020) for the training engine.

A ``Curve`` gives the learning rate (and optionally Adam's beta1, the "momentum") of every
optimiser step of a stage as a pure function of the step index, and how many cycles are
complete after a number of steps; ``CurveScheduler`` applies a curve to an optimiser (the
engine calls its ``step()`` after every optimiser step); ``LRSchedule`` is an engine
``Schedule`` (Adam, then a curve sized by the stage's steps per epoch).

The curves follow LUMIN v0.5.1 (``lumin.nn.callbacks.cyclic_callbacks``), which the
paper's notebooks (GilesStrong/HiggsML_Lumin) use:

* ``constant``: one learning rate (notebooks 0-4: 2e-3).
* ``cosine``: cosine annealing with warm restarts from ``lr`` down to ``lr_min`` (SGDR);
  the first cycle lasts ``cycle_length`` epochs, each later one ``cycle_mult`` times the
  one before (notebook 5: ``CycleLR(lr_range=(0, 2e-3), cycle_mult=2)``, one sub-epoch first).
* ``linear``: Smith's triangular cycles, ``lr_min`` up to ``lr`` and back down within each
  cycle (notebook 8, FGE: ``CycleLR((2e-4, 2e-3), scale=5, interp='linear')``).
* ``onecycle``: ``lengths[0]`` epochs of cosine rise from ``lr_min`` to ``lr`` while beta1
  falls from ``momentum[1]`` to ``momentum[0]``, then ``lengths[1]`` epochs of cosine decay
  from ``lr`` to 0 while beta1 climbs back (notebook 12: ``OneCycle(lengths=(45, 90),
  lr_range=[1e-4, 1e-2], mom_range=(0.85, 0.95))``). The cycle ends the training.

Epochs here are the engine's epochs, which the DNN makes sub-epochs (a fraction of the
training data, LUMIN's folds) when asked to; a cycle therefore ends exactly at the end of
an engine epoch, where validation runs, as in LUMIN.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import torch

KINDS = ("constant", "cosine", "linear", "onecycle")
CYCLIC = ("cosine", "linear", "onecycle")


class Curve(Protocol):
    def lr(self, t: int) -> float: ...

    def momentum(self, t: int) -> float | None: ...

    def cycles_done(self, t: int) -> int: ...


@dataclass(frozen=True)
class Constant:
    value: float

    def lr(self, t: int) -> float:
        return self.value

    def momentum(self, t: int) -> float | None:
        return None

    def cycles_done(self, t: int) -> int:
        return 0


def _cos_up(p: float) -> float:
    """0 -> 1 along half a cosine as p goes 0 -> 1."""
    return (1.0 - math.cos(math.pi * p)) / 2.0


@dataclass(frozen=True)
class Cycles:
    """Restarting cycles of ``first`` steps, each later cycle ``mult`` times longer.

    ``interp="cosine"`` anneals from ``high`` to ``low`` within a cycle; ``"linear"`` goes
    ``low`` -> ``high`` -> ``low`` (a triangle peaking mid-cycle).
    """

    high: float
    low: float
    first: int
    mult: int = 1
    interp: str = "cosine"

    def locate(self, t: int) -> tuple[int, int, int]:
        """(cycle index, position in the cycle, cycle length) of step ``t``."""
        if self.mult == 1:
            return t // self.first, t % self.first, self.first
        cycle, start, length = 0, 0, self.first
        while t >= start + length:
            start, length, cycle = start + length, length * self.mult, cycle + 1
        return cycle, t - start, length

    def lr(self, t: int) -> float:
        _, i, n = self.locate(t)
        if self.interp == "cosine":
            return self.low + (self.high - self.low) * (1.0 - _cos_up(i / n))
        return self.low + (self.high - self.low) * max(0.0, 1.0 - abs(2.0 * i / n - 1.0))

    def momentum(self, t: int) -> float | None:
        return None

    def cycles_done(self, t: int) -> int:
        return self.locate(t)[0]


@dataclass(frozen=True)
class OneCycle:
    """Smith's one cycle: ``rise`` steps up from ``start`` to ``peak`` with beta1 going down
    from ``momentum[1]`` to ``momentum[0]``, ``fall`` steps down to 0 with beta1 going back up."""

    peak: float
    start: float
    rise: int
    fall: int
    momentum_range: tuple[float, float] = (0.85, 0.95)

    def _phase(self, t: int) -> tuple[int, float]:
        if t < self.rise:
            return 0, t / self.rise
        return (1, (t - self.rise) / self.fall) if t < self.rise + self.fall else (2, 1.0)

    def lr(self, t: int) -> float:
        phase, p = self._phase(t)
        if phase == 0:
            return self.start + (self.peak - self.start) * _cos_up(p)
        return self.peak * (1.0 - _cos_up(p))

    def momentum(self, t: int) -> float | None:
        low, high = self.momentum_range
        phase, p = self._phase(t)
        return high - (high - low) * _cos_up(p) if phase == 0 else low + (high - low) * _cos_up(p)

    def cycles_done(self, t: int) -> int:
        return int(t >= self.rise + self.fall)


@dataclass(frozen=True)
class Exponential:
    """The learning-rate range test: ``start`` * (``end`` / ``start``) ** (t / ``steps``)."""

    start: float
    end: float
    steps: int

    def lr(self, t: int) -> float:
        return self.start * (self.end / self.start) ** (t / max(self.steps - 1, 1))

    def momentum(self, t: int) -> float | None:
        return None

    def cycles_done(self, t: int) -> int:
        return 0


def adam(param_groups: list[dict], **kw) -> torch.optim.Adam:
    """Adam, fused into one kernel per step where torch supports it for these parameters
    (CUDA; the CPU from torch 2.4 on), else the plain implementation (the same algorithm)."""
    try:
        return torch.optim.Adam(param_groups, fused=True, **kw)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(param_groups, **kw)


class CurveScheduler:
    """Sets every parameter group's learning rate (and Adam beta1 when the curve has one)
    for the coming step; ``step()`` follows each optimiser step."""

    def __init__(self, optimizer: torch.optim.Optimizer, curve: Curve):
        self.optimizer, self.curve, self.t = optimizer, curve, 0
        self._apply()

    def _apply(self) -> None:
        lr, mom = self.curve.lr(self.t), self.curve.momentum(self.t)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
            if mom is not None:
                group["betas"] = (mom, group["betas"][1])

    def step(self) -> None:
        self.t += 1
        self._apply()

    @property
    def cycles_done(self) -> int:
        return self.curve.cycles_done(self.t)

    def get_last_lr(self) -> list[float]:
        return [g["lr"] for g in self.optimizer.param_groups]


@dataclass
class LRSchedule:
    """Adam (LUMIN's optimiser: coupled L2 ``weight_decay``, ``eps``) with one of the curves
    above; lengths are in engine epochs (see the module docstring)."""

    kind: str = "constant"
    lr: float = 2e-3
    lr_min: float = 0.0
    cycle_length: int = 1
    cycle_mult: int = 1
    lengths: tuple[int, int] = (45, 90)
    momentum_range: tuple[float, float] = (0.85, 0.95)
    weight_decay: float = 0.0
    eps: float = 1e-8

    @property
    def cyclic(self) -> bool:
        return self.kind in CYCLIC

    def curve(self, steps_per_epoch: int) -> Curve:
        spe = max(1, int(steps_per_epoch))
        if self.kind == "constant":
            return Constant(self.lr)
        if self.kind == "onecycle":
            return OneCycle(self.lr, self.lr_min, self.lengths[0] * spe, self.lengths[1] * spe,
                            tuple(self.momentum_range))
        return Cycles(self.lr, self.lr_min, int(self.cycle_length) * spe, int(self.cycle_mult), self.kind)

    def __call__(self, param_groups: list[dict], steps_per_epoch: int, epochs: int):
        opt = adam(param_groups, lr=self.lr, eps=self.eps, weight_decay=self.weight_decay)
        return opt, CurveScheduler(opt, self.curve(steps_per_epoch))


@dataclass
class RangeTest:
    """The range test's schedule: Adam with an exponentially growing rate over ``steps``."""

    start: float
    end: float
    steps: int
    weight_decay: float = 0.0

    def __call__(self, param_groups: list[dict], steps_per_epoch: int, epochs: int):
        opt = adam(param_groups, lr=self.start, weight_decay=self.weight_decay)
        return opt, CurveScheduler(opt, Exponential(self.start, self.end, self.steps))
