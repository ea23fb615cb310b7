"""CSV tables read one way: the header as the file writes it, checked before pandas renames anything.

pandas silently renames a repeated column (the second ``y`` becomes ``y.1``), which then
reads as a feature: a copy of the label among the features scores 100%. Every CSV reader
goes through :func:`read_csv`, which checks the file's raw header row first.
"""
from __future__ import annotations

import warnings
import zlib
from collections import Counter
from pathlib import Path
from typing import Iterable

import pandas as pd

from .errors import DataError, excerpt, excerpts

# What a corrupt, truncated or non-text file raises inside pandas (a bad .gz among them).
READ_ERRORS = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError,
               zlib.error, ValueError)


def check_columns(names: Iterable[object], where: str) -> None:
    """One DataError line unless every column name says which column it is.

    Refused: a name used twice; a blank name (an index written with the table); names that
    differ only in white space (``y`` and ``y ``: one would be the target, the other a
    feature); and ``NAME.N`` beside ``NAME``, which is how pandas renames a repeated column
    (a file saved from such a frame holds the copy under that name).
    """
    names = [str(n) for n in names]
    repeated = [n for n, k in Counter(names).items() if k > 1]
    if repeated:
        raise DataError(f"{where}: column name(s) {excerpts(repeated, quote=True)} used more than once; "
                        "give every column its own name")
    blank = next((i for i, n in enumerate(names) if not n.strip()), None)
    if blank is not None:
        raise DataError(f"{where}: column {blank + 1} has no name (an index saved with the table?); name it or drop it")
    spaced: dict[str, str] = {}
    for n in names:
        other = spaced.setdefault(" ".join(n.split()), n)
        if other != n:
            raise DataError(f"{where}: columns {excerpt(other)} and {excerpt(n)} differ only in white space; rename one")
    present = set(names)
    for n in names:
        base, dot, number = n.rpartition(".")
        if dot and number.isdigit() and base in present:
            raise DataError(f"{where}: column {excerpt(n)} is named like pandas' copy of a repeated column "
                            f"{excerpt(base)}; rename it")


def read_csv(path: Path, what: str, **kwargs) -> pd.DataFrame:
    """The CSV (plain or compressed) at `path` as a DataFrame, its header checked by
    :func:`check_columns` as the file writes it; any failure is one DataError line."""
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, compression="infer")
        check_columns(header.iloc[0].tolist() if len(header) else [], f"{what} {path}")
        with warnings.catch_warnings():
            # Rows with more fields than the header: pandas would make the first column the
            # index and shift every name by one column (the label among them), without a word.
            # With index_col=False it warns instead, and the warning is the refusal.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            return pd.read_csv(path, compression="infer", index_col=False, **kwargs)
    except pd.errors.ParserWarning:
        raise DataError(f"cannot read {what} {path}: its rows have more fields than its header "
                        f"({header.shape[1]} names); every column would shift") from None
    except READ_ERRORS as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DataError(f"cannot read {what} {path}: {excerpt(first, 120, quote=False)}") from None
