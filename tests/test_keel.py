"""KEEL tables (datasets/keel.py): the two file forms, the shared copies, bad tables, where
files come from, ``fetch keel:NAME`` from a local server, and a suite run end to end.

Nothing here reaches the internet: connections go to 127.0.0.1 only (a test server), or are
refused. The 33 shared tables are read from ``../shared/data/keel`` where present.
"""
from __future__ import annotations

import http.server
import io
import re
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.core.errors import ConfigError, DataError
from benchmarks.suite import load_suite
from datasets import dataset_cached, fetch_dataset, load_dataset
from datasets import keel as kl

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]
SHARED_KEEL = Path(__file__).resolve().parents[2] / "shared" / "data" / "keel"

# The repository's own form: numeric (integer, real; a range with and without a space before
# it), nominal columns in a declared order that is not the sorted one, an attribute that is
# neither input nor output, a declared class without rows, both missing markers.
HEADER_FILE = """\
@relation mini
@attribute Age integer [20, 60]
@attribute Colour {red, green, blue}
@attribute Height real[1.5,2.0]
@attribute Note {x, y}
@attribute Class {yes, no, maybe}
@inputs Age, Colour, Height
@outputs Class
@data
20, red, 1.5, x, yes
30, blue, ?, y, no
40, <null>, 1.75, x, no
?, green, 2.0, y, yes
50, blue, 1.6, x, yes
"""


