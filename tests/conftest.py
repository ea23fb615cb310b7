from pathlib import Path

import pytest

SHARED_HIGGS = (Path(__file__).resolve().parents[2] / "shared" / "data" / "higgsml"
                / "atlas-higgs-challenge-2014-v2-sample10k.csv.gz")

# What a test needs, declared on the test (a module's pytestmark, a decorator, or a
# pytest.param's marks): "sklearn" for the core only, or each optional backend it uses.
# Each tox environment selects its tests by these markers (pyproject.toml registers them).
BACKENDS = ("sklearn", "xgboost", "lightgbm", "torch")


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
