"""Batched ensembles and their training machinery on tiny data (CPU, one thread): member
weights, batched members against members alone, the per-member sampler, per-member early
stopping, SWA, snapshots (SSE/FGE), the schedules' curves and the range test."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.core.errors import ConfigError  # noqa: E402
from models.callbacks import SWA, MemberEarlyStopping, Snapshots  # noqa: E402
from models.dnn import DNN, lr_find  # noqa: E402
from models.dnn_net import build_net  # noqa: E402
from models.engine import Callback, Split, Stage, loss_weights  # noqa: E402
from models.ensemble import (  # noqa: E402
    EnsembleTrainer, MemberRows, MemberSampler, ensemble_weights, member_loss, member_seeds,
)
from models.schedules import Cycles, CurveScheduler, LRSchedule, OneCycle  # noqa: E402

pytestmark = pytest.mark.torch

FAST = dict(device="cpu", num_threads=1, progress=False)


def _data(n, seed=0, d=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    return X, y


def _model_and_net(X, y, seeds, **params):
    """A DNN set up for X (spec, device) and a network of len(seeds) members."""
    model = DNN(n_members=len(seeds), **{**FAST, **params})
    model._setup(X, y, None)
    return model, build_net(model.spec_, seeds)


def _split(X, y, augmentation=None):
    rows = MemberRows(torch.as_tensor(X, dtype=torch.float32), augmentation)
    return Split.of(rows, y, loss_weights(y, None, 2), "cpu")


def _fit(X, y, callbacks, epochs, n_members=2, schedule=None, val=True, batchnorm=False, **params):
    """Train a batched network through the engine with ``callbacks``; returns (net, trainer, history)."""
    seeds = member_seeds(0, n_members)
    model, net = _model_and_net(X, y, [s[0] for s in seeds], batchnorm=batchnorm, **params)
    trainer = EnsembleTrainer(schedule=schedule or LRSchedule(lr=3e-3), batch_size=32, eval_batch_size=64,
                              patience=None, device="cpu", threads=1, progress=False, callbacks=callbacks,
                              loss=member_loss, sampler=MemberSampler([s[1] for s in seeds]))
    n = int(0.75 * len(X))
    history = []
    with trainer.session(0) as gen:
        trainer.fit(net, [Stage([{"params": list(net.parameters()), "lr": 3e-3}], epochs)], _split(X[:n], y[:n]),
                    _split(X[n:], y[n:]) if val else None, generator=gen, history=history)
    return net, trainer, history


class Record(Callback):
    """The network's state at every epoch end."""

    def __init__(self):
        self.states = []

    def on_epoch_end(self, state, row, proba_val):
        self.states.append({k: v.detach().clone() for k, v in state.net.state_dict().items()})


def _member(state, m, n_members):
    return {k: v.reshape(n_members, -1)[m] for k, v in state.items() if v.dim() > 0}


def _same_member(a, b, m, n_members):
    return all(torch.equal(x, y) for x, y in zip(_member(a, m, n_members).values(), _member(b, m, n_members).values()))


# ----------------------------------------------------------------------------- weights and losses

def test_member_weights_are_reciprocal_validation_losses():
    np.testing.assert_allclose(ensemble_weights([0.5, 0.25, 1.0]), np.array([2.0, 4.0, 1.0]) / 7.0)
    np.testing.assert_allclose(ensemble_weights([0.3, 0.3, 0.3, 0.3]), [0.25] * 4)
    np.testing.assert_allclose(ensemble_weights([0.1, 0.9], "uniform"), [0.5, 0.5])
    np.testing.assert_allclose(ensemble_weights([0.5, np.nan, np.inf]), [1.0, 0.0, 0.0])
    np.testing.assert_allclose(ensemble_weights([np.nan, np.nan]), [0.5, 0.5])
    with pytest.raises(ConfigError, match="weighting"):
        ensemble_weights([1.0], "softmax")


