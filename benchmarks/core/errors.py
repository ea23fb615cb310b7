"""User-facing errors: anything raised as these is printed as one line on stderr."""
from __future__ import annotations

from typing import Iterable

EXCERPT = 60  # characters of a value quoted from a user's file


def printable(text: str) -> str:
    """`text` with every character a terminal would act on (control, escape, bidi override,
    line and paragraph separators) written as its Python escape: what prints is what is there."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def one_line(text: object) -> str:
    """`text` as one printable line: runs of whitespace (newlines too) become one space."""
    return printable(" ".join(str(text).split()))


def excerpt(value: object, limit: int = EXCERPT, quote: bool = True) -> str:
    """A value quoted from a user's file as a message shows it: at most `limit` characters
    (``…`` where cut), unprintable ones escaped, in quotes (repr style) unless `quote` is False.

    A hostile file must not be able to print a screenful, several lines or a terminal escape
    through an error message.
    """
    text = str(value)
    cut = text if len(text) <= limit else text[:limit] + "…"
    return repr(cut) if quote else printable(cut)


def excerpts(values: Iterable[object], limit: int = 8, quote: bool = False) -> str:
    """Values quoted from a file as a comma-separated list: the first `limit`, each an excerpt."""
    values = list(values)
    more = f", ... (+{len(values) - limit} more)" if len(values) > limit else ""
    return ", ".join(excerpt(v, quote=quote) for v in values[:limit]) + more


class BenchmarkError(Exception):
    """A problem the user can fix (bad input, missing file, unknown name).

    The message is one printable line by construction: values quoted from a user's file may
    hold newlines or terminal escapes, and the CLI prints every error as exactly one line.
    """

    def __init__(self, message: object = "") -> None:
        super().__init__(one_line(message))


class DataError(BenchmarkError):
    """Input data that fails validation."""


class ConfigError(BenchmarkError):
    """A suite, option or name that does not make sense."""


class MissingBackendError(BenchmarkError):
    """An optional dependency (torch, xgboost, lightgbm, ...) is not installed."""
