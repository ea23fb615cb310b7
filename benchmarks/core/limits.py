"""Sane bounds, checked before any work or allocation: a typo must not exhaust the machine.

Every count, size and seed that reaches the harness from a user (command line, suite file,
loader option) goes through these checks, and a value outside its bound is a one-line
ConfigError naming it.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import ConfigError, DataError
from .params import is_whole, within

MAX_SEEDS = 1000  # repeats of split + train + evaluate
MAX_SEED = 2**31 - 1  # numpy and torch seeds; base_seed + repeats must stay below it
MAX_EVENTS = 10**9
MAX_IMAGE_SIZE = 2048  # pixels per side of a SuperTML image
MAX_EXAMPLES = 10_000  # example images written by `encode`
MAX_ABS_VALUE = 1e100  # features and weights: squares and sums must stay finite in float64
MAX_SUITE_BYTES = 1 << 20
GZIP_RATIO = 8  # a gzipped table is taken to inflate this much in memory (HiggsML: ~7x)


def integer(value: object, where: str, low: int, high: int) -> int:
    """`value` as an int within [low, high]; booleans and non-integral floats are errors.

    The same tests as the parameters' rules (``params.integer``), except that an integral
    float (what a TOML or JSON file may hold) counts as an integer here.
    """
    if not is_whole(value):
        raise ConfigError(f"{where} must be an integer, got {value!r}")
    if not within(int(value), low, high):
        raise ConfigError(f"{where} must be between {low} and {high}, got {int(value)}")
    return int(value)


def memory_bytes() -> int | None:
    """Physical memory of this machine, where the OS tells."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_table_file(path: Path, what: str) -> Path:
    """A table file that exists, is a regular file and fits in memory once loaded."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found: {path}")
    if not path.is_file():
        raise DataError(f"{what} is not a regular file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise DataError(f"{what} is empty: {path}")
    inflated = size * (GZIP_RATIO if path.suffix == ".gz" else 1)
    memory = memory_bytes()
    # pandas needs several times the text's size while parsing; half of memory is generous.
    if memory is not None and inflated * 2 > memory:
        raise DataError(f"{what} {path} ({size / 1e9:.1f} GB) is too large to load on this machine "
                        f"({memory / 1e9:.0f} GB of memory)")
    return path
