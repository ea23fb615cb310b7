"""Batched ensembles: N member networks trained as ONE network on the training engine.

Every parameter and buffer of a member network gets a leading member dimension (linear
weights ``[M, in, out]``, batch-norm channels ``M * C`` laid out member-major), so one
batched matmul (``torch.baddbmm``) runs all members' layers at once, on CPU and GPU alike.
Each member is initialised from its own seed (``member_seeds``), so member m of an
ensemble starts from the very weights a one-member network seeded with member m's seed
starts from.

Data, as in the paper (LUMIN's ``fold_train_ensemble`` trains each model on its own
shuffle of the data): ``MemberSampler`` draws one permutation per member from the
member's own generator, so a training batch is an index tensor ``[M, B]`` and the network
input ``[M, B, F]``. Evaluation feeds the same rows to every member (input ``[B, F]``,
output ``[B, M, C]``).

Loss: the sum over members of each member's weighted mean cross-entropy, so each member's
gradient is exactly the one it would get alone (Adam, being elementwise, then takes the
same step). Validation: each member's weighted cross-entropy; the ensemble's probabilities
are the members' softmax outputs weighted by ``ensemble_weights`` (LUMIN's ``Ensemble``:
``'reciprocal'`` = 1/loss normalised to sum 1, or ``'uniform'``).

Imported lazily (inside ``fit``), so ``import models`` works without torch installed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.core.errors import ConfigError

from .engine import Trainer
from .torch_utils import torch_threads

WEIGHTINGS = ("reciprocal", "uniform")


# ----------------------------------------------------------------------------- seeds

def member_seeds(random_state: int | None, n_members: int) -> list[tuple[int, int]]:
    """(initialisation seed, shuffling seed) per member; member m's seeds do not depend on
    how many members there are (numpy's SeedSequence children are keyed by index)."""
    root = np.random.SeedSequence(0 if random_state is None else int(random_state))
    return [tuple(int(s) for s in child.generate_state(2, dtype=np.uint32)) for child in root.spawn(n_members)]


# ----------------------------------------------------------------------------- layers

INITS = ("kaiming", "lecun", "xavier")


class MemberLinear(nn.Module):
    """M independent linear layers: ``[M, B, in] -> [M, B, out]``. ``init`` is LUMIN's
    normal initialisation for the activation that follows (kaiming for ReLU and Swish,
    LeCun for SELU, Xavier before a linear output); biases start at zero."""

    def __init__(self, n_members: int, fan_in: int, fan_out: int, init: str = "kaiming"):
        super().__init__()
        self.fan_in, self.fan_out, self.init = int(fan_in), int(fan_out), init
        self.weight = nn.Parameter(torch.empty(n_members, self.fan_in, self.fan_out))
        self.bias = nn.Parameter(torch.zeros(n_members, 1, self.fan_out))

    def std(self) -> float:
        if self.init == "kaiming":
            return math.sqrt(2.0 / self.fan_in)
        if self.init == "lecun":
            return math.sqrt(1.0 / self.fan_in)
        return math.sqrt(2.0 / (self.fan_in + self.fan_out))

    @torch.no_grad()
    def reset_member(self, m: int, generator: torch.Generator) -> None:
        w = torch.randn(self.fan_in, self.fan_out, generator=generator) * self.std()
        self.weight[m].copy_(w)
        self.bias[m].zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class MemberBatchNorm(nn.BatchNorm1d):
    """Batch norm per member: ``M * C`` channels over ``[M, B, C]`` inputs. A real
    ``BatchNorm1d``, so ``torch.optim.swa_utils.update_bn`` (``Trainer.update_batchnorm``)
    recomputes its statistics like any other."""

    def __init__(self, n_members: int, channels: int):
        super().__init__(n_members * channels)
        self.n_members, self.channels = n_members, channels

    @torch.no_grad()
    def reset_member(self, m: int, generator: torch.Generator) -> None:
        sl = slice(m * self.channels, (m + 1) * self.channels)
        self.weight[sl] = 1.0
        self.bias[sl] = 0.0
        self.running_mean[sl] = 0.0
        self.running_var[sl] = 1.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m, b, c = x.shape
        y = super().forward(x.transpose(0, 1).reshape(b, m * c))
        return y.reshape(b, m, c).transpose(0, 1)


class MemberEmbedding(nn.Module):
    """M embedding tables ``[M, rows, size]`` (N(0, 1) start, as ``nn.Embedding``); index
    ``[B]`` (the same rows for every member) or ``[M, B]`` -> ``[M, B, size]``."""

    def __init__(self, n_members: int, rows: int, size: int):
        super().__init__()
        self.rows, self.size = int(rows), int(size)
        self.weight = nn.Parameter(torch.empty(n_members, self.rows, self.size))

    @torch.no_grad()
    def reset_member(self, m: int, generator: torch.Generator) -> None:
        self.weight[m].copy_(torch.randn(self.rows, self.size, generator=generator))

    def forward(self, index: torch.Tensor) -> torch.Tensor:
        if index.dim() == 1:
            return self.weight[:, index]
        members = torch.arange(self.weight.shape[0], device=index.device)[:, None]
        return self.weight[members, index]


def init_members(net: nn.Module, seeds: Sequence[int]) -> None:
    """Member m's parameters from its own generator, layer by layer in module order: the
    same draws as a one-member network built with that seed."""
    for m, seed in enumerate(seeds):
        gen = torch.Generator().manual_seed(int(seed))
        for module in net.modules():
            if hasattr(module, "reset_member"):
                module.reset_member(m, gen)


# ----------------------------------------------------------------------------- member states

def per_member(t: torch.Tensor, n_members: int) -> torch.Tensor | None:
    """A member-major tensor as ``[M, -1]`` (a view of a contiguous tensor, so writes land);
    None for shared scalars (``num_batches_tracked``)."""
    return t.view(n_members, -1) if t.dim() > 0 else None


def _shape(t: torch.Tensor, n_from: int, n_to: int) -> tuple[int, ...]:
    """The shape of ``t`` (a member-major tensor of ``n_from`` members) with ``n_to`` members:
    the leading dimension is M (``[M, ...]``) or M x channels (batch norm's ``[M * C]``)."""
    if t.shape[0] == n_from:
        return (n_to, *t.shape[1:])
    return (t.shape[0] // n_from * n_to, *t.shape[1:])


def clone_state(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


@torch.no_grad()
def blend(dst: dict, src: dict, mask: np.ndarray | torch.Tensor, n_members: int) -> None:
    """Copy the members where ``mask`` is true from state ``src`` into state ``dst`` (in place)."""
    mask = torch.as_tensor(np.asarray(mask, dtype=bool))
    if not bool(mask.any()):
        return
    for key, t in dst.items():
        view = per_member(t, n_members)
        if view is not None:
            rows = mask.to(t.device)
            view[rows] = src[key].reshape(n_members, -1)[rows].to(t.dtype)


def select_members(state: dict, members: Sequence[int], n_members: int) -> dict:
    """The state of a network holding only ``members`` (in that order) of an ``n_members`` one."""
    idx = torch.as_tensor(list(members), dtype=torch.long)
    return {k: v.clone() if v.dim() == 0 else
            v.reshape(n_members, -1)[idx.to(v.device)].reshape(_shape(v, n_members, len(idx)))
            for k, v in state.items()}


def stack_states(states: Sequence[dict], sizes: Sequence[int]) -> dict:
    """One state for a network of sum(``sizes``) members from states of ``sizes`` members
    each (members concatenated in order)."""
    total = int(sum(sizes))
    out = {}
    for key, t in states[0].items():
        if t.dim() == 0:
            out[key] = t.clone()
        else:
            rows = torch.cat([s[key].reshape(n, -1) for s, n in zip(states, sizes)])
            out[key] = rows.reshape(_shape(t, sizes[0], total))
    return out


# ----------------------------------------------------------------------------- losses and weights

def member_loss(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Training loss (the engine's ``Trainer.loss`` hook): sum over members of each member's
    mean weighted cross-entropy. ``logits [M, B, C]`` with ``y``/``w`` ``[M, B]`` (each member
    its own rows), or ``logits [B, M, C]`` with ``y``/``w`` ``[B]`` (the same rows for all)."""
    if y.dim() == 1:
        logits = logits.transpose(0, 1)
        y, w = y.expand(logits.shape[0], -1), w.expand(logits.shape[0], -1)
    m, b, c = logits.shape
    ce = F.cross_entropy(logits.float().reshape(m * b, c), y.reshape(-1), reduction="none").reshape(m, b)
    return (ce * w).mean(1).sum()


def ensemble_weights(losses: np.ndarray | Sequence[float], weighting: str = "reciprocal") -> np.ndarray:
    """LUMIN's member weights: ``'reciprocal'`` 1/loss normalised to sum 1 (a member whose
    loss is not finite gets 0; all not finite: equal weights), ``'uniform'`` 1/M."""
    losses = np.asarray(losses, dtype=np.float64)
    if weighting not in WEIGHTINGS:
        raise ConfigError(f"ensemble weighting must be one of {', '.join(WEIGHTINGS)}, got {weighting!r}")
    ok = np.isfinite(losses) & (losses > 0)
    if weighting == "uniform" or not ok.any():
        return np.full(len(losses), 1.0 / len(losses))
    inv = np.where(ok, 1.0 / np.where(ok, losses, 1.0), 0.0)
    return inv / inv.sum()


# ----------------------------------------------------------------------------- data

class MemberSampler:
    """Each member's own shuffle (``Sampler`` for the engine): a pass over the training rows
    is one permutation per member, from the member's generator, cut into ``subepochs``
    equal engine epochs (LUMIN's sub-epochs: its training folds, one validation each).
    Batches are ``[M, B]`` index tensors; a 1-row tail batch is dropped (batch norm).
    Rows past ``n // subepochs * subepochs`` wait for a later pass (they differ each pass).
    The engine's generator is not used: member m shuffles alike whatever M is."""

    def __init__(self, seeds: Sequence[int], subepochs: int = 1):
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.subepochs = int(subepochs)
        self._perms: torch.Tensor | None = None
        self._next = 0

    def _size(self, n: int) -> int:
        return max(n // self.subepochs, 1)

    def n_batches(self, n: int, batch_size: int) -> int:
        size = self._size(n)
        count = -(-size // batch_size)
        return count - 1 if count > 1 and size % batch_size == 1 else count

    def __call__(self, n: int, batch_size: int, generator: torch.Generator | None = None) -> list[torch.Tensor]:
        if self._perms is None or self._next >= self.subepochs or self._perms.shape[1] != n:
            self._perms = torch.stack([torch.randperm(n, generator=g) for g in self.generators])
            self._next = 0
        size = self._size(n)
        part = self._perms[:, self._next * size:(self._next + 1) * size]
        self._next += 1
        batches = list(part.split(batch_size, dim=1))
        if len(batches) > 1 and batches[-1].shape[1] < 2:
            batches = batches[:-1]
        return batches


class MemberRows:
    """The model's input table on the device. ``batch(idx)``: ``idx [B]`` -> ``[B, F]``,
    ``idx [M, B]`` -> ``[M, B, F]``. ``augment=True`` applies the augmentation's random
    transform (``augmentation.random(rows [n, F], generator)``, generator on the table's
    device) to every row; a callable ``augment`` is one fixed view (test-time augmentation)."""

    def __init__(self, X: torch.Tensor, augmentation: Any = None, generator: torch.Generator | None = None):
        self.X, self.augmentation, self.generator = X, augmentation, generator

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def batch(self, idx: torch.Tensor, augment: Any = False) -> torch.Tensor:
        x = self.X[idx.to(self.X.device, non_blocking=True)]
        if augment is True:
            return self._apply(lambda rows: self.augmentation.random(rows, self.generator), x)
        if callable(augment):
            return self._apply(augment, x)
        return x

    @staticmethod
    def _apply(fn, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        out = fn(flat)
        if not isinstance(out, torch.Tensor) or out.shape != flat.shape:
            raise ConfigError(f"dnn: an augmentation must return a tensor of shape {tuple(flat.shape)}")
        return out.reshape(x.shape)


# ----------------------------------------------------------------------------- trainer

@dataclass
class EnsembleTrainer(Trainer):
    """The engine's ``Trainer`` for batched ensembles: validation gives each member's loss
    (kept in ``member_val_losses`` for the callbacks) and the ensemble's weighted
    probabilities; prediction weights members by ``net.member_weights`` and reduces batch by
    batch, so a test set's ``[N, M, C]`` member outputs are never held at once (the
    validation split's are: the members' weights need every member's loss first)."""

    weighting: str = "reciprocal"
    member_val_losses: np.ndarray | None = None

    def evaluate_members(self, net: nn.Module, split) -> tuple[np.ndarray, torch.Tensor]:
        """Each member's weighted mean cross-entropy on ``split`` and the members'
        log-probabilities ``[N, M, C]`` (the network's members, not a reduced ensemble)."""
        def nll(idx, logits):
            logp = torch.log_softmax(logits, -1)
            y = split.y[idx.to(split.y.device)]
            return logp, -logp.gather(-1, y[:, None, None].expand(-1, logp.shape[1], 1)).squeeze(-1)

        parts = self.eval_batches(net, split.rows, False, nll)
        member_nll = torch.cat([n for _, n in parts])
        w = split.weight
        losses = ((member_nll * w[:, None]).sum(0) / w.sum()).double().cpu().numpy()
        return losses, torch.cat([p for p, _ in parts])

    def evaluate(self, net: nn.Module, split) -> tuple[float, np.ndarray]:
        """The ensemble's weighted cross-entropy and probabilities, members weighted by this
        epoch's validation losses; the members' losses go to ``member_val_losses``."""
        losses, logp = self.evaluate_members(net, split)
        self.member_val_losses = losses
        weights = torch.as_tensor(ensemble_weights(losses, self.weighting), dtype=logp.dtype, device=logp.device)
        proba = (logp.exp() * weights[None, :, None]).sum(1)
        w = split.weight
        p_true = proba.gather(1, split.y[:, None]).squeeze(1).clamp_min(1e-30)
        loss = float(-(p_true.log() * w).sum() / w.sum())
        return loss, proba.double().cpu().numpy()

    def predict_proba(self, net: nn.Module, rows, views: Sequence[Any] = (False,)) -> np.ndarray:
        """The weighted members' softmax probabilities, averaged over ``views``."""
        with torch_threads(self.threads):
            weights = net.member_weights.to(self.device)
            total = None
            for view in views:
                proba = torch.cat(self.eval_batches(
                    net, rows, view, lambda idx, lg: (torch.softmax(lg, -1) * weights[None, :, None]).sum(1)))
                total = proba if total is None else total + proba
            return (total / len(views)).double().cpu().numpy()
