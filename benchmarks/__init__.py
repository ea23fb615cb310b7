"""An honest benchmark harness: SuperTML image CNNs against tabular models."""
__version__ = "0.1.0"
