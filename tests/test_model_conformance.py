"""Every registered model follows the same contract, on tiny binary data (CPU).

For each model the ``models`` package registers, plus SuperTML names made by the registry's
resolver (the smallest backbone, resnet10t): tiny settings pass ``validate_model``;
``clone`` (of a fitted model too) gives an unfitted estimator with equal ``get_params()``; ``set_params`` round-trips;
``fit`` (with validation data) then ``predict_proba`` gives float64 probabilities of shape
(n, 2) whose rows sum to 1; and a clone fitted with the same ``random_state`` predicts the
very same bits (the random forest with ``n_jobs=-1``, so the parallel path is the one checked); ``fit_facts``
gives the harness the fitted model's info, device and encoder.

``supertml-text-legacy_senet154`` (115M parameters) takes ~40 s per fit on two CPU cores,
so it is validated, cloned and round-tripped through ``set_params`` but not fitted.
"""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from models import FitFacts, create_model, fit_facts, list_models, model_entry, model_info, validate_model

KNOWN = {"random-forest", "xgboost", "lightgbm", "catboost", "tabm", "realmlp", "fcnn", "dnn", "supertml-text-resnet18", "supertml-text-resnet34",
         "supertml-pixels-resnet18", "supertml-pixels-resnet34", "supertml-text-seresnet50",
         "supertml-text-legacy_senet154"}
RESOLVED = ["supertml-text-resnet10t", "supertml-pixels-resnet10t"]
NOT_FITTED = {"supertml-text-legacy_senet154"}

TINY = {
    "random-forest": dict(n_estimators=20, n_jobs=-1),
    "xgboost": dict(n_estimators=20, early_stopping_rounds=5, n_jobs=-1),
    "lightgbm": dict(n_estimators=20, early_stopping_rounds=5, min_child_samples=5, n_jobs=-1),
    "catboost": dict(iterations=20, early_stopping_rounds=5, thread_count=-1),
    "tabm": dict(k=4, d_block=32, n_bins=8, max_epochs=3, batch_size=16, device="cpu", num_threads=1, progress=False),
    "realmlp": dict(n_epochs=4, n_threads=1),
    "fcnn": dict(max_epochs=3, batch_size=16, device="cpu", num_threads=1, progress=False),
    "dnn": dict(n_members=3, max_epochs=2, subepochs=2, batch_size=16, device="cpu", num_threads=1, progress=False),
    "supertml": dict(image_size=32, epochs=1, batch_size=8, pretrained=False, device="cpu", num_threads=1,
                     progress=False),
}
BACKEND_MODULES = {"torch": ("torch", "timm"), "xgboost": ("xgboost",), "lightgbm": ("lightgbm",), "sklearn": (),
                   "catboost": ("catboost",), "tabm": ("torch", "tabm", "rtdl_num_embeddings"), "realmlp": ("torch", "pytabkit")}


def _package_models() -> list[str]:
    """Registered by the models package itself (tests register throwaway models too)."""
    return [n for n in list_models() if model_entry(n).factory.__module__.startswith("models.")]


def _param(name: str):
    backend = model_info(name).backend
    return pytest.param(name, id=name, marks=getattr(pytest.mark, backend))


NAMES = _package_models() + RESOLVED


def _settings(name: str) -> dict:
    family = "supertml" if name.startswith("supertml-") else name
    return dict(TINY[family], random_state=7)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 5)) * [1.0, 3.0, 0.5, 2.0, 1.0]
    y = (X[:, 0] + 0.3 * X[:, 1] > 0).astype(np.int64)
    w = rng.uniform(0.5, 1.5, 100)
    return X, y, w


@pytest.mark.sklearn
def test_every_registered_model_is_covered():
    assert KNOWN <= set(_package_models()), "a known model is no longer registered"
    assert all(model_info(n).family == "supertml" for n in RESOLVED)


@pytest.mark.parametrize("name", [_param(n) for n in NAMES])
def test_model_conformance(name, data):
    for module in BACKEND_MODULES[model_info(name).backend]:
        pytest.importorskip(module)
    settings = _settings(name)
    validate_model(name, **settings)
    model = create_model(name, **settings)
    params = model.get_params()
    assert all(params[k] is v for k, v in settings.items()), "constructor parameters not stored as given"
    twin = clone(model)
    assert twin is not model and twin.get_params() == params
    with pytest.raises(NotFittedError):
        check_is_fitted(twin)
    assert twin.set_params(**params) is twin and twin.get_params() == params
    assert twin.set_params(random_state=8).get_params()["random_state"] == 8
    twin.set_params(random_state=7)
    assert fit_facts(twin) == FitFacts(info={}, device="cpu", encoder=None)
    if name in NOT_FITTED:
        return

    X, y, w = data
    fit = dict(sample_weight=w[:60], X_val=X[60:80], y_val=y[60:80], w_val=w[60:80])
    proba = model.fit(X[:60], y[:60], **fit).predict_proba(X[80:])
    assert proba.shape == (20, 2) and proba.dtype == np.float64
    assert np.isfinite(proba).all() and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-6)
    check_is_fitted(model)
    with pytest.raises(NotFittedError):
        check_is_fitted(clone(model))
    np.testing.assert_array_equal(model.predict(X[80:]), proba.argmax(1))
    assert isinstance(model.info_, dict)
    facts = fit_facts(model)  # what the harness records: info, device (the model's, else its info's), encoder
    assert facts.info == model.info_ and facts.device == (model.device_ or model.info_.get("device") or "cpu")
    assert facts.encoder is (model.encoder_ if name.startswith("supertml-") else None)
    again = twin.fit(X[:60], y[:60], **fit).predict_proba(X[80:])
    assert np.array_equal(proba, again), "the same random_state gave different probabilities"