def test_fitted_weights_follow_the_members_best_validation_losses():
    X, y = _data(400)
    m = DNN(n_members=3, max_epochs=3, width=16, depth=2, batch_size=32, **FAST).fit(X[:300], y[:300], None,
                                                                                    X[300:], y[300:])
    losses = np.array(m.member_val_loss_)
    assert len(set(losses)) == 3, "members did not differ"
    np.testing.assert_allclose(m.member_weights_, (1 / losses) / (1 / losses).sum())
    # The ensemble's probabilities are the members' softmax outputs with these weights.
    with torch.inference_mode():
        members = torch.softmax(m.net_(torch.as_tensor(X[300:], dtype=torch.float32)), -1).double().numpy()
    np.testing.assert_allclose(m.predict_proba(X[300:]), np.einsum("nmc,m->nc", members, np.array(m.member_weights_)),
                               atol=1e-6)
    alone = DNN(n_members=3, max_epochs=3, width=16, depth=2, batch_size=32, **FAST).fit(X[:300], y[:300])
    np.testing.assert_allclose(alone.member_weights_, [1 / 3] * 3)  # no validation data: equal weights


def test_member_loss_sums_each_members_mean_loss():
    logits, y = torch.randn(3, 8, 2), torch.randint(0, 2, (3, 8))
    w = torch.rand(3, 8)
    expected = sum((torch.nn.functional.cross_entropy(logits[m], y[m], reduction="none") * w[m]).mean()
                   for m in range(3))
    torch.testing.assert_close(member_loss(logits, y, w), expected)
    shared = member_loss(logits.transpose(0, 1), y[0], w[0])  # the same rows for every member
    torch.testing.assert_close(shared, member_loss(logits, y[0].expand(3, -1), w[0].expand(3, -1)))


# ----------------------------------------------------------------------------- batched vs alone

def test_a_batched_step_equals_each_member_stepping_alone():
    X, y = _data(64, d=6)
    seeds = [11, 22, 33]
    _, batched = _model_and_net(X, y, seeds, width=8, depth=3, dense=True, activation="swish")
    alone = [_model_and_net(X, y, [s], width=8, depth=3, dense=True, activation="swish")[1] for s in seeds]
    for m, net in enumerate(alone):  # the same initialisation, member by member
        assert all(torch.equal(a.reshape(3, -1)[m], b.reshape(-1)) for a, b in zip(batched.parameters(), net.parameters()))
    idx = torch.stack([torch.randperm(64, generator=torch.Generator().manual_seed(s))[:16] for s in seeds])
    Xt, yt, wt = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y), torch.rand(64)
    opt = torch.optim.Adam(batched.parameters(), lr=1e-2)
    member_loss(batched(Xt[idx]), yt[idx], wt[idx]).backward()
    opt.step()
    for m, net in enumerate(alone):
        opt1 = torch.optim.Adam(net.parameters(), lr=1e-2)
        member_loss(net(Xt[idx[m:m + 1]]), yt[idx[m:m + 1]], wt[idx[m:m + 1]]).backward()
        opt1.step()
        for big, small in zip(batched.parameters(), net.parameters()):
            torch.testing.assert_close(big.detach().reshape(3, -1)[m], small.detach().reshape(-1), atol=1e-6, rtol=1e-5)


def test_a_member_of_an_ensemble_is_the_member_trained_alone():
    X, y = _data(300, seed=1)
    kw = dict(max_epochs=2, subepochs=2, width=12, depth=2, batch_size=32, patience=None, **FAST)
    ens = DNN(n_members=3, **kw).fit(X[:200], y[:200], None, X[200:], y[200:])
    one = DNN(n_members=1, member_ids=[2], **kw).fit(X[:200], y[:200], None, X[200:], y[200:])
    # Equal up to float rounding (a batched matmul may round differently from a single one).
    np.testing.assert_allclose(one.member_val_loss_[0], ens.member_val_loss_[2], rtol=1e-4)
    with torch.inference_mode():
        xt = torch.as_tensor(X[200:], dtype=torch.float32)
        np.testing.assert_allclose(ens.net_(xt)[:, 2].numpy(), one.net_(xt)[:, 0].numpy(), atol=1e-4)
        assert not np.allclose(ens.net_(xt)[:, 1].numpy(), one.net_(xt)[:, 0].numpy(), atol=1e-2)


