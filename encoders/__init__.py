"""Encoders: table rows -> images for SuperTML (fitted on train, pure after fitting)."""
from .registry import ENCODERS, create_encoder, list_encoders, register_encoder

__all__ = ["ENCODERS", "create_encoder", "list_encoders", "register_encoder"]
