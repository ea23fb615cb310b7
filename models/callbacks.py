"""Engine callbacks for batched ensembles: per-member early stopping, snapshot ensembles
(SSE, FGE) and stochastic weight averaging (SWA), after LUMIN v0.5.1 as the paper used it.

Epochs are the engine's (the DNN's sub-epochs). With a cyclic schedule (``LRSchedule``
with ``cosine``, ``linear`` or ``onecycle``), LUMIN counts patience, SWA's start and its
renewal period in completed cycles instead of epochs; a cycle always ends at an epoch end.
Every callback reads the members' validation losses of the epoch from the trainer
(``EnsembleTrainer.member_val_losses``), so they run after the engine's validation pass.
List order matters: ``SWA`` must come before ``MemberEarlyStopping`` (its average of this
epoch is a candidate for the best weights), as in LUMIN where the SWA model is updated at
the end of the sub-epoch before the losses are compared.
"""
from __future__ import annotations

import copy
from typing import Sequence

import numpy as np
import torch

from .engine import Callback, FitState
from .ensemble import blend, clone_state, per_member


class CycleWatch:
    """True at the first epoch end after another cycle of the stage's schedule completed."""

    def __init__(self):
        self.seen = 0

    def __call__(self, state: FitState) -> bool:
        done = int(getattr(state.scheduler, "cycles_done", 0))
        ended, self.seen = done > self.seen, done
        return ended


class MemberEarlyStopping(Callback):
    """Early stopping per member: each member keeps its best weights (lowest validation
    loss, ties going to the newer, as LUMIN's ``<=``) and stops counting after ``patience``
    epochs (cycles with a cyclic schedule) without improvement; the stage ends when every
    member has stopped. A stopped member keeps training with the others (one batched
    network) but its best weights no longer change. ``candidates`` (an ``SWA``) offer other
    weights per member each epoch; the better of the model and a candidate counts, as in
    LUMIN's loss callbacks. The training loss row becomes the members' mean.
    Without validation data the last epoch's weights are kept."""

    def __init__(self, n_members: int, patience: int | None, cyclic: bool = False, candidates: Sequence = ()):
        self.n_members, self.patience, self.cyclic = int(n_members), patience, cyclic
        self.candidates = list(candidates)

    def on_fit_start(self, state: FitState) -> None:
        m = self.n_members
        self.best_loss = np.full(m, np.inf)
        self.best_epoch = np.full(m, -1)
        self.bad = np.zeros(m, dtype=int)
        self.stopped = np.zeros(m, dtype=bool)
        self.best_state: dict | None = None
        self.watch = CycleWatch()

    def on_epoch_end(self, state: FitState, row: dict, proba_val) -> None:
        row["train_loss"] /= self.n_members
        cycle_end = self.watch(state)
        if row["val_loss"] is None:
            self.best_epoch[:] = row["epoch"]
            return
        losses = np.asarray(state.trainer.member_val_losses, dtype=np.float64)
        row["member_val_loss"] = [float(v) for v in losses]
        best, source = losses.copy(), np.full(self.n_members, -1)
        for k, cand in enumerate(self.candidates):
            offered = cand.candidate_losses(state)
            if offered is not None:
                take = offered < best
                best[take], source[take] = offered[take], k
        improved = ~self.stopped & (best <= self.best_loss)
        self._keep(state, improved, source)
        self.best_loss[improved], self.best_epoch[improved], self.bad[improved] = best[improved], row["epoch"], 0
        if not self.cyclic or cycle_end:
            self.bad[~improved & ~self.stopped] += 1
        if self.patience is not None:
            self.stopped |= self.bad >= self.patience
        if self.stopped.all():
            state.stop_stage = True

    def _keep(self, state: FitState, improved: np.ndarray, source: np.ndarray) -> None:
        if not improved.any():
            return
        if self.best_state is None:
            self.best_state = clone_state(state.net)
        blend(self.best_state, state.net.state_dict(), improved & (source == -1), self.n_members)
        for k, cand in enumerate(self.candidates):
            if (improved & (source == k)).any():
                blend(self.best_state, cand.candidate_state(), improved & (source == k), self.n_members)

    def on_fit_end(self, state: FitState) -> None:
        if self.best_state is not None:
            state.net.load_state_dict(self.best_state)


