"""Credentials never leave the process: in files, reports and messages they read ``***``.

A storage URL (``postgresql://user:password@host/db``, ``...?password=...``) reaches the
manifest (the command line, the options), the report and error messages; every one of
those goes through ``redact``.
"""
from __future__ import annotations

import re
from typing import Any

# scheme://user:password@host: the password runs to the LAST "@" before the host (a
# password may contain "@"), and never past a "/" or whitespace.
_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)[^/\s]*@")
_QUERY = re.compile(r"(?i)([?&;\s](?:password|passwd|pwd|pass|secret|token|api_?key)=)[^&;\s]+")
MASK = "***"


def redact(text: str) -> str:
    """`text` with URL passwords and password-like query values replaced by ``***``."""
    text = _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", str(text))
    return _QUERY.sub(lambda m: f"{m.group(1)}{MASK}", text)


def redact_obj(obj: Any) -> Any:
    """``redact`` applied to every string inside nested dicts, lists and tuples."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(redact_obj(v) for v in obj)
    return obj
