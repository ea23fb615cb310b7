"""Ray's side of a run, as a hostile or careless user meets it: ``--address`` at a port where
something that is not Ray listens ends in seconds with one line (Ray itself hangs for minutes
and prints pages of C++ warnings), and a run that starts its own Ray prints nothing of Ray's own notes.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]
BASE = ["-m", "benchmarks", "run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet",
        "--executor", "ray"]


def _listener(reply: bytes | None) -> tuple[socket.socket, int]:
    """A TCP server on a free port that answers every connection with ``reply`` (None: never answers)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:  # closed at the end of the test
                return
            if reply is None:
                continue  # keep it open, say nothing
            conn.recv(64)
            conn.sendall(reply)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return srv, srv.getsockname()[1]


@pytest.mark.parametrize("kind, reply", [
    ("an HTTP server", b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"),
    ("a server that says nothing", None),
    ("a server that hangs up", b""),
])
def test_an_address_where_ray_does_not_listen_is_one_line_in_seconds(kind, reply, tmp_path):
    srv, port = _listener(reply)
    out = tmp_path / "o"
    t0 = time.monotonic()
    try:
        res = subprocess.run([sys.executable, *BASE, "--address", f"127.0.0.1:{port}", "--out", str(out)],
                             cwd=ROOT, capture_output=True, text=True, timeout=90)
    finally:
        srv.close()
    took = time.monotonic() - t0
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2, res.stderr[-2000:]
    assert len(lines) == 1 and f"127.0.0.1:{port} is not a Ray cluster" in lines[0], lines
    assert took < 45 and not out.exists()


def test_a_run_that_starts_its_own_ray_prints_none_of_rays_notes(tmp_path):
    """Ray notes that token authentication is on whenever it starts a local instance."""
    res = subprocess.run([sys.executable, *BASE, "--threads", "1", "--out", str(tmp_path / "o")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Token authentication" not in res.stderr and "WARNING" not in res.stderr, res.stderr[-2000:]
