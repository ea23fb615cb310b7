"""Whether a host answers, so that offline machines fall back at once instead of waiting
through a library's download retries and timeouts."""
from __future__ import annotations

import os
import socket
from urllib.parse import urlparse


def reachable(url: str, timeout: float) -> bool:
    """A TCP connect to ``url``'s host, or to the HTTPS proxy when one is set (the proxy is
    what a download would talk to)."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    target = urlparse(proxy or url)
    host, port = target.hostname, target.port or (443 if target.scheme == "https" else 80)
    if not host:
        return False
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
