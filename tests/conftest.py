from pathlib import Path

import pytest

SHARED_HIGGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "higgsml" / "atlas-higgs-challenge-2014-v2-sample10k.csv.gz"


@pytest.fixture
def shared_higgs_path():
    if not SHARED_HIGGS.exists():
        pytest.skip("../shared/data/higgsml sample not present")
    return SHARED_HIGGS
