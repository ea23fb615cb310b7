"""The one way a stored string reaches a report: escaped to text that renders as itself.

Labels, dataset and class names, notes, parameters, paths and manifest fields come from
files anyone may have edited. Put into Markdown as they are, a ``|`` breaks a table, a
newline starts a heading, ``<script>`` or ``[x](javascript:...)`` becomes live once the
report is rendered as HTML. Every string a report prints is therefore either built by
the code as :class:`Markup` (bold verdicts, code spans, links to its own plot files) or
passed through :func:`plain`; the table builder escapes every cell that is not Markup, so
forgetting to escape shows a backslash, never an injection.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import quote


class Markup(str):
    """Markdown the report code made itself: printed as it is."""

    __slots__ = ()


# Every character with a meaning in CommonMark/GFM inline text, HTML or maths; a backslash before
# ASCII punctuation always makes it literal, so this is the whole of the escaping. An underscore
# between two letters or digits can neither open nor close emphasis, so `n_estimators` stays.
_SPECIAL = re.compile(r"[\\`*\[\]<>|&#~$]|(?<![^\W_])_|_(?![^\W_])")
# Line breaks (Unicode's too) and control characters: a stored value never starts a new
# line (a heading, a list, a table row) nor carries terminal escapes.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# A value that can be shown inside a code span unchanged (no backtick, pipe or escape).
_CODE_SAFE = re.compile(r"[^`|\\\x00-\x1f\x7f-\x9f\u2028\u2029]*")


def one_line(value: object) -> str:
    """``value`` as text on a single line: line breaks and control characters made spaces."""
    return _CONTROL.sub(" ", str(value))


def plain(value: object) -> Markup:
    """Any value as Markdown text that renders as exactly that text, and nothing else."""
    if isinstance(value, Markup):
        return value
    return Markup(_SPECIAL.sub(lambda m: "\\" + m.group(0), one_line(value)))


def code(value: object) -> Markup:
    """A stored value shown as code: a code span when it can hold the value unchanged, else
    escaped text (a backtick or pipe inside a code span cannot be made literal everywhere)."""
    text = one_line(value)
    if text and _CODE_SAFE.fullmatch(text) and text.strip() == text:
        return Markup(f"`{text}`")
    return plain(text)


def link(path: object) -> Markup:
    """A link target to one of the run's own files (relative): percent-encoded, so no
    character of it can end the link or name another scheme."""
    rel = PurePosixPath(str(path)).as_posix()
    return Markup(quote(rel, safe="/"))


def image(caption: object, path: object) -> Markup:
    """An embedded plot with its caption as alternative text."""
    return Markup(f"![{plain(caption)}]({link(path)})")
