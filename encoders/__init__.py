"""Encoders: table rows -> images for SuperTML (fitted on train, pure after fitting)."""
from .registry import ENCODERS, create_encoder, list_encoders, register_encoder

# Importing the encoder modules registers them.
from . import deepinsight, igtd, pixels, refined, tabular_images, text, tinto  # noqa: E402,F401
from .base import ImageEncoder, NotFittedError  # noqa: E402
from .examples import write_examples  # noqa: E402
from .pixels import PixelEncoder  # noqa: E402
from .text import TextEncoder, render_reference  # noqa: E402

__all__ = [
    "ENCODERS", "ImageEncoder", "NotFittedError", "PixelEncoder", "TextEncoder",
    "create_encoder", "list_encoders", "register_encoder", "render_reference", "write_examples",
]
