import numpy as np
import pytest

from benchmarks.core.errors import ConfigError, MissingBackendError
from models import create_model, list_models, model_entry
from models.registry import MODELS


def _task(n_classes=2, n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.normal(size=(n, 5))
    X[:, 0] += 2.0 * y
    X[:, 1] -= 1.0 * y
    w = rng.uniform(0.5, 2.0, n)
    return X, y, w


FAST = {
    "random-forest": {"n_estimators": 30},
    "xgboost": {"n_estimators": 60, "early_stopping_rounds": 10},
    "lightgbm": {"n_estimators": 60, "early_stopping_rounds": 10},
}


@pytest.mark.parametrize("name", sorted(FAST))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_tabular_model_learns(name, n_classes):
    backend = model_entry(name).tags["backend"]
    if backend != "sklearn":
        pytest.importorskip(backend)
    X, y, w = _task(n_classes)
    model = create_model(name, random_state=0, n_jobs=1, **FAST[name])
    model.fit(X[:400], y[:400], sample_weight=w[:400], X_val=X[400:500], y_val=y[400:500], w_val=w[400:500])
    proba = model.predict_proba(X[500:])
    assert proba.shape == (100, n_classes)
    assert np.allclose(proba.sum(1), 1.0)
    assert (proba.argmax(1) == y[500:]).mean() > 1.0 / n_classes + 0.2


@pytest.mark.parametrize("name", sorted(FAST))
def test_tabular_model_is_seeded(name):
    backend = model_entry(name).tags["backend"]
    if backend != "sklearn":
        pytest.importorskip(backend)
    X, y, w = _task()
    a = create_model(name, random_state=4, n_jobs=1, **FAST[name]).fit(X, y, w, X, y, w).predict_proba(X)
    b = create_model(name, random_state=4, n_jobs=1, **FAST[name]).fit(X, y, w, X, y, w).predict_proba(X)
    assert np.array_equal(a, b)


def test_class_balanced_weights_prevent_all_background():
    """HiggsML-like weights (signal 1000x lighter) must not teach 'everything is background'."""
    X, y, _ = _task()
    w = np.where(y == 1, 0.002, 2.0)
    model = create_model("random-forest", n_estimators=30, random_state=0, n_jobs=1).fit(X, y, w)
    assert model.predict_proba(X).argmax(1).mean() > 0.3


def test_registry_lists_and_rejects():
    assert {"random-forest", "xgboost", "lightgbm"} <= set(list_models())
    assert "random-forest" in list_models(backend="sklearn")
    with pytest.raises(ConfigError, match="unknown model 'xgbost'.*xgboost"):
        create_model("xgbost")


def test_missing_backend_is_a_clear_error():
    @MODELS.register("test-needs-nothing-real", backend="not_a_real_backend_pkg", family="tabular")
    def _factory(**kw):  # pragma: no cover - never called
        raise AssertionError

    with pytest.raises(MissingBackendError, match="needs not_a_real_backend_pkg"):
        create_model("test-needs-nothing-real")


@pytest.mark.parametrize("name", sorted(FAST))
def test_unknown_parameter_is_a_config_error(name):
    backend = model_entry(name).tags["backend"]
    if backend != "sklearn":
        pytest.importorskip(backend)
    with pytest.raises(ConfigError, match="n_estimatorz"):
        create_model(name, n_estimatorz=5)
