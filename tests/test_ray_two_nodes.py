"""A real two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``: a head and a
second node, each its own raylet and object store, one CPU each), driven as a user drives one:
``run --executor ray --address HEAD`` from a separate driver process.

What it shows: the fits spread over both nodes (each record names the node that ran it), the
run directory is written by the driver alone, killing the second node in the middle of the run
loses nothing (Ray re-runs the fits it held on the head; the run completes without a failure),
and every record equals a local run's, bit for bit (fixed threads).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks import store
from benchmarks.cli import main

pytestmark = pytest.mark.ray

ROOT = Path(__file__).resolve().parents[1]
VOLATILE = {"timing", "executor", "node", "node_id", "gpu_ids"}  # where and how fast: the rest must match
SUITE = """name = "two-nodes"
[[datasets]]
name = "iris"
repeats = 4
[[models]]
name = "random-forest"
params = { n_estimators = 1500 }  # about a second a fit: the second node is busy when it dies
[[models]]
name = "random-forest"
label = "rf-small"
params = { n_estimators = 600 }
"""


@pytest.fixture
def two_nodes():
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    store_bytes = 100 * 2**20
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "num_gpus": 0,
                                                            "object_store_memory": store_bytes})
    try:
        second = cluster.add_node(num_cpus=1, num_gpus=0, object_store_memory=store_bytes)
        cluster.wait_for_nodes()
        yield cluster, second
    finally:
        cluster.shutdown()
    assert ray  # imported for the skip


def _records(out: Path) -> list[dict]:
    return json.loads((out / store.RESULTS).read_text())["records"]


def test_a_suite_spreads_over_two_nodes_and_survives_losing_one(two_nodes, tmp_path):
    cluster, second = two_nodes
    suite = tmp_path / "s.toml"
    suite.write_text(SUITE)
    out = tmp_path / "ray"
    driver = subprocess.Popen([sys.executable, "-m", "benchmarks", "run", "--suite", str(suite), "--executor", "ray",
                               "--address", cluster.address, "--threads", "1", "--out", str(out), "--quiet"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    before, deadline = [], time.monotonic() + 240
    while driver.poll() is None and time.monotonic() < deadline:  # kill the second node after two fits
        time.sleep(0.1)
        try:
            before = _records(out)
        except (OSError, ValueError, KeyError):  # not written yet, or being replaced
            continue
        if len(before) >= 2:
            cluster.remove_node(second, allow_graceful=False)
            break
    _, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, err[-3000:]
    assert 2 <= len(before) < 8, "the second node must die in the middle of the run"
    results = json.loads((out / store.RESULTS).read_text())
    ray_records = results["records"]
    assert len(ray_records) == 8 and not results["failures"], "a fit was lost with the node"
    nodes = {r["node_id"] for r in ray_records}
    assert len(nodes) == 2 and all(r["executor"] == "ray" for r in ray_records), "the fits did not spread"
    assert second.node_id in nodes, "no record names the second node"
    late = [r for r in ray_records if r["node_id"] == second.node_id]
    assert len(late) < 8

    local = tmp_path / "local"
    assert main(["run", "--suite", str(suite), "--threads", "1", "--out", str(local), "--quiet"]) == 0
    by_key = {(r["model"], r["seed"], r["control"]): r for r in _records(local)}
    for rec in ray_records:
        twin = by_key[(rec["model"], rec["seed"], rec["control"])]
        assert {k: v for k, v in rec.items() if k not in VOLATILE} == {k: v for k, v in twin.items() if k not in VOLATILE}
        pa, pb = store._load_npz(out / rec["predictions"], None), store._load_npz(local / twin["predictions"], None)
        assert pa.keys() == pb.keys() and all(np.array_equal(pa[k], pb[k]) for k in pa)
