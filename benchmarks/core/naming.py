"""Names that reach the file system."""
from __future__ import annotations


def safe_name(text: object, keep: str = "-_.") -> str:
    """`text` with every character but letters, digits and `keep` replaced by ``_``.

    Labels, dataset and model names end up in file names; this keeps them inside their
    directory (no ``/``, no ``..`` component survives: dots stay, slashes do not).
    """
    out = "".join(ch if ch.isalnum() or ch in keep else "_" for ch in str(text))
    return "_" + out if out in ("", ".", "..") else out