def test_each_member_shuffles_alike_whatever_the_ensemble_size():
    seeds = [s[1] for s in member_seeds(5, 3)]
    three, alone = MemberSampler(seeds, subepochs=2), MemberSampler(seeds[2:], subepochs=2)
    assert three.n_batches(101, 10) == 5  # 50 rows per sub-epoch
    first, second = three(101, 10), three(101, 10)
    assert len(first) == 5 and all(b.shape == (3, 10) for b in first)
    a = torch.cat(first, 1)
    assert torch.equal(a[2], torch.cat(alone(101, 10), 1)[0]), "member 2 shuffles differently beside others"
    assert not torch.equal(a[0], a[1]), "members share one shuffle"
    one_pass = torch.cat([a, torch.cat(second, 1)], 1)  # two sub-epochs: one pass, no row twice
    assert all(len(set(r.tolist())) == 100 for r in one_pass)
    third = torch.cat(three(101, 10), 1)
    assert not torch.equal(third, a), "a new pass did not reshuffle"
    assert MemberSampler([1], 1).n_batches(21, 10) == 2 and len(MemberSampler([1], 1)(21, 10)) == 2  # 1-row tail dropped


# ----------------------------------------------------------------------------- early stopping

def test_each_member_keeps_its_own_best_epoch():
    X, y = _data(240, seed=3)
    y = np.random.default_rng(3).integers(0, 2, 240)  # noise: validation losses wander, members disagree
    rec, early = Record(), MemberEarlyStopping(3, patience=3)
    net, _, history = _fit(X, y, [rec, early], epochs=25, n_members=3, width=64, depth=2,
                           schedule=LRSchedule(lr=1e-2))
    losses = np.array([h["member_val_loss"] for h in history])
    best = losses.argmin(0)
    assert list(early.best_epoch) == list(best) and len(set(best)) > 1, "the members did not disagree here"
    assert len(history) == best.max() + 1 + 3 < 25, "the stage did not end when the last member stopped"
    for m in range(3):
        assert _same_member(net.state_dict(), rec.states[best[m]], m, 3), f"member {m} lost its best weights"


# ----------------------------------------------------------------------------- SWA

def test_swa_average_is_the_mean_of_the_collected_weights_and_batch_norm_is_recomputed():
    X, y = _data(256, seed=4)
    rec = Record()
    swa = SWA(2, start=2, renewal=0)
    net, trainer, history = _fit(X, y, [rec, swa], epochs=6, val=False, batchnorm=True, width=8, depth=2)
    collected = rec.states[2:]
    for name, p in net.named_parameters():
        torch.testing.assert_close(p.detach(), torch.stack([s[name] for s in collected]).mean(0))
    bn = net.body.blocks[0].layers[0]  # linear -> swish/relu -> batch norm
    train = X[:192]
    with torch.no_grad():
        pre = bn[1](bn[0](net.head(torch.as_tensor(train, dtype=torch.float32))))  # [M, N, C]
    torch.testing.assert_close(bn[2].running_mean, pre.mean(1).reshape(-1), atol=1e-5, rtol=1e-4)


