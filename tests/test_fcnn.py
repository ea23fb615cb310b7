"""FCNN baseline and the shared torch training machinery (CPU, one thread, small data)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from benchmarks.core.errors import ConfigError  # noqa: E402
from benchmarks.core.device import resolve_device  # noqa: E402
from models import create_model, model_entry  # noqa: E402
from models import engine  # noqa: E402
from models import torch_utils as tu  # noqa: E402
from models.fcnn import FCNN  # noqa: E402

pytestmark = pytest.mark.torch

FAST = dict(num_threads=1, progress=False, device="cpu")


def _binary(n, seed=0, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 50, d) + rng.uniform(-100, 100, d)  # unscaled on purpose
    Z = (X - X.mean(0)) / X.std(0)
    y = (Z[:, 0] + Z[:, 1] - 0.5 * Z[:, 2] > 0).astype(np.int64)
    return X, y


def _three_class(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[0, 0, 0, 0], [3, 0, 0, 0], [0, 3, 0, 0]], dtype=float)
    return centres[y] + rng.normal(size=(n, 4)), y


def _weighted_ce(proba, y, w):
    return float(np.sum(w * -np.log(proba[np.arange(len(y)), y])) / w.sum())


def test_binary_beats_chance_with_higgs_like_weights():
    X, y = _binary(1500)
    rng = np.random.default_rng(1)
    # Signal weights ~1000x smaller than background, as in HiggsML.
    w = np.where(y == 1, 1e-3, 1.0) * rng.uniform(0.5, 1.5, len(y))
    tr, va = slice(0, 1000), slice(1000, None)
    m = FCNN(max_epochs=6, **FAST).fit(X[tr], y[tr], w[tr], X[va], y[va], w[va])
    proba = m.predict_proba(X[va])
    assert proba.shape == (500, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    acc = (proba.argmax(1) == y[va]).mean()
    assert acc > 0.85, acc
    # Balanced classes: signal is still found despite its tiny weights.
    assert (proba.argmax(1) == 1).mean() > 0.3
    assert m.device_ == "cpu" and m.info_["precision"] == "fp32" and m.info_["threads"] == 1
    assert [set(h) >= {"train_loss", "val_loss"} for h in m.history_] == [True] * len(m.history_)


def test_three_classes():
    X, y = _three_class(900)
    m = FCNN(max_epochs=6, **FAST).fit(X[:600], y[:600], None, X[600:], y[600:])
    proba = m.predict_proba(X[600:])
    assert proba.shape == (300, 3)
    assert (proba.argmax(1) == y[600:]).mean() > 0.8


def test_early_stopping_restores_best_epoch():
    # Random labels on a tiny train set: the network overfits and the validation loss rises.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 8)), rng.integers(0, 2, 300)
    m = FCNN(hidden=128, max_epochs=20, patience=3, lr=3e-3, batch_size=10, **FAST)
    m.fit(X[:100], y[:100], None, X[100:], y[100:])
    val = [h["val_loss"] for h in m.history_]
    assert len(val) < 20, "early stopping never triggered"
    assert m.best_epoch_ == int(np.argmin(val))
    assert len(val) == m.best_epoch_ + 1 + 3  # stopped after `patience` epochs without improvement
    restored = _weighted_ce(m.predict_proba(X[100:]), y[100:], np.ones(200))
    assert restored == pytest.approx(val[m.best_epoch_], rel=1e-4)
    assert restored < val[-1] - 0.05  # the last epoch's (overfitted) weights were not kept


def test_epoch_callback_each_epoch_and_exceptions_propagate():
    X, y = _binary(400)
    calls = []
    m = FCNN(max_epochs=3, patience=10, **FAST)
    m.fit(X[:300], y[:300], None, X[300:], y[300:], epoch_callback=lambda e, p: calls.append((e, p.shape)))
    assert calls == [(0, (100, 2)), (1, (100, 2)), (2, (100, 2))]

    class Pruned(Exception):
        pass

    seen = []

    def prune(epoch, proba):
        seen.append(epoch)
        if epoch == 1:
            raise Pruned

    with pytest.raises(Pruned):
        FCNN(max_epochs=5, **FAST).fit(X[:300], y[:300], None, X[300:], y[300:], epoch_callback=prune)
    assert seen == [0, 1]


def test_nan_rejected():
    X, y = _binary(50)
    X[3, 2] = np.nan
    with pytest.raises(ConfigError, match="fcnn cannot take NaN; use missing='impute'"):
        FCNN(**FAST).fit(X, y)


def test_seeding_makes_fits_identical():
    X, y = _binary(300)
    kw = dict(max_epochs=2, **FAST)
    a = FCNN(random_state=3, **kw).fit(X[:200], y[:200], None, X[200:], y[200:]).predict_proba(X[200:])
    b = FCNN(random_state=3, **kw).fit(X[:200], y[:200], None, X[200:], y[200:]).predict_proba(X[200:])
    c = FCNN(random_state=4, **kw).fit(X[:200], y[:200], None, X[200:], y[200:]).predict_proba(X[200:])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_registry_and_search_space():
    optuna = pytest.importorskip("optuna")
    entry = model_entry("fcnn")
    assert entry.meta.backend == "torch" and entry.meta.accepts_device
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    params = entry.meta.search_space(trial)
    assert set(params) <= set(FCNN().get_params())
    m = create_model("fcnn", **params, max_epochs=1, **FAST)
    assert isinstance(m, FCNN) and m.hidden == params["hidden"]


def test_loss_weights_balance_classes():
    y = np.array([0, 0, 0, 1, 1, 2])
    w = np.array([1.0, 2.0, 3.0, 1e-3, 3e-3, 5.0])
    lw = engine.loss_weights(y, w, 3)
    sums = np.bincount(y, weights=lw)
    np.testing.assert_allclose(sums, [2.0, 2.0, 2.0])  # each class n / k
    np.testing.assert_allclose(lw[:3] / lw[0], w[:3] / w[0])  # shape within a class kept
    raw = engine.loss_weights(y, w, 3, class_balance=False)
    assert raw.mean() == pytest.approx(1.0) and raw[4] / raw[3] == pytest.approx(3.0)
    np.testing.assert_array_equal(engine.loss_weights(y, None, 3), np.ones(6))


def test_device_resolution():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError):
        resolve_device("tpu")
    assert 1 <= tu.choose_threads(1) <= tu.choose_threads(None)
