import numpy as np
import pandas as pd
import pytest

from benchmarks.core.errors import ConfigError, DataError
from datasets import list_datasets, load_dataset

pytestmark = pytest.mark.sklearn


def test_bundled_tables():
    iris, wine = load_dataset("iris"), load_dataset("wine")
    assert iris.X.shape == (150, 4) and iris.n_classes == 3
    assert wine.X.shape == (178, 13) and wine.n_classes == 3
    assert {"iris", "wine", "csv"} <= set(list_datasets())


def test_unknown_dataset_suggests():
    with pytest.raises(ConfigError, match="did you mean iris"):
        load_dataset("irsi")


def _write(tmp_path, df):
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    return str(path)


def test_csv_binary_and_multiclass(tmp_path):
    df = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [0.5, 0.1, 0.2, 0.3], "label": ["x", "y", "x", "z"], "w": [1, 2, 3, 4]})
    ds = load_dataset(f"csv:{_write(tmp_path, df)}", target="label", weight="w")
    assert ds.feature_names == ("a", "b")
    assert ds.class_names == ("x", "y", "z") and ds.y.tolist() == [0, 1, 0, 2]
    assert ds.weights.tolist() == [1, 2, 3, 4]


@pytest.mark.parametrize("df, kw, message", [
    (pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1]}), {"target": "label"}, "target column 'label' not found"),
    (pd.DataFrame({"a": ["u", "v"], "y": [0, 1]}), {"target": "y"}, "non-numeric feature columns: a"),
    (pd.DataFrame({"a": [1.0, np.nan], "y": [0, 1]}), {"target": "y"}, "NaN"),
    (pd.DataFrame({"a": [1.0, 2.0], "y": [1, 1]}), {"target": "y"}, "single class"),
    (pd.DataFrame({"a": [1.0, 2.0], "y": [0, 1], "w": [1.0, -1.0]}), {"target": "y", "weight": "w"}, "non-negative"),
])
def test_csv_errors(tmp_path, df, kw, message):
    with pytest.raises(DataError, match=message):
        load_dataset(f"csv:{_write(tmp_path, df)}", **kw)


def test_csv_missing_file_and_target(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_dataset(f"csv:{tmp_path / 'nope.csv'}", target="y")
    with pytest.raises(DataError, match="--target"):
        load_dataset(f"csv:{tmp_path / 'nope.csv'}")
