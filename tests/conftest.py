from pathlib import Path

import pytest

SHARED_HIGGS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "higgsml"
                / "atlas-higgs-challenge-2014-v2-sample10k.csv.gz")

# Backend markers let each tox environment run its own backend's tests (-m torch, ...).
TORCH_MODULES = {"test_fcnn", "test_supertml", "test_perf_train"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        node = item.nodeid.lower()
        if module in TORCH_MODULES or "torch" in item.name.lower():
            item.add_marker(pytest.mark.torch)
        for backend in ("xgboost", "lightgbm"):
            if backend in node:
                item.add_marker(getattr(pytest.mark, backend))


@pytest.fixture
def shared_higgs_path():
    if not SHARED_HIGGS.exists():
        pytest.skip("../shared/data/higgsml sample not present")
    return SHARED_HIGGS
