"""The training engine on tiny data (CPU, one thread): early stopping, hook order and
arguments, exceptions, non-finite losses, and a toy weight-averaging callback."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from models.engine import (  # noqa: E402
    Callback, OneCycle, Split, Stage, TensorRows, Trainer, loss_weights,
)

pytestmark = pytest.mark.torch


def _data(n, seed, d=4, noise=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, 2, n) if noise else (X[:, 0] > 0).astype(np.int64)
    return X, y


def _split(X, y, rows_cls=TensorRows):
    return Split.of(rows_cls(torch.as_tensor(X)), y, loss_weights(y, None, 2), "cpu")


def _net(d=4, width=16, batchnorm=False):
    layers = [torch.nn.BatchNorm1d(d)] if batchnorm else []
    return torch.nn.Sequential(*layers, torch.nn.Linear(d, width), torch.nn.ReLU(), torch.nn.Linear(width, 2))


def _trainer(**kw):
    opts = dict(schedule=OneCycle(weight_decay=0.0), batch_size=16, eval_batch_size=64, patience=3,
                device="cpu", threads=1, progress=False)
    return Trainer(**{**opts, **kw})


def _all_params(net, lr=1e-2, epochs=3, **kw):
    return Stage([{"params": list(net.parameters()), "lr": lr}], epochs, **kw)


def _weights(net):
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


class Recorder(Callback):
    """Logs every hook with what it was given."""

    def __init__(self):
        self.log = []

    def on_fit_start(self, state):
        self.log.append(("fit_start",))

    def on_stage_start(self, state):
        frozen = sorted(n for n, p in state.net.named_parameters() if not p.requires_grad)
        self.log.append(("stage_start", state.stage.name, state.stage_index, type(state.optimizer).__name__, frozen))

    def on_batch_end(self, state, loss):
        assert loss.ndim == 0 and not loss.requires_grad
        self.log.append(("batch_end", state.epoch, state.batch))

    def on_epoch_end(self, state, row, proba_val):
        assert row is state.history[-1]
        self.log.append(("epoch_end", row["epoch"], row.get("stage"), None if proba_val is None else proba_val.shape))

    def on_stage_end(self, state):
        self.log.append(("stage_end", state.stage.name))

    def on_fit_end(self, state):
        self.log.append(("fit_end", len(state.history)))


def test_early_stopping_restores_the_best_epochs_weights():
    # Random labels on a tiny train set: the network overfits and the validation loss rises.
    X, y = _data(300, 0, d=8, noise=True)
    net = _net(d=8, width=128)
    snapshots = {}

    class Snap(Callback):
        def on_epoch_end(self, state, row, proba_val):
            snapshots[row["epoch"]] = _weights(state.net)

    trainer = _trainer(batch_size=10, callbacks=[Snap()])
    with trainer.session(0) as gen:
        result = trainer.fit(net, [_all_params(net, lr=3e-3, epochs=20)], _split(X[:100], y[:100]),
                             _split(X[100:], y[100:]), generator=gen)
    val = [h["val_loss"] for h in result.history]
    assert len(val) < 20, "early stopping never triggered"
    assert result.best_epoch == int(np.argmin(val)) and len(val) == result.best_epoch + 1 + 3
    final, best, last = _weights(net), snapshots[result.best_epoch], snapshots[len(val) - 1]
    assert all(torch.equal(final[k], best[k]) for k in final)
    assert not all(torch.equal(final[k], last[k]) for k in final)


def test_hooks_run_in_the_documented_order_with_their_arguments():
    X, y = _data(80, 1)
    net = _net()
    head = list(net[2].parameters())
    rec = Recorder()
    calls = []
    sgd = lambda groups, steps, epochs: (lambda o: (o, torch.optim.lr_scheduler.LambdaLR(o, lambda s: 1.0)))(  # noqa: E731
        torch.optim.SGD(groups, lr=groups[0]["lr"]))
    stages = [Stage([{"params": head, "lr": 1e-2}], 1, name="head", trainable=head, schedule=sgd),
              Stage([{"params": list(net.parameters()), "lr": 1e-2}], 2, name="full")]
    trainer = _trainer(patience=None, callbacks=[rec])
    with trainer.session(0) as gen:
        result = trainer.fit(net, stages, _split(X[:64], y[:64]), _split(X[64:], y[64:]), generator=gen,
                             epoch_callback=lambda e, p: calls.append((e, p.shape)))
    batches = [("batch_end", e, b) for e in range(3) for b in range(4)]  # 64 rows / 16
    assert rec.log == [
        ("fit_start",),
        ("stage_start", "head", 0, "SGD", ["0.bias", "0.weight"]),
        *batches[:4], ("epoch_end", 0, "head", (16, 2)),
        ("stage_end", "head"),
        ("stage_start", "full", 1, "AdamW", []),
        *batches[4:8], ("epoch_end", 1, "full", (16, 2)),
        *batches[8:], ("epoch_end", 2, "full", (16, 2)),
        ("stage_end", "full"),
        ("fit_end", 3),
    ]
    assert calls == [(0, (16, 2)), (1, (16, 2)), (2, (16, 2))]  # the model's epoch_callback, after the others
    assert [sorted(h) for h in result.history] == [["epoch", "stage", "train_loss", "val_loss"]] * 3
    assert all(p.requires_grad for p in net.parameters()), "frozen parameters were not released after their stage"


def test_epoch_callback_exceptions_propagate():
    X, y = _data(80, 2)
    net = _net()
    rec = Recorder()

    class Pruned(Exception):
        pass

    def prune(epoch, proba):
        if epoch == 1:
            raise Pruned

    trainer = _trainer(callbacks=[rec])
    with pytest.raises(Pruned), trainer.session(0) as gen:
        trainer.fit(net, [_all_params(net, epochs=5)], _split(X[:64], y[:64]), _split(X[64:], y[64:]),
                    generator=gen, epoch_callback=prune)
    assert [e for e in rec.log if e[0] == "epoch_end"] == [("epoch_end", 0, None, (16, 2)), ("epoch_end", 1, None, (16, 2))]
    assert rec.log[-1][0] == "epoch_end", "hooks ran after the exception"


def test_non_finite_loss_stops_training_with_a_warning():
    X, y = _data(80, 3)

    class Poisoned(TensorRows):
        poisoned = False

        def batch(self, idx, augment=False):
            x = super().batch(idx, augment)
            return x * float("nan") if self.poisoned else x

    train = _split(X[:64], y[:64], Poisoned)

    class PoisonAfterEpoch1(Callback):
        def on_epoch_end(self, state, row, proba_val):
            train.rows.poisoned = row["epoch"] == 1

    net = _net()
    rec = Recorder()
    trainer = _trainer(patience=None, callbacks=[PoisonAfterEpoch1(), rec])
    with pytest.warns(RuntimeWarning, match="second: training loss is nan at epoch 2; stopping"), \
            trainer.session(0) as gen:
        result = trainer.fit(net, [_all_params(net, epochs=1, name="first"), _all_params(net, epochs=3, name="second", desc="second"),
                                   _all_params(net, epochs=2, name="third")],
                             train, _split(X[64:], y[64:]), generator=gen)
    assert [h["stage"] for h in result.history] == ["first", "second", "second"]
    assert result.history[-1]["val_loss"] is None and np.isnan(result.history[-1]["train_loss"])
    assert [e[0] for e in rec.log[-3:]] == ["batch_end", "stage_end", "fit_end"]  # no epoch_end for the bad epoch
    assert result.best_epoch in (0, 1)
    assert all(torch.isfinite(p).all() for p in net.parameters()), "the best (finite) weights were not restored"


class ToySWA(Callback):
    """Averages the weights after every optimiser step of the last stage; at the end of the
    fit loads the average and recomputes the batch-norm statistics."""

    def __init__(self):
        self.sum, self.n = None, 0

    def on_batch_end(self, state, loss):
        if state.stage_index != 1:
            return
        params = [p.detach().clone() for p in state.net.parameters()]
        self.sum = params if self.sum is None else [s + p for s, p in zip(self.sum, params)]
        self.n += 1

    def on_fit_end(self, state):
        with torch.no_grad():
            for p, s in zip(state.net.parameters(), self.sum):
                p.copy_(s / self.n)
        state.trainer.update_batchnorm(state.net, state.train)


def test_a_callback_can_average_weights():
    X, y = _data(96, 4)
    net = _net(batchnorm=True)
    steps = []

    class Steps(Callback):
        def on_batch_end(self, state, loss):
            if state.stage_index == 1:
                steps.append([p.detach().clone() for p in state.net.parameters()])

    trainer = _trainer(callbacks=[Steps(), ToySWA()])
    with trainer.session(0) as gen:
        trainer.fit(net, [_all_params(net, epochs=1), _all_params(net, epochs=2)], _split(X[:64], y[:64]),
                    _split(X[64:], y[64:]), generator=gen)
    assert len(steps) == 8  # 2 epochs x 64 / 16
    for p, *seen in zip(net.parameters(), *steps):
        torch.testing.assert_close(p.detach(), torch.stack(seen).mean(0))  # the average, not the best epoch's
    # Batch-norm statistics of the averaged network: 4 equal batches, so their mean is the data's.
    torch.testing.assert_close(net[0].running_mean, torch.as_tensor(X[:64].mean(0)), atol=1e-6, rtol=1e-5)
