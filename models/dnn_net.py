"""The DNN's network, as data (``NetSpec``) and as a batched module (``EnsembleNet``).

Following LUMIN v0.5.1 (``CatEmbHead``, ``FullyConnected``, ``MultiBlock``, ``ClassRegMulti``):

* Head: continuous features standardised (mean/std fitted on the training rows), each
  categorical feature mapped to an index by its value (0 is reserved for a value never seen
  in training) and embedded; output = continuous columns, then the embeddings.
* Body: blocks of fully connected layers, each layer linear -> activation -> batch norm ->
  dropout (LUMIN's order). Layer d is ``max(1, width + int(width * d * growth))`` wide.
  With ``dense`` every layer but the last sees the block's input concatenated with all
  earlier layers' outputs (DenseNet-style; LUMIN's growth rule); the block's output is the
  last layer's. A body has one block (all features) or two (high-level features in a
  shallow wide block, low-level or all features in the main block), optionally with a
  "bottleneck": each block also receives ``bottleneck`` neurons computed from the features
  it does not see.
* Tail: a linear layer to the class logits (Xavier initialisation, as LUMIN's sigmoid output).

SELU layers get LeCun-normal weights and alpha-dropout; ReLU and Swish (SiLU) get
He-normal weights (LUMIN uses the ReLU gain for Swish too).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .ensemble import MemberBatchNorm, MemberEmbedding, MemberLinear, init_members

ACTIVATIONS = ("relu", "selu", "swish")


@dataclass
class BlockSpec:
    """One block: which head-output ``columns`` it reads, its layers."""

    name: str
    columns: list[int] | None
    depth: int
    width: int
    dense: bool = False
    growth: float = 0.0
    others: list[int] = field(default_factory=list)  # head columns its bottleneck reads

    def widths(self) -> list[int]:
        return [max(1, self.width + int(self.width * d * self.growth)) for d in range(self.depth)]


@dataclass
class NetSpec:
    n_features: int
    cont: list[int]
    mean: np.ndarray
    std: np.ndarray
    cats: list[tuple[int, np.ndarray, int]]  # (column, known values as float32, embedding size)
    blocks: list[BlockSpec]
    activation: str = "relu"
    batchnorm: bool = False
    dropout: float = 0.0
    bottleneck: int = 0
    n_classes: int = 2
    missing_value: float | None = None  # entries holding it are absent: set to the mean (0 once scaled)

    @property
    def head_width(self) -> int:
        return len(self.cont) + sum(size for _, _, size in self.cats)


def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU, "selu": nn.SELU, "swish": nn.SiLU}[name]()


def _init(name: str) -> str:
    return "lecun" if name == "selu" else "kaiming"


class Head(nn.Module):
    """Raw model input ``[B, F]`` or ``[M, B, F]`` -> ``[M, B, D]``."""

    def __init__(self, spec: NetSpec, n_members: int):
        super().__init__()
        self.n_members = n_members
        # Not in the state dict (fitted once, shared by all members): weight averaging,
        # snapshots and best-epoch copies only ever handle per-member tensors.
        self.register_buffer("cont", torch.as_tensor(spec.cont, dtype=torch.long), persistent=False)
        self.register_buffer("mean", torch.as_tensor(spec.mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.as_tensor(spec.std, dtype=torch.float32), persistent=False)
        self.missing_value = spec.missing_value
        self.cat_columns = [int(c) for c, _, _ in spec.cats]
        for i, (_, values, _) in enumerate(spec.cats):
            self.register_buffer(f"values{i}", torch.as_tensor(values, dtype=torch.float32), persistent=False)
        self.embeddings = nn.ModuleList(MemberEmbedding(n_members, len(v) + 1, size) for _, v, size in spec.cats)

    def index(self, i: int, v: torch.Tensor) -> torch.Tensor:
        """Row of each value in embedding table ``i``: 1 + its rank among the training
        values, 0 for a value not seen in training."""
        values = getattr(self, f"values{i}")
        pos = torch.searchsorted(values, v.contiguous()).clamp(max=len(values) - 1)
        return torch.where(values[pos] == v, pos + 1, torch.zeros_like(pos))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cont = x[..., self.cont]
        if self.missing_value is not None:  # as LUMIN: an absent object's entries read 0 after scaling
            cont = torch.where(cont == self.missing_value, self.mean, cont)
        cont = (cont - self.mean) / self.std
        if x.dim() == 2:
            cont = cont.expand(self.n_members, -1, -1)
        parts = [cont] + [emb(self.index(i, x[..., col]))
                          for i, (col, emb) in enumerate(zip(self.cat_columns, self.embeddings))]
        return torch.cat(parts, -1) if len(parts) > 1 else cont.contiguous()


class Block(nn.Module):
    def __init__(self, spec: BlockSpec, fan_in: int, net: NetSpec, n_members: int):
        super().__init__()
        self.dense = spec.dense
        layers, seen, prev = [], fan_in, fan_in
        for width in spec.widths():
            mods = [MemberLinear(n_members, seen if spec.dense else prev, width, _init(net.activation)),
                    _activation(net.activation)]
            if net.batchnorm:
                mods.append(MemberBatchNorm(n_members, width))
            if net.dropout:
                mods.append(nn.AlphaDropout(net.dropout) if net.activation == "selu" else nn.Dropout(net.dropout))
            layers.append(nn.Sequential(*mods))
            seen, prev = seen + width, width
        self.layers = nn.ModuleList(layers)
        self.out_size = prev

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = torch.cat((layer(x), x), -1) if self.dense else layer(x)
        return self.layers[-1](x)


class Body(nn.Module):
    def __init__(self, spec: NetSpec, n_members: int):
        super().__init__()
        self.selects = [b.columns is not None for b in spec.blocks]
        blocks, necks = [], []
        for i, b in enumerate(spec.blocks):
            n_in = spec.head_width if b.columns is None else len(b.columns)
            # Buffers, so they follow the module to its device (no host copy per batch).
            self.register_buffer(f"cols{i}", torch.as_tensor(b.columns or [], dtype=torch.long), persistent=False)
            self.register_buffer(f"others{i}", torch.as_tensor(b.others, dtype=torch.long), persistent=False)
            if spec.bottleneck:
                necks.append(nn.Sequential(MemberLinear(n_members, len(b.others), spec.bottleneck,
                                                        _init(spec.activation)), _activation(spec.activation)))
            blocks.append(Block(b, n_in + spec.bottleneck, spec, n_members))
        self.blocks = nn.ModuleList(blocks)
        self.necks = nn.ModuleList(necks)
        self.out_size = sum(b.out_size for b in blocks)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        outs = []
        for i, block in enumerate(self.blocks):
            x = h[..., getattr(self, f"cols{i}")] if self.selects[i] else h
            if self.necks:
                x = torch.cat((x, self.necks[i](h[..., getattr(self, f"others{i}")])), -1)
            outs.append(block(x))
        return torch.cat(outs, -1) if len(outs) > 1 else outs[0]


class EnsembleNet(nn.Module):
    """M members in one module. Input ``[B, F]`` (the same rows for every member) ->
    logits ``[B, M, C]``; input ``[M, B, F]`` (each member its rows) -> ``[M, B, C]``.
    ``member_weights`` (sum 1) weight the members' probabilities at prediction."""

    def __init__(self, spec: NetSpec, n_members: int):
        super().__init__()
        self.n_members = int(n_members)
        self.head = Head(spec, n_members)
        self.body = Body(spec, n_members)
        self.tail = MemberLinear(n_members, self.body.out_size, spec.n_classes, "xavier")
        self.register_buffer("member_weights", torch.full((n_members,), 1.0 / n_members), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.tail(self.body(self.head(x)))
        return out.transpose(0, 1) if x.dim() == 2 else out


def build_net(spec: NetSpec, seeds) -> EnsembleNet:
    """A network of ``len(seeds)`` members, member m initialised from ``seeds[m]``."""
    net = EnsembleNet(spec, len(seeds))
    init_members(net, seeds)
    return net


def count_parameters(net: nn.Module) -> int:
    return int(sum(p.numel() for p in net.parameters()))