class Snapshots(Callback):
    """Collects the network's weights (every member) at each cycle end: the raw material of
    snapshot ensembles (SSE, cosine cycles) and fast geometric ensembling (FGE, linear
    cycles) from one training run. ``choose`` picks, per member, the snapshots before its
    best epoch (LUMIN's ``Ensemble.build_ensemble`` with ``snapshot_args``)."""

    def on_fit_start(self, state: FitState) -> None:
        self.states: list[dict] = []
        self.epochs: list[int] = []
        self.watch = CycleWatch()

    def on_epoch_end(self, state: FitState, row: dict, proba_val) -> None:
        if self.watch(state):
            self.states.append(clone_state(state.net))
            self.epochs.append(int(row["epoch"]))

    def choose(self, best_epoch: Sequence[int], n: int, power: float) -> list[tuple[int, int, float]]:
        """(member, snapshot index, weight) for up to ``n`` snapshots per member taken before
        the member's best epoch, youngest first, weighted (k + 2) ** ``power`` for the k-th
        (the member's best weights themselves weigh 1; SSE: power -1, FGE: 0)."""
        chosen = []
        for m, best in enumerate(best_epoch):
            earlier = [i for i, e in enumerate(self.epochs) if e < best][::-1][:n]
            chosen += [(m, i, float((k + 2) ** power)) for k, i in enumerate(earlier)]
        return chosen


