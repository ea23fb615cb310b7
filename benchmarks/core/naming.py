"""Names that reach the file system."""
from __future__ import annotations

import hashlib
import re
from typing import Iterable

from .errors import ConfigError, excerpt

MAX_READABLE = 80  # characters of a name kept readable in a file name; longer ones are cut and hashed
SHOWN = 300  # characters of a name a refusal shows: enough for the two paths it must tell apart
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")  # runs of anything else, "_" included, become one "_"


def safe_name(text: object, keep: str = "-_.") -> str:
    """`text` with every character but letters, digits and `keep` replaced by ``_``.

    Labels, dataset and model names end up in file names; this keeps them inside their
    directory (no ``/``, no ``..`` component survives: dots stay, slashes do not). Two names
    may give the same result: where a file stands for a dataset or a model, use :func:`file_name`.
    """
    out = "".join(ch if ch.isalnum() or ch in keep else "_" for ch in str(text))
    return "_" + out if out in ("", ".", "..") else out


def file_name(name: object) -> str:
    """The file-name part that stands for a dataset, model label or metric: distinct names
    give distinct parts, so no two of them ever share (overwrite) a file.

    A name of ASCII letters, digits, ``-``, ``_`` and ``.`` (no ``__``, not starting or ending
    with ``_`` or ``.``, at most MAX_READABLE characters) is its own file name, as before.
    Any other keeps a readable cleaned form, then ``~`` and a hash of the whole name: ``~``
    never occurs in a kept name, so a hashed one cannot equal a kept one. As no part holds
    ``__`` or starts or ends with ``_``, parts joined by ``__`` (a record's predictions file)
    can be split back in one way only.
    """
    text = str(name)
    readable = _UNSAFE.sub("_", text).strip("_.")[:MAX_READABLE].rstrip("_.")
    if readable == text and text:
        return text
    return f"{readable}~{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:10]}"


def refuse_shared_files(what: str, names: Iterable[tuple[str, str]], hint: str = "") -> None:
    """One ConfigError line naming the first two of `names` that would share a file.

    `names` holds (what the user wrote, the name it gets): two entries with the same name, or
    names whose file names differ only in letter case (one file where the file system ignores
    case, as macOS and Windows do by default), are refused.
    """
    seen: dict[str, tuple[str, str]] = {}
    for given, name in names:
        key = file_name(name).lower()
        if key not in seen:
            seen[key] = (given, name)
            continue
        other_given, other = seen[key]
        both = f"{what} {excerpt(other_given, SHOWN)} and {excerpt(given, SHOWN)}"
        why = (f"are both named {excerpt(name, SHOWN)}" if name == other else
               "differ only in letter case" if (other_given, given) == (other, name) else
               f"are named {excerpt(other, SHOWN)} and {excerpt(name, SHOWN)}, which differ only in letter case")
        raise ConfigError(f"{both} {why}; their results would share one file{hint}")
