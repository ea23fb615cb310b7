"""HiggsML data: loader, validation, source resolution, fetch, toy generator, splits."""
from __future__ import annotations

import gzip
import http.server
import socket
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.core.errors import DataError
from datasets import make_splits
from datasets.higgsml import (
    BACKGROUND_TOTAL, COLUMNS, FEATURES, FILENAME, SIGNAL_TOTAL, cache_dir, fetch, higgsml,
    higgsml_dataset, read_higgsml, resolve_source,
)
from datasets.higgsml_toy import KAGGLE_SET_COUNTS, make_higgsml_toy, write_higgsml_toy
from datasets.registry import load_dataset

pytestmark = pytest.mark.sklearn

TOTALS = {1: SIGNAL_TOTAL, 0: BACKGROUND_TOTAL}
JET_FEATURES_2 = [
    "DER_deltaeta_jet_jet", "DER_mass_jet_jet", "DER_prodeta_jet_jet", "DER_lep_eta_centrality",
    "PRI_jet_subleading_pt", "PRI_jet_subleading_eta", "PRI_jet_subleading_phi",
]
JET_FEATURES_1 = ["PRI_jet_leading_pt", "PRI_jet_leading_eta", "PRI_jet_leading_phi"]


@pytest.fixture(scope="module")
def toy() -> pd.DataFrame:
    return make_higgsml_toy(n_events=3000, seed=7)


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False)
    return path


# ---------------------------------------------------------------- loader


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_loader_reads_toy_file_in_cern_format(tmp_path, suffix):
    path = write_higgsml_toy(tmp_path / f"toy{suffix}", n_events=600, seed=3)
    if suffix.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    df = read_higgsml(path)
    expected = make_higgsml_toy(n_events=600, seed=3)
    assert tuple(df.columns) == COLUMNS
    assert (df.dtypes == expected.dtypes).all()
    exact = [c for c in COLUMNS if c not in ("Weight", "KaggleWeight")]
    pd.testing.assert_frame_equal(df[exact], expected[exact])
    np.testing.assert_allclose(df["Weight"], expected["Weight"], rtol=1e-11)

    ds = higgsml(data=path)
    assert ds.feature_names == FEATURES and ds.X.shape == (600, 30) and ds.X.dtype == np.float64
    np.testing.assert_array_equal(ds.y, (expected["Label"] == "s").astype(int))
    np.testing.assert_array_equal(ds.ids, expected["EventId"])
    assert ds.class_names == ("b", "s") and ds.metric == "ams" and ds.missing_value == -999.0
    assert ds.weight_totals == TOTALS and ds.source == str(path) and not ds.synthetic
    assert ds.groups.dtype.kind == "U" and set(ds.groups) <= {"t", "b", "v", "u"}


def _set(col, row, value):
    def mutate(df):
        df = df.astype({col: object}) if isinstance(value, str) and df[col].dtype != object else df
        df.loc[row, col] = value
        return df

    return mutate


BAD_TABLES = {
    "missing column": (lambda df: df.drop(columns=["PRI_tau_pt"]), ["missing columns", "PRI_tau_pt"]),
    "extra column": (lambda df: df.assign(Foo=1.0), ["unexpected columns", "Foo"]),
    "bad Label": (_set("Label", 4, "x"), ["Label", "'x'"]),
    "bad KaggleSet": (_set("KaggleSet", 2, "q"), ["KaggleSet", "'q'"]),
    "NaN feature": (_set("DER_mass_vis", 5, np.nan), ["NaN", "DER_mass_vis"]),
    "NaN label": (_set("Label", 1, np.nan), ["NaN", "Label"]),
    "non-numeric feature": (_set("PRI_tau_pt", 3, "abc"), ["non-numeric", "PRI_tau_pt", "'abc'"]),
    "duplicate EventId": (_set("EventId", 7, 100001), ["duplicate EventId", "100001"]),
    "bad jet number": (_set("PRI_jet_num", 0, 7), ["PRI_jet_num", "7"]),
    "negative weight": (_set("Weight", 0, -1.0), ["negative Weight"]),
}


