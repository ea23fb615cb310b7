"""An honest benchmark harness: SuperTML image CNNs against tabular models."""
__version__ = "0.1.0"

_API = ("Run", "compare", "leaderboard", "load_run", "run")


def __getattr__(name: str):
    # ``from benchmarks import run, load_run``: the API (and with it the whole harness) is
    # imported on first use, not by every ``import benchmarks.core...``.
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'benchmarks' has no attribute {name!r}")