def test_swa_renewal_keeps_the_better_average_per_member():
    swa = SWA(2, start=0, renewal=2)
    swa.x0 = {"w": torch.zeros(2, 3)}
    swa.x1 = {"w": torch.ones(2, 3)}
    swa.n0, swa.n1, swa.since = np.array([5.0, 5.0]), np.array([2.0, 2.0]), np.array([1.0, 1.0])
    losses = iter([np.array([0.5, 0.5]), np.array([0.4, 0.6])])  # x0, then x1: x1 better for member 0 only
    swa._evaluate = lambda state, avg: next(losses)
    cur = {"w": torch.full((2, 3), 7.0)}
    swa._renew(None, cur, np.array([True, True]))
    assert torch.equal(swa.x0["w"][0], torch.ones(3)) and torch.equal(swa.x0["w"][1], torch.zeros(3))
    assert list(swa.n0) == [2.0, 5.0] and list(swa.since) == [1.0, 2.0]
    assert torch.equal(swa.x1["w"], cur["w"]) and list(swa.n1) == [1, 1]  # x1 restarts from the current weights


def test_swa_average_competes_for_the_best_weights():
    X, y = _data(300, seed=3)
    swa = SWA(2, start=1, renewal=2)
    early = MemberEarlyStopping(2, patience=None, candidates=[swa])
    net, trainer, history = _fit(X, y, [swa, early], epochs=8, width=32, depth=2, schedule=LRSchedule(lr=2e-2))
    final = np.array(trainer.evaluate_members(net, _split(X[225:], y[225:]))[0])
    np.testing.assert_allclose(final, early.best_loss, rtol=1e-5)  # the kept weights are the best seen
    plain = np.array([h["member_val_loss"] for h in history]).min(0)
    assert (early.best_loss <= plain + 1e-12).all()
    assert (early.best_loss < plain - 1e-6).any(), "the average never beat the trained weights here"


# ----------------------------------------------------------------------------- snapshots

def test_snapshots_are_taken_at_cycle_ends():
    X, y = _data(128, seed=6)
    rec, snaps = Record(), Snapshots()
    _fit(X, y, [rec, snaps], epochs=7, schedule=LRSchedule(kind="cosine", lr=1e-2, cycle_length=1, cycle_mult=2),
         width=8, depth=2)
    assert snaps.epochs == [0, 2, 6]  # cycles of 1, 2 and 4 epochs
    for i, e in enumerate(snaps.epochs):
        assert all(torch.equal(snaps.states[i][k], rec.states[e][k]) for k in rec.states[e])
    chosen = snaps.choose([6, 3], n=2, power=-1.0)  # member 0: snapshots before epoch 6; member 1: before 3
    assert chosen == [(0, 1, 0.5), (0, 0, 1 / 3), (1, 1, 0.5), (1, 0, 1 / 3)]


def test_fge_takes_snapshots_at_each_linear_cycles_low_point():
    X, y = _data(128, seed=7)
    snaps = Snapshots()
    lrs = []

    class LR(Callback):
        def on_epoch_end(self, state, row, proba_val):
            lrs.append(state.optimizer.param_groups[0]["lr"])

    sched = LRSchedule(kind="linear", lr=1e-2, lr_min=1e-3, cycle_length=2)
    _fit(X, y, [LR(), snaps], epochs=6, schedule=sched, width=8, depth=2)
    assert snaps.epochs == [1, 3, 5]
    np.testing.assert_allclose([lrs[e] for e in snaps.epochs], 1e-3)  # the next step restarts at the low end


@pytest.mark.parametrize("power,kind", [(-1.0, "cosine"), (0.0, "linear")])
def test_snapshot_ensembles_weight_models_as_lumin(power, kind):
    X, y = _data(200, seed=8)
    m = DNN(n_members=2, schedule=kind, lr_min=1e-4, cycle_length=1, snapshots=2, snapshot_power=power,
            max_epochs=6, patience=None, width=8, depth=2, batch_size=32, **FAST)
    m.fit(X[:150], y[:150])  # no validation: the last epoch is each member's "best"
    assert m.info_["models"] == 2 * 3 and m.net_.n_members == 6
    # Both members' best weights (1), then the snapshots oldest first: epoch 3 (the second
    # youngest before the best, (1 + 2) ** power) for both members, then epoch 4 (2 ** power).
    raw = np.array([1.0, 1.0, 3.0 ** power, 3.0 ** power, 2.0 ** power, 2.0 ** power])
    np.testing.assert_allclose(m.member_weights_, raw / raw.sum())
    assert np.isfinite(m.predict_proba(X[150:])).all()