@pytest.mark.parametrize("case", sorted(BAD_TABLES))
def test_validation_errors_are_one_clear_line(tmp_path, toy, case):
    mutate, phrases = BAD_TABLES[case]
    path = _write(mutate(toy.head(50).copy()), tmp_path / "bad.csv")
    with pytest.raises(DataError) as info:
        read_higgsml(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for phrase in phrases:
        assert phrase in message, (case, message)


def test_clean_table_passes_validation(tmp_path, toy):
    """The mutations above are what fails, not the table they start from."""
    df = read_higgsml(_write(toy.head(50), tmp_path / "good.csv"))
    assert len(df) == 50


def test_missing_file_is_named(tmp_path):
    with pytest.raises(DataError, match="not found.*nope.csv"):
        read_higgsml(tmp_path / "nope.csv")


@pytest.mark.parametrize("content", ["garbage", "truncated", "empty"])
def test_unreadable_gzip(tmp_path, content):
    good = write_higgsml_toy(tmp_path / "good.csv.gz", n_events=2000, seed=0).read_bytes()
    data = {"garbage": b"this is not gzip at all\n" * 10, "truncated": good[: len(good) // 2],
            "empty": gzip.compress(b"")}[content]
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(data)
    with pytest.raises(DataError, match="cannot read HiggsML file") as info:
        read_higgsml(path)
    assert "\n" not in str(info.value)


# ---------------------------------------------------------------- resolve_source


@pytest.fixture
def isolated_env(monkeypatch, tmp_path):
    monkeypatch.delenv("HIGGSML_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


def test_resolve_source_order(isolated_env, monkeypatch):
    tmp = isolated_env
    explicit, env = tmp / "explicit.csv", tmp / "env.csv.gz"
    explicit.write_text("x"), env.write_text("x")
    cached = tmp / "xdg" / "supertml-bench" / "higgsml" / FILENAME
    cached.parent.mkdir(parents=True)
    cached.write_text("x")
    monkeypatch.setenv("HIGGSML_DATA", str(env))

    assert resolve_source(explicit) == explicit
    assert resolve_source() == env
    monkeypatch.delenv("HIGGSML_DATA")
    assert resolve_source() == cached
    cached.unlink()
    plain = cached.with_name(FILENAME.removesuffix(".gz"))
    plain.write_text("x")
    assert resolve_source() == plain
    assert resolve_source(cached.parent) == plain  # a directory holding the file


def test_resolve_source_errors(isolated_env, monkeypatch):
    tmp = isolated_env
    with pytest.raises(DataError) as info:
        resolve_source()
    msg = str(info.value)
    assert "\n" not in msg
    for hint in ("python -m benchmarks fetch higgsml", "--data PATH", "HIGGSML_DATA", str(tmp / "xdg")):
        assert hint in msg

    with pytest.raises(DataError, match="not found: .*missing.csv.gz"):
        resolve_source(tmp / "missing.csv.gz")
    monkeypatch.setenv("HIGGSML_DATA", str(tmp / "gone.csv"))
    with pytest.raises(DataError, match="HIGGSML_DATA=.*gone.csv does not exist"):
        resolve_source()


def test_cache_dir_falls_back_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "supertml-bench" / "higgsml"


# ---------------------------------------------------------------- fetch


class _Handler(http.server.BaseHTTPRequestHandler):
    payload = b""
    hits = 0

    def do_GET(self):  # noqa: N802 (http.server's naming)
        type(self).hits += 1
        if self.path.endswith("/ok.csv.gz"):
            self._send(self.payload, len(self.payload))
        elif self.path.endswith("/short.csv.gz"):
            self._send(self.payload[:500], len(self.payload))  # promises more than it sends
        elif self.path.endswith("/cut.csv.gz"):
            self._send(self.payload[:-200], len(self.payload) - 200)  # honest length, cut gzip
        elif self.path.endswith("/page.csv.gz"):
            self._send(b"<html>moved</html>", 18)
        else:
            self.send_error(404, "Not Found")

    def _send(self, body: bytes, length: int):
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1, shut down after the test."""
    _Handler.payload = write_higgsml_toy(tmp_path / "src.csv.gz", n_events=300, seed=1).read_bytes()
    _Handler.hits = 0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_fetch_downloads_into_place(server, tmp_path):
    dest = tmp_path / "cache"
    path = fetch(dest, url=f"{server}/files/ok.csv.gz")
    assert path == dest / FILENAME
    assert path.read_bytes() == _Handler.payload
    assert sorted(p.name for p in dest.iterdir()) == [FILENAME]  # no temp file left
    assert len(read_higgsml(path)) == 300

    assert fetch(dest, url=f"{server}/files/ok.csv.gz") == path
    assert _Handler.hits == 1  # already there: no second download
    fetch(dest, url=f"{server}/files/ok.csv.gz", force=True)
    assert _Handler.hits == 2


@pytest.mark.parametrize("route, phrase", [
    ("missing.csv.gz", "HTTP 404"),
    ("short.csv.gz", "download of"),
    ("cut.csv.gz", "not a readable HiggsML file"),
    ("page.csv.gz", "not a readable HiggsML file"),
])
def test_failed_fetch_leaves_no_file(server, tmp_path, route, phrase):
    dest = tmp_path / "cache"
    with pytest.raises(DataError, match=phrase) as info:
        fetch(dest, url=f"{server}/{route}")
    assert "\n" not in str(info.value)
    assert list(dest.iterdir()) == []


def test_fetch_unreachable_host_fails_fast(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dest = tmp_path / "cache"
    with pytest.raises(DataError, match="download of .* failed"):
        fetch(dest, url=f"http://127.0.0.1:{port}/{FILENAME}")
    assert list(dest.iterdir()) == []


# ---------------------------------------------------------------- the real sample


def test_real_sample(shared_higgs_path):
    ds = higgsml(data=shared_higgs_path)
    assert ds.n_events == 9998 and ds.X.shape == (9998, 30)
    assert set(ds.groups) == {"t"}
    assert ds.y.sum() == 4999
    assert (ds.X == -999.0).any() and np.isfinite(ds.X).all()
    assert any("sample file: 9998 events, no public/private test rows" in n for n in ds.notes)
    with gzip.open(shared_higgs_path, "rt") as fh:
        assert tuple(fh.readline().strip().split(",")) == COLUMNS


def test_toy_schema_matches_real_sample(shared_higgs_path):
    real = pd.read_csv(shared_higgs_path, nrows=50)
    toy = make_higgsml_toy(n_events=50)
    assert list(toy.columns) == list(real.columns)
    assert (toy.dtypes == real.dtypes).all()


# ---------------------------------------------------------------- toy generator


def test_toy_is_deterministic():
    a = make_higgsml_toy(n_events=500, seed=11)
    pd.testing.assert_frame_equal(a, make_higgsml_toy(n_events=500, seed=11))
    assert not a.equals(make_higgsml_toy(n_events=500, seed=12))
    assert (a["EventId"] == 100000 + np.arange(500)).all()


def test_toy_missing_pattern_follows_jet_number(toy):
    jets = toy["PRI_jet_num"]
    missing = toy[list(FEATURES)] == -999.0
    assert set(jets.unique()) == {0, 1, 2, 3}
    assert missing.loc[jets < 2, JET_FEATURES_2].all().all()
    assert not missing.loc[jets >= 2, JET_FEATURES_2].any().any()
    assert missing.loc[jets < 1, JET_FEATURES_1].all().all()
    assert not missing.loc[jets >= 1, JET_FEATURES_1].any().any()
    assert (toy.loc[jets == 0, "PRI_jet_all_pt"] == 0).all()
    others = [c for c in FEATURES if c not in JET_FEATURES_1 + JET_FEATURES_2 + ["DER_mass_MMC"]]
    assert not missing[others].any().any()
    mmc_missing = missing["DER_mass_MMC"].groupby(toy["Label"]).mean()
    assert 0 < mmc_missing["s"] < mmc_missing["b"] < 0.5  # fails more often for background


def test_toy_ranges_are_physical(toy):
    present = lambda c: toy.loc[toy[c] != -999.0, c]  # noqa: E731
    assert present("PRI_tau_pt").min() >= 20 and present("PRI_lep_pt").min() >= 26
    assert present("PRI_jet_leading_pt").min() >= 30
    assert (present("PRI_jet_subleading_pt") <= toy.loc[toy.PRI_jet_num >= 2, "PRI_jet_leading_pt"]).all()
    for col in ("PRI_tau_eta", "PRI_lep_eta"):
        assert present(col).abs().max() <= 2.5
    for col in ("PRI_jet_leading_eta", "PRI_jet_subleading_eta"):
        assert present(col).abs().max() <= 4.5
    for col in [c for c in FEATURES if c.endswith("_phi")]:
        assert present(col).abs().max() <= np.pi + 1e-3
    for col in ("DER_mass_vis", "DER_mass_transverse_met_lep", "PRI_met", "PRI_met_sumet", "DER_pt_h"):
        assert present(col).min() >= 0
    assert present("DER_mass_MMC").min() > 0
    assert toy["DER_met_phi_centrality"].abs().max() <= np.sqrt(2) + 1e-3
    assert present("DER_lep_eta_centrality").between(0, 1).all()


def test_toy_weights_and_kaggle_sets(toy):
    assert (toy["Weight"] > 0).all()
    w = toy.groupby("Label")["Weight"].mean()
    assert w["s"] < 0.01 and 0.1 < w["b"] < 3
    counts = toy["KaggleSet"].value_counts()
    shares = np.array(KAGGLE_SET_COUNTS) / sum(KAGGLE_SET_COUNTS)
    got = np.array([counts[s] for s in "tbvu"])
    assert got.sum() == len(toy) and (np.abs(got - shares * len(toy)) < 1).all()
    sums = toy.groupby(["KaggleSet", "Label"])["KaggleWeight"].sum()
    for letter in "tbvu":
        assert sums[(letter, "s")] == pytest.approx(SIGNAL_TOTAL, rel=1e-9)
        assert sums[(letter, "b")] == pytest.approx(BACKGROUND_TOTAL, rel=1e-9)
    assert abs((toy["Label"] == "s").mean() - 0.34) < 0.01

    only_train = make_higgsml_toy(n_events=400, seed=7, with_test_sets=False)
    assert set(only_train["KaggleSet"]) == {"t"}
    assert only_train.groupby("Label")["KaggleWeight"].sum()["s"] == pytest.approx(SIGNAL_TOTAL)


def test_toy_is_learnable_but_not_trivial():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    df = make_higgsml_toy(n_events=8000, seed=2)
    X, y = df[list(FEATURES)].to_numpy(), (df["Label"] == "s").to_numpy()
    model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(X[:6000], y[:6000])
    auc = roc_auc_score(y[6000:], model.predict_proba(X[6000:])[:, 1])
    assert 0.8 < auc < 0.95


def test_toy_registered_dataset():
    ds = load_dataset("higgsml-toy", n_events=400, seed=5)
    assert ds.name == "higgsml-toy" and ds.synthetic and ds.n_events == 400
    assert "seed=5" in ds.source
    assert ds.metric == "ams" and ds.weight_totals == TOTALS
    assert any("synthetic" in n for n in ds.notes)
    no_sets = load_dataset("higgsml-toy", n_events=400, seed=5, with_test_sets=False)
    assert any("no public/private test rows" in n for n in no_sets.notes)


# ---------------------------------------------------------------- splits


def _check_splits(splits, ds):
    ids = [set(p.ids.tolist()) for p in splits.parts]
    assert sum(len(s) for s in ids) == len(set().union(*ids))  # disjoint
    for part in splits.parts:
        assert len(part) > 0
        for cls, total in TOTALS.items():
            assert part.weights[part.y == cls].sum() == pytest.approx(total, rel=1e-9)
    return ids


def test_splits_use_kaggle_sets_when_present():
    ds = higgsml_dataset(make_higgsml_toy(n_events=3000, seed=4), "toy", source="test", synthetic=True)
    splits = make_splits(ds, seed=0)
    _check_splits(splits, ds)
    assert [p.name for p in splits.tests] == ["public", "private"]
    group_of = dict(zip(ds.ids.tolist(), ds.groups.tolist()))
    assert {group_of[i] for i in splits.test("public").ids} == {"b"}
    assert {group_of[i] for i in splits.test("private").ids} == {"v"}
    assert {group_of[i] for p in (splits.train, splits.val) for i in p.ids} == {"t"}
    assert len(splits.train) + len(splits.val) == (ds.groups == "t").sum()


def test_splits_carve_tests_without_kaggle_sets():
    ds = load_dataset("higgsml-toy", n_events=2000, seed=4, with_test_sets=False)
    splits = make_splits(ds, seed=1)
    ids = _check_splits(splits, ds)
    assert len(set().union(*ids)) == ds.n_events
    assert [p.name for p in splits.tests] == ["public", "private"]


def test_splits_on_real_sample(shared_higgs_path):
    ds = higgsml(data=shared_higgs_path)
    splits = make_splits(ds, seed=3)
    ids = _check_splits(splits, ds)
    assert len(set().union(*ids)) == ds.n_events


def test_toy_rejects_bad_parameters():
    from benchmarks.core.errors import ConfigError

    with pytest.raises(ConfigError, match="n_events"):
        make_higgsml_toy(n_events=0)
    with pytest.raises(ConfigError, match="signal_fraction"):
        make_higgsml_toy(n_events=10, signal_fraction=1.5)
