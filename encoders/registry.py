"""Encoder registry: ``register_encoder``, ``create_encoder(name, **kw)``, ``list_encoders``.

An encoder turns a float batch (n_events, n_features) into images (n, C, H, W). It is
fitted on the training split only (``fit(X, y, sample_weight=None, feature_names=None)``)
and is a pure function of its input after fitting (``transform(X)`` for numpy arrays,
``transform_torch(tensor)`` for torch tensors on any device).
"""
from __future__ import annotations

from benchmarks.core.registry import Registry

ENCODERS = Registry("encoder")
register_encoder = ENCODERS.register


def create_encoder(name: str, **kwargs):
    return ENCODERS.create(name, **kwargs)


def list_encoders() -> list[str]:
    return ENCODERS.names()
