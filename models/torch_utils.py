"""Shared torch training machinery for the FCNN and SuperTML models.

Imported lazily (inside ``fit``), so ``import models`` works without torch installed.

Loss weighting: HiggsML signal weights are ~1000x smaller than background weights, so a
network trained on raw event weights learns to call every event background. By default
(``class_balance=True``) event weights are rescaled so every class carries the same total
weight while the shape of the weights within a class (the physics) is kept; the rescaled
weights have mean 1, so a batch's mean weighted loss is an unbiased estimate of the
whole split's weighted loss. Without event weights every event counts 1 (no balancing),
as in the tabular baselines.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.core.errors import ConfigError
from benchmarks.core.weights import balance_classes

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ----------------------------------------------------------------------------- device, seeds, threads

def is_cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def seed_everything(seed: int | None) -> torch.Generator:
    """Seed torch (CPU and CUDA) and numpy; returns a CPU generator for batch shuffling."""
    seed = 0 if seed is None else int(seed)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads slow down torch's GEMMs)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        phys = core = ""
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    phys = val.strip()
                elif key == "core id":
                    core = val.strip()
                    cores.add((phys, core))
    except OSError:
        pass
    n = len(cores) if cores else usable
    return max(1, min(n, usable))


def choose_threads(num_threads: int | None) -> int:
    """min(physical cores, requested); ``None`` or <= 0 means all physical cores."""
    cores = physical_cores()
    if num_threads is None or num_threads <= 0:
        return cores
    return max(1, min(cores, int(num_threads)))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Set torch's intra-op threads for a block and put the old value back after it."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(old)


# ----------------------------------------------------------------------------- precision, transfers

def autocast(device: str, enabled: bool = True):
    """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); plain fp32 on CPU, where
    bf16 is only faster on CPUs with AMX and would make CPU and GPU runs differ more."""
    if enabled and is_cuda(device):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def precision_name(device: str, enabled: bool = True) -> str:
    return "bf16-autocast" if enabled and is_cuda(device) else "fp32"


def to_device(a: np.ndarray | torch.Tensor, device: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """numpy/tensor -> device tensor; on CUDA through pinned memory with a non-blocking copy."""
    t = torch.as_tensor(a) if not isinstance(a, torch.Tensor) else a
    if dtype is not None:
        t = t.to(dtype)
    if is_cuda(device):
        if t.device.type == "cpu":
            t = t.contiguous().pin_memory()
        return t.to(device, non_blocking=True)
    return t.to(device)


def sync(device: str) -> None:
    if is_cuda(device):
        torch.cuda.synchronize(device)


class Timer:
    """Wall-clock timer that synchronises CUDA at both ends (kernels run asynchronously)."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self.seconds = 0.0

    def __enter__(self) -> "Timer":
        sync(self.device)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        sync(self.device)
        self.seconds = time.perf_counter() - self._t0


# ----------------------------------------------------------------------------- weights and loss

