"""The one reachability check that the OpenML loader and SuperTML's weights share."""
from __future__ import annotations

import socket

import pytest

from benchmarks.core import network

pytestmark = pytest.mark.sklearn


@pytest.fixture
def listening():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


def test_a_listening_host_is_reachable_and_a_closed_port_is_not(listening, monkeypatch):
    monkeypatch.delenv("HTTPS_PROXY", raising=False)
    monkeypatch.delenv("https_proxy", raising=False)
    assert network.reachable(f"http://127.0.0.1:{listening}/x", 1.0)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    assert not network.reachable(f"http://127.0.0.1:{port}/x", 1.0)
    assert not network.reachable("not a url", 1.0)


def test_the_proxy_is_what_is_tried(listening, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{listening}")
    assert network.reachable("https://host.invalid/", 1.0)  # only the proxy is contacted
