import re

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError, MissingBackendError
from models import create_model, list_models, model_info, validate_model
from models.registry import MODELS


def _task(n_classes=2, n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.normal(size=(n, 5))
    X[:, 0] += 2.0 * y
    X[:, 1] -= 1.0 * y
    w = rng.uniform(0.5, 2.0, n)
    return X, y, w


pytestmark = pytest.mark.sklearn


def _named(names):
    """Model names as parameters, each marked with the backend it needs."""
    return [pytest.param(n, id=n, marks=getattr(pytest.mark, model_info(n).backend)) for n in names]


def _cases(rows):
    """Parameter rows whose first value is a model name, marked with that model's backend."""
    return [pytest.param(*row, marks=getattr(pytest.mark, model_info(row[0]).backend)) for row in rows]


FAST = {
    "random-forest": {"n_estimators": 30},
    "xgboost": {"n_estimators": 60, "early_stopping_rounds": 10},
    "lightgbm": {"n_estimators": 60, "early_stopping_rounds": 10},
}


@pytest.mark.parametrize("name", _named(sorted(FAST)))
@pytest.mark.parametrize("n_classes", [2, 3])
def test_tabular_model_learns(name, n_classes):
    backend = model_info(name).backend
    if backend != "sklearn":
        pytest.importorskip(backend)
    X, y, w = _task(n_classes)
    model = create_model(name, random_state=0, n_jobs=1, **FAST[name])
    model.fit(X[:400], y[:400], sample_weight=w[:400], X_val=X[400:500], y_val=y[400:500], w_val=w[400:500])
    proba = model.predict_proba(X[500:])
    assert proba.shape == (100, n_classes)
    assert np.allclose(proba.sum(1), 1.0)
    assert (proba.argmax(1) == y[500:]).mean() > 1.0 / n_classes + 0.2


@pytest.mark.parametrize("name", _named(sorted(FAST)))
def test_tabular_model_is_seeded(name):
    backend = model_info(name).backend
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


def _needs_backend(name):
    backend = model_info(name).backend
    if backend != "sklearn":
        pytest.importorskip(backend)


@pytest.mark.parametrize("name", _named(sorted(FAST)))
def test_unknown_parameter_is_a_config_error(name):
    _needs_backend(name)
    with pytest.raises(ConfigError, match=f"^{name}: unknown parameter\\(s\\) n_estimatorz$"):
        validate_model(name, n_estimatorz=5)
    model = create_model(name, n_estimatorz=5)  # construction stores parameters as given
    X, y, w = _task()
    with pytest.raises(ConfigError, match="n_estimatorz"):
        model.fit(X, y, w)
    with pytest.raises(ConfigError, match="n_estimatorz"):
        create_model(name).set_params(n_estimatorz=5)


@pytest.mark.parametrize("name, bad, message", _cases([
    ("random-forest", {"n_estimators": 0}, "random-forest: n_estimators must be an integer in [1, 1000000], got 0"),
    ("random-forest", {"max_features": "all"}, "random-forest: max_features must be one of 'sqrt', 'log2' or"),
    ("xgboost", {"subsample": 1.5}, "xgboost: subsample must be a number in (0.0, 1.0], got 1.5"),
    ("lightgbm", {"num_leaves": 1}, "lightgbm: num_leaves must be an integer in [2, 131072], got 1"),
]))
def test_bad_values_are_one_line_errors_before_training(name, bad, message):
    _needs_backend(name)
    with pytest.raises(ConfigError) as err:
        validate_model(name, **bad)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    model = create_model(name, **bad)
    X, y, w = _task()
    with pytest.raises(ConfigError, match=re.escape(message.split(",")[0])):
        model.fit(X, y, w)
    assert not hasattr(model, "model_"), "trained before rejecting the parameters"


@pytest.mark.parametrize("name, extra, bad", _cases([
    ("random-forest", {"criterion": "entropy"}, {"criterion": "entropyy"}),
    ("xgboost", {"gamma": 0.5}, {"gamma": -1.0}),
    ("lightgbm", {"min_split_gain": 0.1}, {"boosting_type": "nonsense"}),
]))
def test_library_extras_round_trip_and_reach_the_library(name, extra, bad):
    from sklearn.base import clone

    _needs_backend(name)
    model = create_model(name, n_estimators=10, n_jobs=1, **extra)
    assert {k: model.get_params()[k] for k in extra} == extra
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy is not model
    X, y, w = _task()
    model.fit(X[:400], y[:400], w[:400], X[400:], y[400:], w[400:])
    assert all(model.model_.get_params()[k] == v for k, v in extra.items())
    validate_model(name, **bad)  # the name is known: its value is the library's to check, at fit
    with pytest.raises(ConfigError) as err:
        copy.set_params(**bad).fit(X[:400], y[:400], w[:400], X[400:], y[400:], w[400:])
    assert str(err.value).startswith(f"{name}: ") and "\n" not in str(err.value)


def test_random_forest_probabilities_do_not_depend_on_threads():
    """scikit-learn's forest sums the trees' probabilities in whatever order its threads
    finish (an ulp apart from run to run); the wrapper adds them in tree order."""
    from sklearn.ensemble import RandomForestClassifier

    X, y, w = _task(n=3000)
    kw = dict(n_estimators=64, min_samples_leaf=5, random_state=3)  # leaves with fractions: sums that round
    parallel = create_model("random-forest", n_jobs=-1, **kw).fit(X, y, w)
    runs = [parallel.predict_proba(X) for _ in range(3)]
    single = create_model("random-forest", n_jobs=1, **kw).fit(X, y, w).predict_proba(X)
    sklearn_single = RandomForestClassifier(n_jobs=1, **kw).fit(X, y, sample_weight=_balanced(y, w)).predict_proba(X)
    for proba in runs:
        assert np.array_equal(proba, single)
    assert np.array_equal(single, sklearn_single)
    assert np.array_equal(create_model("random-forest", n_jobs=2, **kw).fit(X, y, w).predict_proba(X[:7]), single[:7])


def _balanced(y, w):
    from benchmarks.core.weights import balance_classes

    return balance_classes(y, w)
