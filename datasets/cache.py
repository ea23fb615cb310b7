"""The project's download cache: ``$XDG_CACHE_HOME/supertml-bench/<source>`` (default ~/.cache).

One helper so that every source that downloads (HiggsML, KEEL) honours XDG_CACHE_HOME the
same way; OpenML keeps scikit-learn's own cache, which ``fetch_openml`` reads.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir(source: str) -> Path:
    """``$XDG_CACHE_HOME/supertml-bench/<source>``, or ``~/.cache/supertml-bench/<source>``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "supertml-bench" / source