@pytest.fixture(autouse=True)
def local_only(monkeypatch):
    """Connections to anything but this machine fail the test; proxies are bypassed."""
    real = socket.create_connection

    def guarded(address, *args, **kwargs):
        if address[0] not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"a test tried to reach the network: {address}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", guarded)
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """No KEEL_DATA, an empty cache under a temporary XDG_CACHE_HOME."""
    monkeypatch.delenv("KEEL_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path


@pytest.fixture
def shared(monkeypatch):
    if not SHARED_KEEL.is_dir():
        pytest.skip("../shared/data/keel not present")
    monkeypatch.setenv("KEEL_DATA", str(SHARED_KEEL))
    return SHARED_KEEL


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.dat").write_text(text)
    return directory / f"{name}.dat"


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


# ----------------------------------------------------------------------------- the format


def test_the_repositorys_own_form_parses_exactly():
    t = kl.parse_keel(HEADER_FILE)
    assert t.header and t.relation == "mini"
    assert t.feature_names == ("Age", "Colour", "Height")  # Note is neither input nor output
    assert t.categorical == ("Colour",) and t.categories == {"Colour": ("red", "green", "blue")}
    nan = np.nan
    expected = np.array([[20, 0, 1.5], [30, 2, nan], [40, 3, 1.75], [nan, 1, 2.0], [50, 2, 1.6]])
    np.testing.assert_array_equal(t.X, expected)  # declared order; <null> in Colour is code 3 = k
    assert t.class_names == ("yes", "no")  # declared order; "maybe" has no rows
    np.testing.assert_array_equal(t.y, [0, 1, 1, 0, 0])
    assert t.missing_nominal == 1
    assert any("Note" in n for n in t.notes) and any("maybe" in n for n in t.notes)


def test_the_repositorys_own_form_as_a_dataset(env):
    path = _write(env / "d", "mini", HEADER_FILE)
    ds = load_dataset("keel", path=str(path))
    assert ds.name == "keel-mini" and ds.metric == "roc-auc"  # binary: ranked by ROC AUC
    assert ds.missing_value == -999.0 and ds.categorical == ("Colour",)
    np.testing.assert_array_equal(ds.X[:, 0], [20, 30, 40, -999, 50])
    np.testing.assert_array_equal(ds.X[:, 2], [1.5, -999, 1.75, 2.0, 1.6])
    notes = " ".join(ds.notes)
    assert "2 numeric entries in 2 column(s) (Age, Height) are marked -999" in notes
    assert "1 nominal entries" in notes and "Categorical columns (1: Colour)" in notes
    assert "declared order" in notes and str(path) in ds.source


def test_header_less_form_infers_nominal_columns_and_sorts_their_codes():
    t = kl.parse_keel("b, 1, 10\na, 2.5, 2\nc, ?, 10\nb,<null>, 2\n")
    assert not t.header and t.feature_names == ("x1", "x2") and t.categorical == ("x1",)
    assert t.categories == {"x1": ("a", "b", "c")}
    np.testing.assert_array_equal(t.X, [[1, 1], [0, 2.5], [2, np.nan], [1, np.nan]])
    assert t.class_names == ("2", "10")  # numeric classes in numeric order
    np.testing.assert_array_equal(t.y, [1, 0, 1, 0])


def test_a_missing_nominal_entry_in_the_header_less_form_is_one_more_category():
    t = kl.parse_keel("x, 1\n?, 2\ny, 1\n")
    np.testing.assert_array_equal(t.X[:, 0], [0, 2, 1])
    assert t.missing_nominal == 1


# ----------------------------------------------------------------------------- the shared tables


def _readme_table(folder: Path) -> dict[str, tuple[int, int, int, int]]:
    text = (folder / "README.md").read_text()
    rows = re.findall(r"^\| ([\w.-]+) \| (\d+) \| (\d+) \| (\d+) \| (\d+) \|$", text, re.M)
    return {name: tuple(map(int, nums)) for name, *nums in rows}


def test_every_shared_table_loads_with_the_readmes_sizes(shared):
    table = _readme_table(shared)
    assert len(table) == 33 and set(table) == {p.stem for p in shared.glob("*.dat")}
    for name, (rows, features, classes, nominal) in table.items():
        ds = load_dataset(f"keel:{name}")
        got = (ds.n_events, len(ds.feature_names), ds.n_classes, len(ds.categorical))
        assert got == (rows, features, classes, nominal), name
        assert ds.metric == ("roc-auc" if classes == 2 else "accuracy") and ds.missing_value is None


# ----------------------------------------------------------------------------- bad tables

HEAD = "@relation bad\n@attribute a real [0, 1]\n@attribute b {u, v}\n@attribute class {p, q}\n"
BAD = {
    "ragged rows": ("1, u, p\n2, v, q\n3, q\n", "ragged rows: line 3 has 2 values, 3 expected"),
    "unknown nominal value": (HEAD + "@data\n0.1, u, p\n0.2, w, q\n", "value 'w' on line 7 is not among its declared"),
    "one class": (HEAD + "@data\n0.1, u, p\n0.2, v, p\n", "has a single value ('p')"),
    "header wider than data": (HEAD + "@data\n0.1, u\n", "declares 3 attributes but the first data row (line 6) has 2"),
    "header narrower than data": (HEAD + "@data\n0.1, u, p, 7\n", "declares 3 attributes"),
    "unknown input": (HEAD + "@inputs a, c\n@outputs class\n@data\n0.1, u, p\n0.2, v, q\n",
                      "@inputs names 'c', not among the @attribute lines"),
    "unknown output": (HEAD + "@inputs a, b\n@outputs klass\n@data\n0.1, u, p\n0.2, v, q\n",
                       "@outputs names 'klass'"),
    "numeric with a non-number": (HEAD + "@data\n0.1, u, p\nabc, v, q\n", "'abc' on line 7 is not a number"),
    "no @data": (HEAD, "no @data line"),
    "unknown type": ("@attribute a string\n@attribute c {p, q}\n@data\nx, p\n", "has type 'string'"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_table_is_one_data_error_line(case, env):
    text, phrase = BAD[case]
    path = _write(env / "d", "bad", text)
    with pytest.raises(DataError) as info:
        load_dataset("keel", path=str(path))
    message = str(info.value)
    assert "\n" not in message and message.startswith("keel:bad: KEEL file ") and phrase in message, message


@pytest.mark.parametrize("case", ["unknown nominal value", "ragged rows"])
def test_a_bad_table_on_the_command_line_is_one_line_and_exit_2(case, env, monkeypatch, capsys):
    _write(env / "d", "bad", BAD[case][0])
    monkeypatch.setenv("KEEL_DATA", str(env / "d"))
    rc = main(["run", "--suite", "iris", "--dataset", "keel:bad", "--models", "random-forest", "--seeds", "1",
               "--quiet", "--out", str(env / "o")])
    err = _one_line(capsys.readouterr().err)
    assert rc == 2 and err.startswith("error: keel:bad: ") and BAD[case][1] in err
    assert not (env / "o").exists()


@pytest.mark.slow
def test_a_bad_table_in_a_real_process_is_one_line_without_traceback(env):
    _write(env / "d", "bad", BAD["numeric with a non-number"][0])
    res = subprocess.run([sys.executable, "-m", "benchmarks", "run", "--suite", "iris", "--dataset", "keel:bad",
                          "--models", "random-forest", "--seeds", "1", "--quiet", "--out", str(env / "o")],
                         capture_output=True, text=True, cwd=ROOT, timeout=300,
                         env={**__import__("os").environ, "KEEL_DATA": str(env / "d")})
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "is not a number" in _one_line(res.stderr)


@pytest.mark.parametrize("name", ["../iris", "a/b", "..", "a\\b", ".hidden", "x..y", ""])
def test_table_names_that_could_leave_a_directory_are_refused(name, env):
    with pytest.raises(ConfigError):
        load_dataset(f"keel:{name}")


# ----------------------------------------------------------------------------- where files come from


def _table_with_classes(a: str, b: str) -> str:
    return f"1, {a}\n2, {b}\n3, {a}\n4, {b}\n"


def test_path_then_keel_data_then_the_cache(env, monkeypatch):
    cache = kl.cache_dir()
    assert cache == env / "xdg" / "supertml-bench" / "keel"
    _write(cache, "t", _table_with_classes("cache", "c2"))
    assert load_dataset("keel:t").class_names == ("c2", "cache")
    _write(env / "env", "t", _table_with_classes("env", "e2"))
    monkeypatch.setenv("KEEL_DATA", str(env / "env"))
    assert load_dataset("keel:t").class_names == ("e2", "env")
    _write(env / "opt", "t", _table_with_classes("opt", "o2"))
    assert load_dataset("keel:t", path=str(env / "opt")).class_names == ("o2", "opt")  # a directory
    assert load_dataset("keel", name="t", path=str(env / "opt" / "t.dat")).class_names == ("o2", "opt")  # a file
    # A table KEEL_DATA lacks is still found in the cache.
    _write(cache, "u", _table_with_classes("cached-u", "c3"))
    assert load_dataset("keel:u").class_names == ("c3", "cached-u")


def test_a_given_path_is_authoritative(env, monkeypatch):
    _write(kl.cache_dir(), "t", _table_with_classes("a", "b"))
    with pytest.raises(DataError) as info:
        load_dataset("keel:t", path=str(env / "nowhere"))
    msg = str(info.value)
    assert "\n" not in msg and "options.path" in msg and str(env / "nowhere") in msg


def test_keel_data_that_is_not_a_directory_is_one_line(env, monkeypatch):
    monkeypatch.setenv("KEEL_DATA", str(env / "missing"))
    with pytest.raises(DataError, match="KEEL_DATA=.* is not a directory"):
        load_dataset("keel:iris")


def test_a_table_found_nowhere_names_the_table_the_places_and_the_fetch(env, monkeypatch):
    monkeypatch.setenv("KEEL_DATA", str(env))
    with pytest.raises(DataError) as info:
        load_dataset("keel:pima")
    msg = str(info.value)
    assert "\n" not in msg and "keel:pima" in msg and "pima.dat" in msg
    assert f"KEEL_DATA={env}" in msg and str(kl.cache_dir()) in msg
    assert "python -m benchmarks fetch keel:pima" in msg


def test_a_suite_entry_names_its_table_either_way(env):
    _write(env / "d", "t", _table_with_classes("a", "b"))
    assert load_dataset("keel", name="t", path=str(env / "d")).name == "keel-t"
    assert load_dataset("keel:t", path=str(env / "d")).name == "keel-t"
    with pytest.raises(ConfigError, match="needs a table name"):
        load_dataset("keel")
    with pytest.raises(ConfigError, match="path must be"):
        load_dataset("keel:t", path=3)


# ----------------------------------------------------------------------------- fetch


def _zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return buf.getvalue()


@pytest.fixture
def server(monkeypatch):
    """A KEEL repository on 127.0.0.1: ``files`` maps a URL path to its bytes (else 404)."""
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setattr(kl, "URL", f"http://127.0.0.1:{httpd.server_address[1]}/{{name}}.zip")
    yield files
    httpd.shutdown()
    httpd.server_close()


def test_fetch_downloads_unzips_and_checks_into_the_cache(env, server, capsys):
    server["/mini.zip"] = _zip({"mini.dat": HEADER_FILE, "mini-names.txt": "about it"})
    assert not dataset_cached("keel:mini")
    assert main(["fetch", "keel:mini"]) == 0
    target = kl.cache_dir() / "mini.dat"
    assert _one_line(capsys.readouterr().out) == f"keel:mini downloaded into {target}"
    assert target.read_text() == HEADER_FILE and sorted(p.name for p in kl.cache_dir().iterdir()) == ["mini.dat"]
    assert load_dataset("keel:mini").class_names == ("yes", "no")  # loading reads the cache
    # Again: nothing downloaded; the registry's suite-entry form finds it too.
    server.clear()
    assert main(["fetch", "keel:mini"]) == 0
    assert "already in the cache" in _one_line(capsys.readouterr().out)
    assert dataset_cached("keel", id="mini") and fetch_dataset("keel", id="mini") == target


def test_fetch_into_dest_takes_the_file_by_its_base_name_only(env, server, capsys):
    server["/mini.zip"] = _zip({"../../escape/mini.dat": HEADER_FILE})
    dest = env / "dest"
    assert main(["fetch", "keel:mini", "--dest", str(dest)]) == 0
    assert [p.relative_to(env).as_posix() for p in env.rglob("*.dat")] == ["dest/mini.dat"]


@pytest.mark.parametrize("body, phrase", [
    (None, "HTTP 404"),
    (b"<html>not a zip</html>", "not a readable zip file"),
    ("zip:other.dat", "holds no mini.dat"),
    ("zip:bad", "does not parse"),
])
def test_a_failed_fetch_is_one_line_and_writes_nothing(body, phrase, env, server, capsys):
    if body == "zip:other.dat":
        server["/mini.zip"] = _zip({"other.dat": HEADER_FILE})
    elif body == "zip:bad":
        server["/mini.zip"] = _zip({"mini.dat": BAD["unknown nominal value"][0]})
    elif body is not None:
        server["/mini.zip"] = body
    assert main(["fetch", "keel:mini"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and phrase in _one_line(captured.err)
    assert not list(env.rglob("*.dat")) and not list(env.rglob(".*"))


def test_fetch_offline_says_what_to_do_in_one_line(env, monkeypatch, capsys):
    monkeypatch.setattr(kl, "reachable", lambda *a, **k: False)
    assert main(["fetch", "keel:pima"]) == 2
    captured = capsys.readouterr()
    err = _one_line(captured.err)
    assert captured.out == "" and "keel:pima" in err and "cannot be reached" in err
    assert "KEEL_DATA" in err and "options.path" in err and str(kl.cache_dir()) in err
    assert not kl.cache_dir().exists()


def test_fetch_help_and_list_name_keel(capsys):
    assert main(["fetch", "--help"]) == 0
    text = capsys.readouterr().out
    assert "keel:NAME" in text and "supertml-bench/keel" in text
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  keel +Any KEEL classification table", out, re.M)
    assert re.search(r"^  keel-small ", out, re.M) and re.search(r"^  keel +", out.split("datasets:")[0], re.M)


# ----------------------------------------------------------------------------- suites and a run


def test_a_suite_of_two_keel_tables_runs_with_a_leaderboard(shared, tmp_path, capsys):
    suite = tmp_path / "two.toml"
    suite.write_text('name = "keel-two"\n'
                     '[[datasets]]\nname = "keel:hayes-roth"\nrepeats = 1\n'
                     '[[datasets]]\nname = "keel"\noptions = { name = "saheart" }\nrepeats = 1\n'
                     '[[models]]\nname = "random-forest"\nparams = { n_estimators = 20 }\n'
                     '[[models]]\nname = "random-forest"\nlabel = "rf-stump"\nparams = { n_estimators = 20, max_depth = 1 }\n')
    out = tmp_path / "run"
    assert main(["run", "--suite", str(suite), "--no-tune", "--quiet", "--out", str(out)]) == 0
    report = (out / "report.md").read_text()
    assert "## Leaderboard across datasets" in report
    assert "## Dataset: keel-hayes-roth" in report and "## Dataset: keel-saheart" in report
    assert "Categorical columns (1: x5)" in report  # saheart's famhist


@pytest.mark.parametrize("suite_name", ["keel-small", "keel"])
def test_the_keel_suites_name_only_tables_of_the_shared_folder(suite_name, shared):
    suite = load_suite(suite_name)
    sizes = _readme_table(shared)
    names = [d.name.removeprefix("keel:") for d in suite.datasets]
    assert all(d.name.startswith("keel:") for d in suite.datasets) and len(set(names)) == len(names)
    assert set(names) <= set(sizes)
    if suite_name == "keel":
        assert set(names) == set(sizes)
    else:
        assert all(sizes[n][0] <= 2000 for n in names) and len(names) >= 15
