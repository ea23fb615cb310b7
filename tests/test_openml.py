"""OpenML tables (datasets/openml.py), read from a fixture written into a temporary cache.

The fixture is a small ARFF table with OpenML's JSON metadata, gzipped into the layout
scikit-learn's ``fetch_openml`` reads (``<data_home>/openml/openml.org/<URL path>.gz``).
Every test runs with the network cut (any socket connect fails the test), so nothing here
can download.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import socket
from pathlib import Path

import numpy as np
import pytest

from benchmarks.core.errors import BenchmarkError, ConfigError, DataError
from datasets import DATASETS, load_dataset, make_splits
from datasets import openml as om

pytestmark = pytest.mark.sklearn

DATA_ID = 90001
ROWS = [  # rid, age, workclass, hours, note, class
    (i, 20 + i, ("Private", "Gov", "Self-emp", None)[i % 4], None if i % 7 == 3 else 30.0 + (i % 5),
     f"row {i}", ">50K" if i % 2 else "<=50K")
    for i in range(40)
]


def _feature(index: int, name: str, kind: str, *, values=None, target=False, row_id=False, missing=0) -> dict:
    f = {"index": str(index), "name": name, "data_type": kind, "is_target": str(target).lower(),
         "is_ignore": "false", "is_row_identifier": str(row_id).lower(), "number_of_missing_values": str(missing)}
    if values is not None:
        f["nominal_value"] = values
    return f


FEATURES = [
    _feature(0, "rid", "numeric", row_id=True),
    _feature(1, "age", "numeric"),
    # Declared order differs from the sorted one: codes must follow OpenML's order.
    _feature(2, "workclass", "nominal", values=["Private", "Self-emp", "Gov"], missing=10),
    _feature(3, "hours", "numeric", missing=6),
    _feature(4, "note", "string"),
    # A declared class without rows: left out of the class names.
    _feature(5, "class", "nominal", values=[">50K", "<=50K", "unused"], target=True),
]


def _arff(rows=ROWS) -> str:
    def cell(v):
        if v is None:
            return "?"
        return f"'{v}'" if isinstance(v, str) else str(v)

    head = ["@RELATION adult-mini", "@ATTRIBUTE rid NUMERIC", "@ATTRIBUTE age NUMERIC",
            "@ATTRIBUTE workclass {Private,Self-emp,Gov}", "@ATTRIBUTE hours NUMERIC", "@ATTRIBUTE note STRING",
            "@ATTRIBUTE class {'>50K','<=50K',unused}", "@DATA"]
    return "\n".join(head + [",".join(cell(v) for v in r) for r in rows]) + "\n"


def _gz_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(obj, fh)


def write_openml_cache(data_home: Path, data_id: int = DATA_ID, arff: str | None = None,
                       features=FEATURES, name: str = "adult-mini") -> Path:
    """Write one OpenML data set into scikit-learn's cache layout under ``data_home``; returns
    the cached ARFF file."""
    arff = _arff() if arff is None else arff
    root = data_home / "openml" / "openml.org"
    url = f"https://api.openml.org/data/v1/download/{data_id * 10}/{name}.arff"
    desc = {"id": str(data_id), "name": name, "version": "1", "format": "ARFF", "url": url,
            "file_id": str(data_id * 10), "default_target_attribute": "class", "status": "active",
            "md5_checksum": hashlib.md5(arff.encode()).hexdigest(), "description": "test fixture"}
    _gz_json(root / f"api/v1/json/data/{data_id}.gz", {"data_set_description": desc})
    _gz_json(root / f"api/v1/json/data/features/{data_id}.gz", {"data_features": {"feature": features}})
    n_rows = sum(1 for line in arff.splitlines() if line and not line.startswith("@"))
    _gz_json(root / f"api/v1/json/data/qualities/{data_id}.gz", {"data_qualities": {"quality": [
        {"name": "NumberOfInstances", "value": f"{n_rows}.0"},
        {"name": "NumberOfFeatures", "value": f"{len(features)}.0"}]}})
    data = root / f"data/v1/download/{data_id * 10}/{name}.arff.gz"
    data.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(data, "wt", encoding="utf-8") as fh:
        fh.write(arff)
    return data


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test (and OpenML counts as unreachable)."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to reach the network: {args[:2]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(om, "reachable", lambda *a, **k: False)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    write_openml_cache(tmp_path)
    return tmp_path


def test_cached_table_loads_with_openml_metadata(cache):
    ds = load_dataset(f"openml:{DATA_ID}")
    assert ds.name == f"adult-mini-{DATA_ID}"
    # The row identifier is not a feature; the string column is dropped (and said so).
    assert ds.feature_names == ("age", "workclass", "hours")
    assert any("Text columns dropped" in n and "note" in n for n in ds.notes)
    assert ds.categorical == ("workclass",)
    # Class names in OpenML's declared order; the class without rows is left out.
    assert ds.class_names == (">50K", "<=50K")
    assert any("unused" in n for n in ds.notes)
    expected_y = [1 if r[5] == "<=50K" else 0 for r in ROWS]
    assert ds.y.tolist() == expected_y
    # Category codes follow the declared order (Private, Self-emp, Gov); missing is its own code 3.
    code = {"Private": 0, "Self-emp": 1, "Gov": 2, None: 3}
    assert ds.X[:, 1].tolist() == [code[r[2]] for r in ROWS]
    # Numeric missing entries carry the marker, the rest their values.
    hours = ds.X[:, 2]
    missing = np.array([r[3] is None for r in ROWS])
    assert ds.missing_value == -999.0
    assert (hours[missing] == -999.0).all() and hours[~missing].tolist() == [r[3] for r in ROWS if r[3] is not None]
    assert ds.X[:, 0].tolist() == [r[1] for r in ROWS]
    assert "https://www.openml.org/d/90001" in ds.source
    assert any("categorical" in n.lower() and "ordinal" in n for n in ds.notes)


def test_colon_name_and_suite_options_load_the_same_table(cache):
    a = load_dataset(f"openml:{DATA_ID}")
    b = load_dataset("openml", id=DATA_ID)
    c = load_dataset("openml", id=str(DATA_ID), data_home=str(cache))
    assert a.fingerprint() == b.fingerprint() == c.fingerprint()


def test_splits_use_the_usual_policy(cache):
    ds = load_dataset(f"openml:{DATA_ID}")
    splits = make_splits(ds, seed=3)
    search = make_splits(ds, seed=3, search="fold")
    assert splits.categorical == ("workclass",) and splits.missing_value == -999.0
    assert not set(splits.test("test").ids) & (set(search.train.ids) | set(search.val.ids))


def test_uncached_and_offline_is_one_line_naming_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    with pytest.raises(DataError) as info:
        load_dataset("openml:1590")
    msg = str(info.value)
    assert "\n" not in msg
    assert "openml:1590" in msg and "python -m benchmarks fetch openml:1590" in msg
    assert str(tmp_path / "openml") in msg and "cannot be reached" in msg


def test_download_false_refuses_without_trying(tmp_path):
    with pytest.raises(DataError, match="download=false"):
        load_dataset("openml", id=1590, data_home=str(tmp_path), download=False)


def test_a_missing_data_file_is_not_cached(cache):
    next((cache / "openml" / "openml.org" / "data").rglob("*.arff.gz")).unlink()
    with pytest.raises(DataError, match="not in the OpenML cache"):
        load_dataset(f"openml:{DATA_ID}")


def test_a_corrupt_cached_file_is_named_without_a_download(cache):
    data = next((cache / "openml" / "openml.org" / "data").rglob("*.arff.gz"))
    with gzip.open(data, "wt", encoding="utf-8") as fh:
        fh.write(_arff()[:-40] + "\n")
    with pytest.raises(DataError, match="checksum") as info:
        load_dataset(f"openml:{DATA_ID}")
    assert "--force" in str(info.value)
    (cache / "openml" / "openml.org" / f"api/v1/json/data/{DATA_ID}.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="unreadable"):
        load_dataset(f"openml:{DATA_ID}")


def test_a_regression_target_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    features = [_feature(0, "x", "numeric"), _feature(1, "y", "numeric", target=True)]
    arff = "@RELATION r\n@ATTRIBUTE x NUMERIC\n@ATTRIBUTE y NUMERIC\n@DATA\n" + "".join(
        f"{i},{i * 0.5}\n" for i in range(10))
    write_openml_cache(tmp_path, 90002, arff, features, name="reg")
    with pytest.raises(DataError, match="not nominal"):
        load_dataset("openml:90002")


@pytest.mark.parametrize("name", ["openml:abc", "openml:0", "openml:-3", "openml:"])
def test_bad_ids_are_config_errors(name):
    with pytest.raises(ConfigError):
        load_dataset(name)
    with pytest.raises(ConfigError):
        load_dataset("openml")  # no id at all


def test_fetch_is_tagged_and_returns_the_cache_without_downloading_a_cached_table(cache):
    entry = DATASETS.get(f"openml:{DATA_ID}")
    assert entry.tags["fetch"](None) == cache / "openml"


def test_fetch_force_removes_the_cached_files_first(cache):
    # Offline: the forced download cannot happen, and the stale files are gone.
    with pytest.raises(DataError, match="cannot be reached"):
        om.fetch(str(cache), force=True, data_id=DATA_ID)
    assert om.cache_files(DATA_ID, cache / "openml")[0] == []


def test_metric_option_and_its_check(cache):
    assert load_dataset(f"openml:{DATA_ID}", metric="roc-auc").metric == "roc-auc"
    with pytest.raises(BenchmarkError):
        load_dataset(f"openml:{DATA_ID}", metric="roc-auk")


def test_missing_marker_avoids_real_values():
    X = np.array([[-999.0, 1.0], [np.nan, 2.0]])
    assert om.missing_marker(X) == -9999.0
    assert om.missing_marker(np.array([[1.0, np.nan]])) == -999.0


def test_fetch_dataset_names_what_has_nothing_to_download(cache):
    from datasets import fetch_dataset

    assert fetch_dataset(f"openml:{DATA_ID}") == cache / "openml"
    assert fetch_dataset("openml", id=DATA_ID) == cache / "openml"
    with pytest.raises(ConfigError, match="nothing to download"):
        fetch_dataset("iris")
    with pytest.raises(ConfigError, match="needs a data set id"):
        fetch_dataset("openml")