def loss_weights(y: np.ndarray, w: np.ndarray | None, n_classes: int, class_balance: bool = True) -> np.ndarray:
    """Per-event loss weights with mean 1 (see the module docstring).

    With ``class_balance`` every class present gets total weight n / (classes present);
    otherwise the event weights are only rescaled to mean 1. ``w=None`` gives all ones.
    """
    y = np.asarray(y)
    n = len(y)
    if w is None:
        return np.ones(n, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any():
        raise ConfigError(f"sample weights must be {n} finite non-negative numbers")
    if not class_balance:
        s = w.sum()
        return w * (n / s) if s > 0 else np.ones(n)
    return balance_classes(y, w)


def weighted_ce(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of weight * cross-entropy (weights have mean 1 over the split)."""
    ce = F.cross_entropy(logits.float(), target, reduction="none")
    return (ce * weight).mean()


# ----------------------------------------------------------------------------- optimiser, batches

def adamw_onecycle(
    param_groups: list[dict],
    *,
    weight_decay: float,
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
):
    """AdamW with a one-cycle schedule; each group's ``lr`` is its peak learning rate."""
    groups = [g for g in param_groups if any(p.requires_grad for p in g["params"])]
    opt = torch.optim.AdamW(groups, lr=groups[0]["lr"], weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=[g["lr"] for g in groups],
        total_steps=max(1, int(total_steps)),
        pct_start=pct_start,
        div_factor=div_factor,
    )
    return opt, sched


def batch_indices(n: int, batch_size: int, shuffle: bool, generator: torch.Generator | None = None,
                  drop_last: bool = False) -> list[torch.Tensor]:
    """Index tensors (CPU, int64) for one pass; a 1-event tail batch is dropped in training
    because batch norm cannot train on a single event."""
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    batches = list(order.split(batch_size))
    if len(batches) > 1 and (drop_last or (shuffle and len(batches[-1]) < 2)):
        batches = batches[:-1]
    return batches


def n_train_batches(n: int, batch_size: int) -> int:
    return len(batch_indices(n, batch_size, shuffle=True, generator=torch.Generator().manual_seed(0)))


# ----------------------------------------------------------------------------- epoch loop

@dataclass
class EarlyStopping:
    """Tracks the best validation loss; keeps a copy of the best weights to restore."""

    patience: int = 5
    min_delta: float = 0.0
    best_loss: float = float("inf")
    best_epoch: int | None = None
    bad_epochs: int = 0
    best_state: dict | None = field(default=None, repr=False)

    def update(self, epoch: int, loss: float, model: torch.nn.Module) -> bool:
        """Record one epoch; True when training should stop."""
        if loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = loss, epoch, 0
            # Clone on the model's device: cheaper than a round trip to the host each epoch.
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.bad_epochs += 1
        return self.patience is not None and self.bad_epochs >= self.patience

    def restore(self, model: torch.nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


def progress_bar(total: int, desc: str, progress: bool):
    """tqdm over epochs, shown only on a terminal and when asked for."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="epoch", leave=False,
                disable=not progress or not sys.stderr.isatty())


def run_epochs(
    model: torch.nn.Module,
    *,
    n_epochs: int,
    train_one_epoch: Callable[[], float],
    evaluate: Callable[[], tuple[float, np.ndarray]] | None,
    stopper: EarlyStopping,
    history: list[dict],
    epoch_callback: Callable[[int, np.ndarray], None] | None = None,
    progress: bool = True,
    desc: str = "train",
    extra: dict | None = None,
) -> bool:
    """Train up to ``n_epochs`` epochs with early stopping on the validation loss.

    Epochs are numbered globally through ``history`` (so a two-stage fit reports one
    sequence to Optuna). ``epoch_callback(epoch, proba_val)`` runs after each epoch and its
    exceptions (e.g. ``optuna.TrialPruned``) propagate. Without validation data nothing
    stops early and the last weights are kept. Returns True if stopped early; the caller
    restores the best weights with ``stopper.restore(model)``.
    """
    with progress_bar(n_epochs, desc, progress) as bar:
        for _ in range(n_epochs):
            epoch = len(history)
            train_loss = train_one_epoch()
            if not np.isfinite(train_loss):
                warnings.warn(f"{desc}: training loss is {train_loss} at epoch {epoch}; stopping", RuntimeWarning)
                history.append({"epoch": epoch, "train_loss": float(train_loss), "val_loss": None, **(extra or {})})
                return True
            row = {"epoch": epoch, "train_loss": float(train_loss), "val_loss": None, **(extra or {})}
            if evaluate is None:
                history.append(row)
                stopper.best_epoch = epoch
                bar.update(1)
                bar.set_postfix(train=f"{train_loss:.4f}")
                continue
            val_loss, proba_val = evaluate()
            row["val_loss"] = float(val_loss)
            history.append(row)
            stop = stopper.update(epoch, float(val_loss), model)
            bar.update(1)
            bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
            if epoch_callback is not None:
                epoch_callback(epoch, proba_val)
            if stop:
                return True
    return False

