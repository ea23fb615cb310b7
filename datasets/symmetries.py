"""Symmetries of a dataset's events, as transforms a model can train and predict with.

HiggsML events look the same to the physics after a rotation about the beam axis and after
reflections in y and in z: every final-state 3-momentum turns (or flips) together, and the
derived DER_* features do not change. A dataset declares its symmetries
(``Dataset.symmetries``); the harness turns them into an ``Augmentation`` acting in the
space of the features a model actually receives (after preprocessing: standardised,
Cartesian or not), so the model can draw random transforms of training batches (train-time
augmentation) and average its predictions over a fixed set of transforms (test-time
augmentation). A dataset without symmetries has none, and both stay off by default.

Missing objects (a jet that is not there) stay missing: their entries are the data's
missing marker (or NaN) and are never transformed, which is why an augmentation needs the
marker kept (``preprocess.missing = "keep"``), not imputed away.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from benchmarks.core.errors import ConfigError

MOMENTA = ("PRI_tau", "PRI_lep", "PRI_jet_leading", "PRI_jet_subleading")
MET = "PRI_met"


@dataclass(frozen=True)
class BeamSymmetries:
    """Rotations about the beam axis and reflections in y and z of whole events.

    On (pt, eta, phi) columns: phi -> phi + angle (wrapped), y-reflection phi -> -phi,
    z-reflection eta -> -eta. On Cartesian columns: (px, py) rotated, py -> -py, pz -> -pz.
    MET has only a transverse part. Test-time views: ``rot_mult`` rotations by
    2*pi*k/rot_mult, times each reflection (LUMIN's HEPAugFoldYielder, rot_mult = 2: 8 views).
    """

    momenta: tuple[str, ...] = MOMENTA
    met: str | None = MET
    rot_mult: int = 2
    reflect_y: bool = True
    reflect_z: bool = True

    def in_feature_space(self, names: Sequence[str], means: np.ndarray | None, stds: np.ndarray | None,
                         missing_value: float | None) -> "Augmentation":
        """The augmentation acting on features `names`, standardised with `means`/`stds` (or raw)."""
        names = list(names)
        index = {n: i for i, n in enumerate(names)}
        objects = [*self.momenta, *([self.met] if self.met else [])]
        pairs = [(index[f"{o}_px"], index[f"{o}_py"]) for o in objects if f"{o}_px" in index and f"{o}_py" in index]
        phis = [index[f"{o}_phi"] for o in objects if f"{o}_phi" in index]
        etas = [index[f"{o}_eta"] for o in self.momenta if f"{o}_eta" in index]
        pzs = [index[f"{o}_pz"] for o in self.momenta if f"{o}_pz" in index]
        pys = [j for _, j in pairs]
        if not pairs and not phis:
            raise ConfigError("beam symmetries need the PRI_* momenta (phi or px/py columns) among the features")
        n = len(names)
        mean = np.zeros(n) if means is None else np.asarray(means, dtype=np.float64)
        std = np.ones(n) if stds is None else np.asarray(stds, dtype=np.float64)
        return Augmentation(pairs=tuple(pairs), phis=tuple(sorted(set(phis))), y_flips=tuple(pys),
                            z_flips=tuple(etas + pzs), mean=tuple(mean.tolist()), std=tuple(std.tolist()),
                            missing_value=missing_value, rot_mult=int(self.rot_mult),
                            reflect_y=self.reflect_y, reflect_z=self.reflect_z, symmetries=self)


@dataclass(frozen=True)
class Augmentation:
    """Symmetry transforms of batches of feature rows (torch tensors on any device).

    ``random(X, generator)``: each event turned by its own random angle and reflected at
    random (train time). ``views()``: the fixed transforms whose predictions a model averages
    (test time), the identity first. Plain data only, so it pickles and deep-copies.
    """

    pairs: tuple[tuple[int, int], ...]  # (px, py) columns rotated together
    phis: tuple[int, ...]  # azimuthal angles shifted by the rotation, negated by the y-reflection
    y_flips: tuple[int, ...]  # py columns negated by the y-reflection
    z_flips: tuple[int, ...]  # eta and pz columns negated by the z-reflection
    mean: tuple[float, ...]
    std: tuple[float, ...]
    missing_value: float | None
    rot_mult: int = 2
    reflect_y: bool = True
    reflect_z: bool = True
    symmetries: Any = None  # what it was made from, to remake it for other features
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def random(self, X, generator=None):
        """Every event rotated by a uniform random angle and reflected with probability 1/2 each."""
        import torch

        n = X.shape[0]
        draw = torch.rand((n, 3), generator=generator, dtype=torch.float64).to(X.device)
        angle = (2 * draw[:, 0] - 1) * math.pi
        flip_y = (draw[:, 1] < 0.5) & self.reflect_y
        flip_z = (draw[:, 2] < 0.5) & self.reflect_z
        return self.apply(X, angle, flip_y, flip_z)

    def views(self) -> list[Callable[[Any], Any]]:
        """Fixed transforms for test-time augmentation: rotations x reflections, identity first."""
        angles = [2 * math.pi * k / self.rot_mult for k in range(max(1, self.rot_mult))]
        ys = [False, True] if self.reflect_y else [False]
        zs = [False, True] if self.reflect_z else [False]
        return [_View(self, a, y, z) for y in ys for z in zs for a in angles]

    def apply(self, X, angle, flip_y, flip_z):
        """Rotate every event by its `angle`, then reflect where `flip_y` / `flip_z` (per event)."""
        import torch

        raw = X.to(torch.float64).clone()
        angle = torch.as_tensor(angle, dtype=torch.float64, device=raw.device)
        flip_y = torch.as_tensor(flip_y, dtype=torch.bool, device=raw.device)
        flip_z = torch.as_tensor(flip_z, dtype=torch.bool, device=raw.device)
        mean, std = self._stats(raw.device)
        present = ~torch.isnan(raw)
        if self.missing_value is not None:
            present &= raw != self.missing_value
        raw = torch.where(present, raw * std + mean, raw)
        cos, sin = torch.cos(angle), torch.sin(angle)
        for i, j in self.pairs:
            x, y = raw[:, i].clone(), raw[:, j].clone()
            raw[:, i] = torch.where(present[:, i], x * cos - y * sin, x)
            raw[:, j] = torch.where(present[:, j], x * sin + y * cos, y)
        for k in self.phis:
            raw[:, k] = torch.where(present[:, k], _wrap(raw[:, k] + angle), raw[:, k])
        for k in self.phis:  # wrapped again: -(-pi) must read -pi
            raw[:, k] = torch.where(present[:, k] & flip_y, _wrap(-raw[:, k]), raw[:, k])

        for cols, flip in ((self.y_flips, flip_y), (self.z_flips, flip_z)):
            for k in cols:
                raw[:, k] = torch.where(present[:, k] & flip, -raw[:, k], raw[:, k])
        out = torch.where(present, (raw - mean) / std, raw)
        return out.to(X.dtype)

    def restrict(self, keep: Sequence[int]) -> "Augmentation | None":
        """The same transforms on the features ``keep`` (a selection of columns), or None when
        the selection drops part of a vector it turns (a lone px cannot be rotated)."""
        where = {old: new for new, old in enumerate(keep)}
        touched = {c for pair in self.pairs for c in pair} | set(self.phis) | set(self.y_flips) | set(self.z_flips)
        if not touched <= set(where):
            return None
        remap = lambda cols: tuple(where[c] for c in cols)  # noqa: E731
        return Augmentation(pairs=tuple(remap(p) for p in self.pairs), phis=remap(self.phis),
                            y_flips=remap(self.y_flips), z_flips=remap(self.z_flips),
                            mean=tuple(self.mean[c] for c in keep), std=tuple(self.std[c] for c in keep),
                            missing_value=self.missing_value, rot_mult=self.rot_mult, reflect_y=self.reflect_y,
                            reflect_z=self.reflect_z, symmetries=self.symmetries)

    def _stats(self, device):
        import torch

        key = str(device)
        if key not in self._cache:
            self._cache[key] = (torch.tensor(self.mean, dtype=torch.float64, device=device),
                                torch.tensor(self.std, dtype=torch.float64, device=device))
        return self._cache[key]

    def __getstate__(self) -> dict:  # device tensors are a cache, never pickled
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state


@dataclass(frozen=True)
class _View:
    """One fixed transform of test-time augmentation (picklable, unlike a closure)."""

    augmentation: Augmentation
    angle: float
    flip_y: bool
    flip_z: bool

    def __call__(self, X):
        import torch

        if self.angle == 0 and not self.flip_y and not self.flip_z:
            return X  # the identity view, exactly
        n = X.shape[0]
        angle = torch.full((n,), self.angle, dtype=torch.float64, device=X.device)
        flip_y = torch.full((n,), self.flip_y, dtype=torch.bool, device=X.device)
        flip_z = torch.full((n,), self.flip_z, dtype=torch.bool, device=X.device)
        return self.augmentation.apply(X, angle, flip_y, flip_z)


def _wrap(phi):
    """Angles of (-3 pi, 3 pi) into [-pi, pi), as the data stores them; angles already
    inside are left exactly as they are (a modulo would move them by an ulp)."""
    import torch

    return torch.where(phi >= math.pi, phi - 2 * math.pi, torch.where(phi < -math.pi, phi + 2 * math.pi, phi))