class SWA(Callback):
    """Stochastic weight averaging per member, LUMIN's variant with a pair of averages.

    From ``start`` epochs (cycles, with a cyclic schedule: then it averages at cycle ends
    only) the average x0 collects the weights once per epoch (cycle). ``renewal`` later a
    second average x1 starts from the current weights; after ``renewal`` x (the number of
    comparisons x0 has won since its last replacement) more updates, both are evaluated on
    the validation data: if x1 is better it replaces x0, and x1 restarts from the current
    weights either way. ``renewal=0`` (or no validation data) is plain SWA. Each epoch x0
    is offered to ``MemberEarlyStopping`` as a candidate. With batch norm, an average's
    statistics are recomputed (``Trainer.update_batchnorm``) before it is evaluated or kept.
    Without validation data the net ends with x0 (statistics recomputed).

    Where LUMIN's code differs from its own description (its second average starts from the
    initial weights, which then stay in it with weight 1), this follows the description.
    """

    def __init__(self, n_members: int, start: int, renewal: int = 0, cyclic: bool = False):
        self.n_members, self.start, self.renewal, self.cyclic = int(n_members), int(start), int(renewal), cyclic

    def on_fit_start(self, state: FitState) -> None:
        m = self.n_members
        self.x0: dict | None = None
        self.x1: dict | None = None
        self.n0, self.n1 = np.zeros(m), np.zeros(m)
        self.since = np.ones(m)
        self.ticks = 0
        self.watch = CycleWatch()
        self.test_net = None
        self._loss0 = self._state0 = None
        self.has_bn = any(isinstance(mod, torch.nn.modules.batchnorm._BatchNorm) for mod in state.net.modules())

    def _current(self, state: FitState) -> dict:
        return {n: p.detach() for n, p in state.net.named_parameters()}

    @torch.no_grad()
    def _average_in(self, avg: dict, count: np.ndarray, cur: dict, mask: np.ndarray) -> None:
        """avg <- (avg * count + cur) / (count + 1) for the members in ``mask``."""
        for name, a in avg.items():
            k = torch.as_tensor(count, dtype=a.dtype, device=a.device)[:, None]
            view, c = per_member(a, self.n_members), per_member(cur[name], self.n_members)
            mixed = (view * k + c) / (k + 1)
            rows = torch.as_tensor(mask, device=a.device)
            view[rows] = mixed[rows]

    def on_epoch_end(self, state: FitState, row: dict, proba_val) -> None:
        if self.cyclic and not self.watch(state):
            return
        if self.ticks >= self.start:
            self._update(state)
        self.ticks += 1

    def _update(self, state: FitState) -> None:
        cur, everyone = self._current(state), np.ones(self.n_members, dtype=bool)
        if self.x0 is None:
            self.x0 = {n: c.clone() for n, c in cur.items()}
        else:
            self._average_in(self.x0, self.n0, cur, everyone)
        self.n0 += 1
        self._loss0 = None
        if self.renewal <= 0 or state.val is None:
            return
        fresh = (self.n1 == 0) & (self.n0 > self.renewal)
        if self.x1 is None:
            self.x1 = {n: c.clone() for n, c in cur.items()}
        blend(self.x1, cur, fresh, self.n_members)
        self._average_in(self.x1, self.n1, cur, (self.n1 > 0) & ~fresh)
        self.n1 = np.where(fresh, 1, np.where(self.n1 > 0, self.n1 + 1, 0))
        due = (self.n1 > 0) & (self.n1 >= self.since * self.renewal)
        if due.any():
            self._renew(state, cur, due)

    def _renew(self, state: FitState, cur: dict, due: np.ndarray) -> None:
        loss0, loss1 = self._evaluate(state, self.x0), self._evaluate(state, self.x1)
        better = due & (loss1 < loss0)
        blend(self.x0, self.x1, better, self.n_members)
        self.n0 = np.where(better, self.n1, self.n0)
        self.since = np.where(better, 1, np.where(due, self.since + 1, self.since))
        blend(self.x1, cur, due, self.n_members)
        self.n1 = np.where(due, 1, self.n1)
        self._loss0 = None

    def _load(self, state: FitState, avg: dict):
        if self.test_net is None:
            self.test_net = copy.deepcopy(state.net)
        self.test_net.load_state_dict(state.net.state_dict())
        with torch.no_grad():
            for name, p in self.test_net.named_parameters():
                p.copy_(avg[name])
        if self.has_bn:
            state.trainer.update_batchnorm(self.test_net, state.train)
        return self.test_net

    def _evaluate(self, state: FitState, avg: dict) -> np.ndarray:
        return state.trainer.evaluate_members(self._load(state, avg), state.val)[0]

    def candidate_losses(self, state: FitState) -> np.ndarray | None:
        if self.x0 is None or state.val is None:
            return None
        if self._loss0 is None:
            self._loss0 = self._evaluate(state, self.x0)
            self._state0 = clone_state(self.test_net)
        return np.where(self.n0 > 0, self._loss0, np.inf)

    def candidate_state(self) -> dict:
        return self._state0

    def on_fit_end(self, state: FitState) -> None:
        if state.val is None and self.x0 is not None:
            with torch.no_grad():
                for name, p in state.net.named_parameters():
                    p.copy_(self.x0[name])
            if self.has_bn:
                state.trainer.update_batchnorm(state.net, state.train)


class TimeBudget(Callback):
    """Ends the fit once its training has taken ``seconds`` (checked after every epoch), so a
    search can offer large ensembles without any trial running past the budget; the best
    weights so far are kept as after early stopping."""

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.started = 0.0
        self.exhausted = False

    def on_fit_start(self, state: FitState) -> None:
        import time

        self.started = time.perf_counter()

    def on_epoch_end(self, state: FitState, row: dict, proba_val) -> None:
        import time

        if time.perf_counter() - self.started >= self.seconds:
            self.exhausted = True
            state.stop_fit = True