# ----------------------------------------------------------------------------- schedules

def test_cosine_annealing_restarts_at_the_cycle_boundaries():
    c = Cycles(high=1.0, low=0.1, first=4, mult=2)
    lrs = [c.lr(t) for t in range(28)]
    restarts = [t for t in range(1, 28) if lrs[t] > lrs[t - 1]]
    assert restarts == [4, 12] and lrs[0] == lrs[4] == lrs[12] == 1.0
    assert [c.cycles_done(t) for t in (3, 4, 11, 12, 27, 28)] == [0, 1, 1, 2, 2, 3]
    tri = Cycles(high=1.0, low=0.0, first=10, interp="linear")
    assert tri.lr(0) == 0.0 and tri.lr(5) == 1.0 and tri.lr(10) == 0.0


def test_one_cycle_moves_momentum_against_the_learning_rate():
    c = OneCycle(peak=1e-2, start=1e-4, rise=30, fall=60)
    lr = np.array([c.lr(t) for t in range(91)])
    mom = np.array([c.momentum(t) for t in range(91)])
    assert lr[0] == pytest.approx(1e-4) and lr.argmax() == 30 and lr[90] == pytest.approx(0.0)
    assert mom[0] == pytest.approx(0.95) and mom.argmin() == 30 and mom[90] == pytest.approx(0.95)
    assert (np.sign(np.diff(lr)) == -np.sign(np.diff(mom))).all()
    assert [c.cycles_done(t) for t in (89, 90)] == [0, 1]
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p])
    sched = CurveScheduler(opt, c)
    for _ in range(30):
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(1e-2) and opt.param_groups[0]["betas"][0] == pytest.approx(0.85)


def test_schedules_size_themselves_in_epochs():
    opt, sched = LRSchedule(kind="onecycle", lr=1e-2, lr_min=1e-3, lengths=(2, 3))([{"params": [torch.nn.Parameter(
        torch.zeros(1))]}], steps_per_epoch=10, epochs=5)
    assert isinstance(opt, torch.optim.Adam) and sched.curve.rise == 20 and sched.curve.fall == 30
    assert LRSchedule(kind="cosine", cycle_length=3).curve(7).first == 21


def test_lr_find_returns_growing_rates_and_a_finite_suggestion():
    X, y = _data(400, seed=9)
    out = lr_find(X, y, lr_bounds=(1e-5, 1.0), n_steps=40, n_members=2, width=16, depth=2, batch_size=32, **FAST)
    lrs = np.array(out["lrs"])
    assert len(lrs) >= 11 and (np.diff(lrs) > 0).all() and lrs[0] == pytest.approx(1e-5)
    assert len(out["losses"]) == len(lrs) and np.isfinite(out["suggestion"]) and 1e-6 <= out["suggestion"] <= 0.1
    with pytest.raises(ConfigError, match="lr_bounds"):
        lr_find(X, y, lr_bounds=(1.0, 1e-3), **FAST)


def test_member_rows_apply_augmentations_per_row():
    class Negate:
        calls = []

        def random(self, X, generator):
            self.calls.append(tuple(X.shape))
            return -X

        def views(self):
            return [lambda x: x]

    rows = MemberRows(torch.arange(12.0).reshape(6, 2), copy.deepcopy(Negate()))
    out = rows.batch(torch.tensor([[0, 1], [2, 3]]), True)
    assert out.shape == (2, 2, 2) and torch.equal(out[1, 0], -torch.tensor([4.0, 5.0]))
    assert Negate.calls == [(4, 2)]
    with pytest.raises(ConfigError, match="augmentation must return"):
        rows.batch(torch.tensor([0, 1]), lambda x: x[:, :1])
