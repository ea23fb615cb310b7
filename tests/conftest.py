import importlib
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import pytest

SHARED_HIGGS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "higgsml"
                / "atlas-higgs-challenge-2014-v2-sample10k.csv.gz")

# What a test needs, declared on the test (a module's pytestmark, a decorator, or a
# pytest.param's marks): "sklearn" for the core only, or each optional backend it uses
# ("ray": the Ray extra; "postgres": a PostgreSQL server and its driver; "reference": the
# published implementations our image methods are checked against).
# Each tox environment selects its tests by these markers (pyproject.toml registers them).
BACKENDS = ("sklearn", "xgboost", "lightgbm", "catboost", "tabm", "realmlp", "torch", "ray", "postgres", "mlflow",
            "reference")


def pytest_collection_modifyitems(config, items):
    undeclared = [item.nodeid for item in items if not any(item.get_closest_marker(b) for b in BACKENDS)]
    if undeclared:
        raise pytest.UsageError(
            f"{len(undeclared)} test(s) declare no backend marker ({', '.join(BACKENDS)}), e.g. {undeclared[0]}")


@pytest.fixture
def shared_higgs_path():
    if not SHARED_HIGGS.exists():
        pytest.skip("../shared/data/higgsml sample not present")
    return SHARED_HIGGS


def need(module: str, extra: str):
    """Import an optional package, or skip with the reason; CI (SUPERTML_REQUIRE_EXTRAS=1)
    fails instead, so that its Ray and PostgreSQL tests can never be skipped silently."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. platformdirs on XDG_RUNTIME_DIR, at pgserver's import
            return importlib.import_module(module)
    except ImportError:
        reason = f"{module} not installed (pip install -e '.[{extra}]')"
        if os.environ.get("SUPERTML_REQUIRE_EXTRAS"):
            pytest.fail(f"SUPERTML_REQUIRE_EXTRAS is set but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def ray_address():
    """One local Ray for the whole test session (starting Ray costs seconds): 2 CPUs, a small
    object store. Yields its address, which subprocess drivers join with --address."""
    ray = need("ray", "ray")
    from benchmarks.executors import start_ray

    started = start_ray(None, num_cpus=2, num_gpus=0, object_store_memory=256 * 2**20)
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server (the pgserver wheel's binaries) on a Unix socket, for the session."""
    pgserver = need("pgserver", "dev")
    need("psycopg", "postgresql")
    root = Path(tempfile.mkdtemp(prefix="supertml-pg-"))
    server = pgserver.get_server(root / "data", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server, request):
    """A fresh database on the session's server, for one test: its URL (no password)."""
    import psycopg

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    with psycopg.connect(postgres_server.get_uri(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server.get_uri(name)
