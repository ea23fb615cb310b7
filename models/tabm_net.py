"""The TabM network on the training engine: the ``tabm`` package's model behind one input
table, and the pieces of its training that the engine does not have by itself.

The engine hands a network one tensor per batch; ``TabMNet`` takes the model's table
(quantile-transformed numeric columns first, then categorical codes) and gives the ``tabm``
package's model its two inputs, numeric floats and categorical integers (which it one-hot
encodes). Its output is ``[B, k, classes]``: one prediction per ensemble member, every
member on the same rows (the package's shared training batches), which is the layout the
engine's batched-ensemble trainer evaluates (``models.ensemble.EnsembleTrainer``, uniform
member weights: TabM's prediction is the mean of its members' probabilities).

Imported lazily (inside ``fit``), so ``import models`` works without torch installed.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .ensemble import member_loss


class TabMNet(nn.Module):
    """``tabm.TabM`` over ``n_num`` numeric columns (``bins``: their piecewise-linear
    embedding's bin edges, None for no embedding) and categorical columns of
    ``cardinalities``."""

    def __init__(self, n_num: int, cardinalities: list[int], n_classes: int, *, k: int, n_blocks: int,
                 d_block: int, dropout: float, arch_type: str, bins: list[torch.Tensor] | None, d_embedding: int):
        import tabm
        import rtdl_num_embeddings

        super().__init__()
        embeddings = None
        if bins is not None and n_num:
            # version "B" and no activation: the piecewise-linear embeddings TabM's paper pairs it with
            with one_bin_is_fine():
                embeddings = rtdl_num_embeddings.PiecewiseLinearEmbeddings(bins, d_embedding, activation=False,
                                                                           version="B")
        self.n_num = int(n_num)
        self.model = tabm.TabM.make(n_num_features=self.n_num, cat_cardinalities=list(cardinalities) or None,
                                    d_out=n_classes, num_embeddings=embeddings, k=k, n_blocks=n_blocks,
                                    d_block=d_block, dropout=dropout, arch_type=arch_type)
        self.k = int(k)
        self.register_buffer("member_weights", torch.full((self.k,), 1.0 / self.k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_num = x[:, :self.n_num] if self.n_num else None
        x_cat = x[:, self.n_num:].long() if x.shape[1] > self.n_num else None
        return self.model(x_num, x_cat)


def mean_member_loss(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """TabM's training loss: the mean over the k members of each one's weighted mean
    cross-entropy (logits ``[B, k, C]``, the same rows for every member)."""
    return member_loss(logits, y, w) / logits.shape[1]


@dataclass
class ConstantAdamW:
    """AdamW at one learning rate for the whole fit (TabM's optimiser: no schedule)."""

    weight_decay: float

    def __call__(self, param_groups: list[dict], steps_per_epoch: int, epochs: int):
        opt = torch.optim.AdamW(param_groups, lr=param_groups[0]["lr"], weight_decay=self.weight_decay)
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 1.0)


def quantile_bins(X: np.ndarray, n_bins: int) -> list[torch.Tensor]:
    """The piecewise-linear embedding's bin edges per column: ``n_bins`` quantiles of the
    training values (fewer where a column has fewer distinct values)."""
    import rtdl_num_embeddings

    with one_bin_is_fine():
        return rtdl_num_embeddings.compute_bins(torch.as_tensor(X, dtype=torch.float32),
                                                n_bins=max(2, min(int(n_bins), len(X) - 1)))


@contextmanager
def one_bin_is_fine():
    """Quiet rtdl_num_embeddings' warning that a column has one bin: a two-valued column (a flag,
    a KEEL table's binary attribute) has exactly that, and its embedding is then a min-max scaling."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*has just two bin edges.*")
        yield
