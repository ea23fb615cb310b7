"""Model registry: ``register_model``, ``create_model(name, **kw)``, ``list_models``.

Every model follows one interface (scikit-learn style, plain constructor parameters)::

    fit(X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None)
    predict_proba(X) -> (n, n_classes)

Models are scikit-learn estimators (``get_params``/``set_params``/``clone``) whose parameters
are checked when ``fit`` starts; ``validate_model(name, **params)`` runs the same checks
without training, so a run can reject bad parameters before it trains anything.

``epoch_callback(epoch, proba_val)`` is called by iterative models after each epoch with
validation probabilities; it may raise to stop training (Optuna pruning). A registration's
keywords become the model's typed ``ModelInfo`` (``model_info(name)``; models/info.py),
checked when it is registered: which optional backend it needs (``backend``), whether it
accepts a ``device`` argument, the model family (``tabular``, ``dnn``, ``supertml``), the
constructor parameter that sets its CPU threads (``threads_param``), which facts of the data
the harness passes it (``data_facts``: any of ``feature_names``, ``missing_value``,
``categorical_features``, ``augmentation``), its Optuna space (``search_space(trial) -> dict``,
define-by-run) and what a report needs to place it (``report_facts``).
"""
from __future__ import annotations

import importlib.util
from typing import Any, Callable, Mapping

from benchmarks.core.errors import ConfigError, MissingBackendError
from benchmarks.core.registry import Entry, Registry

from .info import ModelInfo

MODELS = Registry("model", meta=ModelInfo)

BACKEND_MODULES = {"sklearn": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm", "torch": "torch",
                   "catboost": "catboost", "tabm": "tabm", "realmlp": "pytabkit"}


def register_model(
    name: str | None = None,
    *,
    backend: str = "sklearn",
    family: str = "tabular",
    accepts_device: bool = False,
    search_space: Callable[[Any], dict] | None = None,
    data_facts: tuple[str, ...] = (),
    description: str = "",
    threads_param: str | None = None,
    report_facts: Mapping[str, Any] | None = None,
):
    """Register a model factory; the keywords become its ModelInfo (a bad one: ValueError, now)."""
    return MODELS.register(
        name,
        description=description,
        backend=backend,
        family=family,
        accepts_device=accepts_device,
        threads_param=threads_param,
        search_space=search_space,
        data_facts=tuple(data_facts),
        report_facts=report_facts,
    )


def backend_available(backend: str) -> bool:
    module = BACKEND_MODULES.get(backend, backend)
    return importlib.util.find_spec(module) is not None


def model_entry(name: str) -> Entry:
    return MODELS.get(name)


def model_info(name: str) -> ModelInfo:
    """The typed registration of model ``name`` (a registered or a resolver-made name)."""
    return _info(MODELS.get(name))


def _info(entry: Entry) -> ModelInfo:
    if not isinstance(entry.meta, ModelInfo):  # a resolver that built its Entry by hand, with tags
        raise TypeError(f"model {entry.name!r} has no ModelInfo; build its Entry with MODELS.make_entry")
    return entry.meta


def create_model(name: str, **kwargs: Any):
    """An unfitted model. Parameter values are checked by ``fit`` (and ``validate_model``),
    not here; only an unknown keyword of a model without library extras is an error."""
    entry = MODELS.get(name)
    info = _info(entry)
    backend = info.backend
    if not backend_available(backend):
        raise MissingBackendError(
            f"model {name!r} needs {backend}; install it with: pip install '.[{backend}]'"
        )
    if not info.accepts_device:
        kwargs.pop("device", None)
    try:
        return entry.factory(**kwargs)
    except (TypeError, ValueError) as exc:  # an unknown keyword or a bad value in a suite's params
        raise ConfigError(f"model {name!r}: {exc}") from None


def validate_model(name: str, **params: Any) -> None:
    """Raise the one-line ConfigError (or MissingBackendError) that fitting ``name`` with
    ``params`` would raise for a bad or unknown parameter, without training anything."""
    model = create_model(name, **params)
    check = getattr(model, "check_params", None)
    if check is not None:
        check()


def list_models(backend: str | None = None, family: str | None = None) -> list[str]:
    return [
        e.name
        for e in MODELS
        if (backend is None or e.meta.backend == backend)
        and (family is None or e.meta.family == family)
    ]
