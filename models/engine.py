"""One torch training engine for the FCNN and SuperTML models.

A fit is data: a network, a list of ``Stage``s (parameter groups with their peak learning
rates, a number of epochs, which parameters train), a training ``Split`` and optionally a
validation one. ``Trainer.fit`` runs the stages over one global epoch numbering with one
early-stopping tracker, and calls ``Callback`` hooks on the way::

    on_fit_start(state)
    for each stage:                          # frozen parameters set, optimiser built
        on_stage_start(state)
        for each epoch:
            for each batch:                  # forward, weighted loss, backward, step, schedule step
                on_batch_end(state, loss)    # loss: the batch's detached mean loss (device tensor)
            [validation pass]                # row = {"epoch", "train_loss", "val_loss"(, "stage")}
            on_epoch_end(state, row, proba_val)   # proba_val: None without validation data
        on_stage_end(state)
    on_fit_end(state)

Callbacks run in list order: the early stopping first (it ends a stage after ``patience``
epochs without a better validation loss and restores the best epoch's weights in
``on_fit_end``), then the trainer's callbacks, then the model's ``epoch_callback``, whose
exceptions (``optuna.TrialPruned``) propagate: no later hook runs. A callback ends the
current stage by setting ``state.stop_stage`` (after this epoch) or the whole fit with
``state.stop_fit`` (in ``on_batch_end``: after this batch; the epoch is still evaluated).
A non-finite training loss ends the fit with a warning: its history row has no
validation loss, ``on_epoch_end`` is not called for it, ``on_stage_end``/``on_fit_end`` are.

The schedule is pluggable (``Schedule``: param groups, steps per epoch, epochs ->
optimiser and a scheduler stepped after every optimiser step; ``OneCycle`` by default), and
so is the data side (``Rows``: a batch of row indices -> network input on the device;
``TensorRows`` for a table already on the device, SuperTML's ``ImageRows`` encodes table
rows into images on the fly). Two optional hooks serve models that are not one network
with one batch per step (the batched ensembles of ``models.dnn``): ``Trainer.loss``
replaces the weighted cross-entropy of a training step, and ``Trainer.sampler`` (a
``Sampler``) chooses each epoch's training batches; its index tensors may have a leading
dimension (one row of indices per ensemble member), which ``rows.batch`` and the label and
weight gathers then carry through. Without them the engine runs exactly as before.

Loss weighting: HiggsML signal weights are ~1000x smaller than background weights, so a
network trained on raw event weights learns to call every event background. By default
(``class_balance=True``) event weights are rescaled so every class carries the same total
weight while the shape of the weights within a class (the physics) is kept; the rescaled
weights have mean 1, so a batch's mean weighted loss is an unbiased estimate of the
whole split's weighted loss. Without event weights every event counts 1 (no balancing),
as in the tabular baselines.

Imported lazily (inside ``fit``), so ``import models`` works without torch installed.
"""
from __future__ import annotations

import contextlib
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.core.errors import ConfigError
from benchmarks.core.weights import balance_classes

from .torch_utils import Timer, autocast, precision_name, seed_everything, to_device, torch_threads


# ----------------------------------------------------------------------------- loss

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


# ----------------------------------------------------------------------------- data

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


class Rows(Protocol):
    """The data side: a batch of row indices (CPU int64 tensor) -> network input on the device.

    ``augment`` is False for the plain rows, True for the source's random augmentation, or a
    callable for a fixed transform (test-time augmentation over a fixed set of views).
    """

    def __len__(self) -> int: ...

    def batch(self, idx: torch.Tensor, augment: Any = False) -> torch.Tensor: ...


class Sampler(Protocol):
    """One training epoch's batches: index tensors (CPU, int64) whose last dimension is the
    batch; ``n_batches`` is how many one epoch gives (the schedules size themselves by it)."""

    def __call__(self, n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]: ...

    def n_batches(self, n: int, batch_size: int) -> int: ...


class TensorRows:
    """A table already on the device (the FCNN's): a batch is a device-side gather, with
    no per-batch host copies; there is nothing to augment."""

    def __init__(self, X: torch.Tensor):
        self.X = X

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def batch(self, idx: torch.Tensor, augment: Any = False) -> torch.Tensor:
        return self.X[idx.to(self.X.device, non_blocking=True)]


