"""``python -m benchmarks fetch``: higgsml and openml:ID through the dataset registry, with the
network cut (as in test_openml.py), so every case here is one that needs no download."""
from __future__ import annotations

import os
import time

import pytest
from test_openml import DATA_ID, no_network, write_openml_cache  # noqa: F401 - no_network is autouse

from benchmarks.cli import main
from datasets import dataset_cached
from datasets import higgsml as hg
from datasets import openml as om

pytestmark = pytest.mark.sklearn


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sk"))
    write_openml_cache(tmp_path / "sk")
    return tmp_path / "sk"


def _mtimes(root):
    return {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_fetch_of_a_cached_openml_id_downloads_nothing_and_says_so(cache, monkeypatch, capsys):
    before = _mtimes(cache)
    assert main(["fetch", f"openml:{DATA_ID}"]) == 0
    out = _one_line(capsys.readouterr().out)
    assert f"openml:{DATA_ID}" in out and "already in the cache" in out and str(cache / "openml") in out
    assert _mtimes(cache) == before
    # --dest names the data home, as SCIKIT_LEARN_DATA does.
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(cache.parent / "elsewhere"))
    assert main(["fetch", f"openml:{DATA_ID}", "--dest", str(cache)]) == 0
    assert "already in the cache" in capsys.readouterr().out


def test_fetch_of_an_uncached_openml_id_offline_is_one_line_and_status_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    assert main(["fetch", "openml:1590"]) == 2
    captured = capsys.readouterr()
    err = _one_line(captured.err)
    assert captured.out == ""
    assert err.startswith("error: ") and "openml:1590" in err and "cannot be reached" in err
    assert not list(tmp_path.rglob("*.arff*"))


def test_fetch_force_offline_fails_after_removing_the_stale_files(cache, capsys):
    assert main(["fetch", f"openml:{DATA_ID}", "--force"]) == 2
    assert "cannot be reached" in _one_line(capsys.readouterr().err)
    assert om.cache_files(DATA_ID, cache / "openml")[0] == []


@pytest.mark.parametrize("name, phrase", [
    ("iris", "nothing to download"),          # bundled
    ("csv", "nothing to download"),           # a local file
    ("higs", "did you mean higgsml"),         # a typo: the registry's suggestions
    ("openml", "needs a data set id"),
    ("openml:abc", "must be an integer"),
])
def test_fetch_of_what_cannot_be_fetched_is_one_line_and_status_2(name, phrase, capsys):
    assert main(["fetch", name]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and phrase in _one_line(captured.err)


def test_fetch_of_a_cached_higgsml_file_downloads_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = hg.cache_dir() / hg.FILENAME
    target.parent.mkdir(parents=True)
    target.write_bytes(b"already here")
    stamp = time.time_ns() - 10**9
    os.utime(target, ns=(stamp, stamp))
    assert dataset_cached("higgsml") and not dataset_cached("higgsml", tmp_path / "empty")
    assert main(["fetch", "higgsml"]) == 0
    out = _one_line(capsys.readouterr().out)
    assert "higgsml is already in the cache" in out and str(target) in out
    assert target.read_bytes() == b"already here" and target.stat().st_mtime_ns == stamp


def test_fetch_help_names_both_kinds_of_dataset(capsys):
    assert main(["fetch", "--help"]) == 0
    text = capsys.readouterr().out
    assert "higgsml" in text and "openml:ID" in text and "SCIKIT_LEARN_DATA" in text
    assert "invalid choice" not in text
