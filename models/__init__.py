"""Models: one registry, one interface (fit / predict_proba), tabular and SuperTML alike."""
from .base import FitFacts, fit_facts
from .weighted import WeightedEnsemble
from .registry import (
    MODELS, ModelInfo, backend_available, create_model, list_models, model_entry, model_info, register_model,
    validate_model,
)

__all__ = ["MODELS", "FitFacts", "ModelInfo", "backend_available", "create_model", "fit_facts", "list_models",
           "model_entry", "model_info",
           "register_model", "validate_model", "WeightedEnsemble"]

# Importing the model modules registers them (torch and the BDT libraries load lazily).
from . import catboost_model, dnn, fcnn, realmlp, supertml, tabm_model, tabular  # noqa: E402,F401