@dataclass
class Split:
    """Rows with their labels and loss weights (both on the device); ``augment`` is what
    training batches pass to ``rows.batch``."""

    rows: Rows
    y: torch.Tensor
    weight: torch.Tensor
    augment: Any = False

    @classmethod
    def of(cls, rows: Rows, y: np.ndarray, weight: np.ndarray, device: str, augment: Any = False) -> "Split":
        return cls(rows, to_device(y, device), to_device(weight, device, torch.float32), augment)

    def __len__(self) -> int:
        return len(self.rows)


# ----------------------------------------------------------------------------- schedule and stages

class Schedule(Protocol):
    """Builds one stage's optimiser and learning-rate scheduler from its parameter groups
    (each with its peak ``lr``); the scheduler's ``step()`` follows every optimiser step."""

    def __call__(self, param_groups: list[dict], steps_per_epoch: int, epochs: int) -> tuple[Any, Any]: ...


@dataclass
class OneCycle:
    """AdamW with a one-cycle schedule over the stage; each group's ``lr`` is its peak."""

    weight_decay: float
    pct_start: float = 0.3
    div_factor: float = 25.0

    def __call__(self, param_groups: list[dict], steps_per_epoch: int, epochs: int):
        opt = torch.optim.AdamW(param_groups, lr=param_groups[0]["lr"], weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=[g["lr"] for g in param_groups],
            total_steps=max(1, int(steps_per_epoch) * int(epochs)),
            pct_start=self.pct_start,
            div_factor=self.div_factor,
        )
        return opt, sched


@dataclass
class Stage:
    """One stage of a fit: ``param_groups`` (``{"params": [...], "lr": peak}``) train for up to
    ``epochs`` epochs. With ``trainable`` only those parameters train during the stage (the
    others are frozen, and unfrozen again after it). ``name`` goes into the history rows as
    ``"stage"``; ``desc`` labels the progress bar and warnings; ``schedule`` overrides the
    trainer's for this stage."""

    param_groups: list[dict]
    epochs: int
    name: str | None = None
    trainable: Sequence[torch.nn.Parameter] | None = None
    desc: str = "train"
    schedule: Schedule | None = None


# ----------------------------------------------------------------------------- callbacks

class Callback:
    """Hooks of ``Trainer.fit`` (see the module docstring for their order); all optional."""

    def on_fit_start(self, state: "FitState") -> None: ...

    def on_stage_start(self, state: "FitState") -> None: ...

    def on_batch_end(self, state: "FitState", loss: torch.Tensor) -> None: ...

    def on_epoch_end(self, state: "FitState", row: dict, proba_val: np.ndarray | None) -> None: ...

    def on_stage_end(self, state: "FitState") -> None: ...

    def on_fit_end(self, state: "FitState") -> None: ...


@dataclass
class FitState:
    """What callbacks see (and the two stop flags they may set) during ``Trainer.fit``."""

    trainer: "Trainer"
    net: torch.nn.Module
    train: Split
    val: Split | None
    generator: torch.Generator
    history: list[dict]
    stage: Stage | None = None
    stage_index: int = -1
    optimizer: Any = None
    scheduler: Any = None
    epoch: int = -1
    batch: int = -1
    stop_stage: bool = False
    stop_fit: bool = False


@dataclass
class EarlyStopping(Callback):
    """Tracks the best validation loss over all stages and keeps a copy of the best weights,
    restored at the end of the fit. A new stage starts with a fresh patience. Without
    validation data nothing stops early and the last epoch counts as the best."""

    patience: int | None = 5
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

    def on_stage_start(self, state: FitState) -> None:
        if state.stage_index > 0:
            self.bad_epochs = 0

    def on_epoch_end(self, state: FitState, row: dict, proba_val) -> None:
        if row["val_loss"] is None:
            self.best_epoch = row["epoch"]
        elif self.update(row["epoch"], row["val_loss"], state.net):
            state.stop_stage = True

    def on_fit_end(self, state: FitState) -> None:
        self.restore(state.net)


class EpochCallback(Callback):
    """Adapts the models' ``epoch_callback(epoch, proba_val)`` (validation epochs only)."""

    def __init__(self, fn: Callable[[int, np.ndarray], Any]):
        self.fn = fn

    def on_epoch_end(self, state: FitState, row: dict, proba_val) -> None:
        if proba_val is not None:
            self.fn(row["epoch"], proba_val)


