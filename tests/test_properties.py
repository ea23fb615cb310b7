"""Property-based tests: whatever a user feeds the suite parser, the CSV and HiggsML loaders
or the challenge scorer either loads or raises the project's one-line error type
(BenchmarkError), never anything else."""
from __future__ import annotations

import gzip
import io
import string

import numpy as np
import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from benchmarks.core.errors import BenchmarkError  # noqa: E402
from benchmarks.suite import Suite, load_suite, parse_suite  # noqa: E402
from benchmarks.submission import score_submission  # noqa: E402
from datasets import Dataset, load_dataset  # noqa: E402
from datasets.higgsml import COLUMNS, read_higgsml  # noqa: E402
from datasets.higgsml_toy import make_higgsml_toy, write_higgsml_toy  # noqa: E402

pytestmark = pytest.mark.sklearn

SETTINGS = settings(max_examples=int(__import__("os").environ.get("PROP_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                              HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True),
                    st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)
KEYS = ["name", "options", "preprocess", "val_fraction", "test_fraction", "repeats", "max_events",
        "label", "params", "search", "trials", "timeout_s", "pruner", "missing", "standardise", "bogus"]
tables = st.dictionaries(st.sampled_from(KEYS), values, max_size=6)
NAMES = st.sampled_from(["iris", "wine", "higgsml-toy", "random-forest", "xgboost", "nope", ""])


@st.composite
def suites(draw) -> dict:
    raw = draw(st.dictionaries(st.sampled_from(["name", "description", "base_seed", "blind", "x"]), scalars, max_size=4))
    datasets = draw(st.lists(st.builds(lambda t, n: {**t, "name": n}, tables, NAMES) | tables, max_size=3))
    models = draw(st.lists(st.builds(lambda t, n: {**t, "name": n}, tables, NAMES) | tables, max_size=3))
    raw.update(datasets=draw(st.sampled_from([datasets, "not a list", 3])), models=models)
    return raw


def _loads_or_one_line(fn, *args, **kw):
    try:
        out = fn(*args, **kw)
    except BenchmarkError as exc:
        assert "\n" not in str(exc).strip(), str(exc)
        return None
    return out


@SETTINGS
@given(suites())
def test_suite_parser_accepts_or_says_why(raw):
    out = _loads_or_one_line(parse_suite, raw, default_name="prop")
    assert out is None or isinstance(out, Suite)


@SETTINGS
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_suite_files_of_any_bytes(tmp_path, blob):
    path = tmp_path / "s.toml"
    path.write_bytes(blob)
    out = _loads_or_one_line(load_suite, str(path))
    assert out is None or isinstance(out, Suite)


def test_deeply_nested_suite_file(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(BenchmarkError):
        load_suite(str(path))


cells = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**20, 10**20),
                  st.text(alphabet=string.printable, max_size=6), st.just(""), st.just(1e300))


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 12), st.data(), st.booleans())
def test_csv_loader_accepts_or_says_why(tmp_path, n_cols, n_rows, data, gz):
    cols = [f"c{i}" for i in range(n_cols)]
    rows = [[data.draw(cells) for _ in cols] for _ in range(n_rows)]
    path = tmp_path / ("t.csv.gz" if gz else "t.csv")
    text = pd.DataFrame(rows, columns=cols).to_csv(index=False).encode()
    if gz and data.draw(st.booleans()):  # a truncated gzip stream
        text = gzip.compress(text)[: data.draw(st.integers(0, 40))]
        path.write_bytes(text)
    elif gz:
        path.write_bytes(gzip.compress(text))
    else:
        path.write_bytes(text)
    target = data.draw(st.sampled_from(cols + ["missing"]))
    weight = data.draw(st.sampled_from([None, *cols]))
    out = _loads_or_one_line(load_dataset, f"csv:{path}", target=target, weight=weight)
    assert out is None or isinstance(out, Dataset)


@pytest.fixture(scope="module")
def toy_csv() -> bytes:
    buf = io.StringIO()
    df = make_higgsml_toy(n_events=40, seed=1)
    df.to_csv(buf, index=False)
    return buf.getvalue().encode()


@SETTINGS
@given(st.data())
def test_higgsml_loader_on_mutated_files(tmp_path, toy_csv, data):
    lines = toy_csv.decode().splitlines()
    kind = data.draw(st.sampled_from(["cell", "drop_column", "truncate", "garbage", "gzip_cut"]))
    if kind == "cell":
        row = data.draw(st.integers(1, len(lines) - 1))
        fields = lines[row].split(",")
        fields[data.draw(st.integers(0, len(fields) - 1))] = data.draw(
            st.sampled_from(["", "nan", "inf", "-1e400", "x", "s", "q", "9" * 40, "-5", "3.5"]))
        lines[row] = ",".join(fields)
        blob = ("\n".join(lines) + "\n").encode()
    elif kind == "drop_column":
        k = data.draw(st.integers(0, len(COLUMNS) - 1))
        blob = ("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != k) for line in lines) + "\n").encode()
    elif kind == "truncate":
        blob = toy_csv[: data.draw(st.integers(0, len(toy_csv)))]
    elif kind == "garbage":
        blob = data.draw(st.binary(max_size=200))
    else:
        packed = gzip.compress(toy_csv)
        blob = packed[: data.draw(st.integers(0, len(packed) - 1))]
    path = tmp_path / ("h.csv.gz" if kind == "gzip_cut" else "h.csv")
    path.write_bytes(blob)
    out = _loads_or_one_line(read_higgsml, path)
    assert out is None or isinstance(out, pd.DataFrame)


def test_higgsml_loader_round_trip(tmp_path):
    path = write_higgsml_toy(tmp_path / "ok.csv.gz", n_events=50, seed=0)
    assert len(read_higgsml(path)) == 50


@SETTINGS
@given(st.data())
def test_scorer_accepts_or_says_why(data):
    n = data.draw(st.integers(1, 8))
    ids = data.draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    solution = pd.DataFrame({
        "EventId": ids,
        "Label": data.draw(st.lists(st.sampled_from(["s", "b", "x", ""]), min_size=n, max_size=n)),
        "KaggleSet": data.draw(st.lists(st.sampled_from(["t", "b", "v", "u", "z"]), min_size=n, max_size=n)),
        "KaggleWeight": data.draw(st.lists(st.floats(-1, 1e3) | st.just(float("nan")), min_size=n, max_size=n)),
    })
    m = data.draw(st.integers(0, 8))
    submission = pd.DataFrame({
        "EventId": data.draw(st.lists(st.one_of(st.integers(0, 12), st.text(max_size=3)), min_size=m, max_size=m)),
        "RankOrder": data.draw(st.lists(st.one_of(st.integers(-1, 10), st.floats(allow_nan=True)), min_size=m, max_size=m)),
        "Class": data.draw(st.lists(st.sampled_from(["s", "b", "x", " s"]), min_size=m, max_size=m)),
    })
    with np.errstate(all="ignore"):
        out = _loads_or_one_line(score_submission, solution, submission)
    assert out is None or all(k.startswith(("ams_", "s_", "b_", "n_", "auc_")) for k in out)