def progress_bar(total: int, desc: str, progress: bool):
    """tqdm over epochs, shown only on a terminal and when asked for."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="epoch", leave=False,
                disable=not progress or not sys.stderr.isatty())


def _emit(callbacks: Sequence[Any], hook: str, *args: Any) -> None:
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is not None:
            fn(*args)


# ----------------------------------------------------------------------------- the trainer

@dataclass
class FitResult:
    history: list[dict]
    best_epoch: int | None
    seconds: float


@dataclass
class Trainer:
    """Runs stages of weighted-loss training and predicts, on one device and precision
    (bf16 autocast on CUDA only), with ``threads`` torch threads. ``loss`` and ``sampler``
    are the optional hooks of the module docstring (None: weighted cross-entropy, and
    ``batch_indices`` over the shuffled training rows); ``clip_norm`` clips the gradients'
    global norm before every optimiser step."""

    schedule: Schedule
    batch_size: int
    eval_batch_size: int
    patience: int | None = 5
    device: str = "cpu"
    amp: bool = True
    threads: int = 1
    progress: bool = True
    callbacks: Sequence[Any] = ()
    loss: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    sampler: Sampler | None = None
    clip_norm: float | None = None  # clip the gradients' global norm to this before each step (None: never)

    @property
    def precision(self) -> str:
        return precision_name(self.device, self.amp)

    @contextlib.contextmanager
    def session(self, random_state: int | None) -> Iterator[torch.Generator]:
        """The trainer's thread count, and seeded RNGs; yields the batch-shuffling generator.
        Build the network inside it: its initialisation draws from the seeded RNG."""
        with torch_threads(self.threads):
            yield seed_everything(random_state)

    def fit(self, net: torch.nn.Module, stages: Sequence[Stage], train: Split, val: Split | None = None, *,
            generator: torch.Generator, epoch_callback: Callable | None = None,
            history: list[dict] | None = None) -> FitResult:
        """Run ``stages`` in order (stages of 0 epochs are skipped); rows go to ``history``."""
        stopper = EarlyStopping(patience=self.patience)
        callbacks = [stopper, *self.callbacks] + ([EpochCallback(epoch_callback)] if epoch_callback else [])
        state = FitState(self, net, train, val, generator, history if history is not None else [])
        with Timer(self.device) as timer:
            _emit(callbacks, "on_fit_start", state)
            for index, stage in enumerate(s for s in stages if s.epochs > 0):
                self._run_stage(state, index, stage, callbacks)
                if state.stop_fit:
                    break
            _emit(callbacks, "on_fit_end", state)
        return FitResult(state.history, stopper.best_epoch, timer.seconds)

    def _run_stage(self, state: FitState, index: int, stage: Stage, callbacks) -> None:
        before = {p: p.requires_grad for p in state.net.parameters()}
        if stage.trainable is not None:
            keep = {id(p) for p in stage.trainable}
            for p in before:
                p.requires_grad_(id(p) in keep)
        # Copies: optimisers and schedulers write into their groups' dicts.
        groups = [dict(g) for g in stage.param_groups if any(p.requires_grad for p in g["params"])]
        schedule = stage.schedule or self.schedule
        n = len(state.train)
        steps = self.sampler.n_batches(n, self.batch_size) if self.sampler else n_train_batches(n, self.batch_size)
        state.optimizer, state.scheduler = schedule(groups, steps, stage.epochs)
        state.stage, state.stage_index, state.stop_stage = stage, index, False
        _emit(callbacks, "on_stage_start", state)
        with progress_bar(stage.epochs, stage.desc, self.progress) as bar:
            for _ in range(stage.epochs):
                self._run_epoch(state, callbacks, bar)
                if state.stop_stage or state.stop_fit:
                    break
        for p, flag in before.items():
            p.requires_grad_(flag)
        _emit(callbacks, "on_stage_end", state)

    def _run_epoch(self, state: FitState, callbacks, bar) -> None:
        state.epoch = epoch = len(state.history)
        train_loss = self._train_epoch(state, callbacks)
        row = {"epoch": epoch, "train_loss": float(train_loss), "val_loss": None}
        if state.stage.name is not None:
            row["stage"] = state.stage.name
        if not np.isfinite(train_loss):
            warnings.warn(f"{state.stage.desc}: training loss is {train_loss} at epoch {epoch}; stopping",
                          RuntimeWarning)
            state.history.append(row)
            state.stop_fit = True
            return
        proba_val = None
        if state.val is not None:
            val_loss, proba_val = self.evaluate(state.net, state.val)
            row["val_loss"] = float(val_loss)
        state.history.append(row)
        bar.update(1)
        bar.set_postfix(train=f"{train_loss:.4f}", **({} if proba_val is None else {"val": f"{row['val_loss']:.4f}"}))
        _emit(callbacks, "on_epoch_end", state, row, proba_val)

    def _train_epoch(self, state: FitState, callbacks) -> float:
        net, train = state.net, state.train
        net.train()
        total = torch.zeros((), device=self.device)
        count = 0
        if self.sampler is not None:
            batches = self.sampler(len(train), self.batch_size, state.generator)
        else:
            batches = batch_indices(len(train), self.batch_size, True, state.generator)
        for state.batch, idx in enumerate(batches):
            x = train.rows.batch(idx, train.augment)
            idx_d = idx.to(self.device, non_blocking=True)
            loss = self.step(net, state.optimizer, state.scheduler, x, train.y[idx_d], train.weight[idx_d])
            # Accumulate on the device: a .item() per batch would sync the GPU each step.
            total += loss * idx.shape[-1]
            count += idx.shape[-1]
            _emit(callbacks, "on_batch_end", state, loss)
            if state.stop_fit:
                break
        return float(total) / max(count, 1)

    def step(self, net, optimizer, scheduler, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """One optimisation step on one batch; returns the detached mean weighted loss."""
        with autocast(self.device, self.amp):
            logits = net(x)
        loss = (self.loss or weighted_ce)(logits, y, w)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), self.clip_norm)
        optimizer.step()
        scheduler.step()
        return loss.detach()

    # ------------------------------------------------------------------ evaluation

    def eval_batches(self, net: torch.nn.Module, rows: Rows, augment: Any = False,
                     reduce: Callable[[torch.Tensor, torch.Tensor], Any] | None = None) -> list:
        """The network's outputs (float32, on the device) in batches of ``eval_batch_size``, eval
        mode, no autograd; each passed through ``reduce(idx, logits)`` when given (a model that
        reduces as it goes never holds all outputs at once)."""
        net.eval()
        out = []
        with torch.inference_mode():
            for idx in batch_indices(len(rows), self.eval_batch_size, shuffle=False):
                x = rows.batch(idx, augment)
                with autocast(self.device, self.amp):
                    logits = net(x).float()
                out.append(logits if reduce is None else reduce(idx, logits))
        return out

    def logits(self, net: torch.nn.Module, rows: Rows, augment: Any = False) -> torch.Tensor:
        """Logits (float32, on the device) in batches of ``eval_batch_size``, eval mode, no autograd."""
        return torch.cat(self.eval_batches(net, rows, augment))

    def evaluate(self, net: torch.nn.Module, split: Split) -> tuple[float, np.ndarray]:
        """Weighted mean cross-entropy of a split and its softmax probabilities (float64)."""
        logits = self.logits(net, split.rows)
        ce = F.cross_entropy(logits, split.y, reduction="none")
        loss = float((ce * split.weight).sum() / split.weight.sum())
        return loss, torch.softmax(logits, 1).double().cpu().numpy()

    def predict_proba(self, net: torch.nn.Module, rows: Rows, views: Sequence[Any] = (False,)) -> np.ndarray:
        """Softmax probabilities (float64) averaged over ``views`` (each one is ``rows.batch``'s
        ``augment``: test-time augmentation is more than one view)."""
        with torch_threads(self.threads):
            proba = torch.softmax(self.logits(net, rows, views[0]), 1)
            for view in views[1:]:
                proba += torch.softmax(self.logits(net, rows, view), 1)
            proba /= len(views)
            return proba.double().cpu().numpy()

    def update_batchnorm(self, net: torch.nn.Module, split: Split) -> None:
        """Recompute batch-norm statistics with one pass over a split (after weight averaging)."""
        from torch.optim.swa_utils import update_bn

        batches = [idx for idx in batch_indices(len(split), self.batch_size, shuffle=False) if len(idx) > 1]
        update_bn((split.rows.batch(idx) for idx in batches), net)
