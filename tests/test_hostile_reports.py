"""Hostile stored runs: text that must stay inert in a report, files of the wrong type or shape.

One small run is made once; each row copies it and edits what a hand, another tool or a
hostile user could have put there. Text rows put Markdown, HTML and a ``javascript:`` link
into labels, names, notes, parameters and the manifest: the report (and a comparison)
keeps every table intact and shows the text as text. Defect rows give wrong types and
shapes to results.json, manifest.json and the prediction files: one line, exit 2.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from benchmarks import store
from benchmarks.cli import main
from html_tree import Tree

pytestmark = pytest.mark.sklearn

RUN = ["run", "--suite", "iris", "--models", "random-forest", "--seeds", "1", "--quiet"]
# A table-cell end, a line break into a heading, a code span, HTML, a javascript: link,
# emphasis, an entity, a backslash, an image and maths (in plots too): each must come out as
# the text itself.
HOSTILE = "a|b\n# H1 `x` <script>alert(1)</script> [x](javascript:alert(1)) *y* _z_ &lt; \\ ![i](p.png) $\\frac{$"
SHOWN = r"\<script\>alert(1)\</script\>"  # how the text reads in escaped Markdown


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile") / "good"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


def _copy(run_dir: Path, dest: Path) -> Path:
    shutil.copytree(run_dir, dest)
    return dest


def _edit_json(path: Path, edit: Callable[[dict], None]) -> None:
    obj = json.loads(path.read_text())
    edit(obj)
    path.write_text(json.dumps(obj))


def _results(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda d: _edit_json(d / store.RESULTS, edit)


def _manifest(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    return lambda d: _edit_json(d / store.MANIFEST, edit)


def _iris(res: dict) -> dict:
    return res["datasets"]["iris"]


def _relabel(res: dict) -> None:
    for rec in res["records"]:
        rec["model"] = HOSTILE


def _rename_dataset(res: dict) -> None:
    info = res["datasets"].pop("iris")
    res["datasets"][HOSTILE] = {**info, "name": HOSTILE}
    for rec in res["records"]:
        rec["dataset"] = HOSTILE


def _rename_class(res: dict) -> None:
    info = _iris(res)
    old = info["class_names"][0]
    info["class_names"][0] = HOSTILE
    for part in info["splits"].values():
        part[f"n_{HOSTILE}"] = part.pop(f"n_{old}")


def _search(best_value, best_params) -> Callable[[dict], None]:
    summary = {"label": "random-forest", "trials": 3, "pruned": 0, "failed": 0, "best_value": best_value,
               "best_params": best_params, "search_s": 1.0, "history": [[0, 0.9], [1, 0.95]]}
    return lambda res: res.setdefault("tuning", {}).update({"iris/random-forest": summary})


TEXT = {
    "model label": _results(_relabel),
    "dataset name": _results(_rename_dataset),
    "class name": _results(_rename_class),
    "dataset note": _results(lambda res: _iris(res).update(notes=[HOSTILE])),
    "dataset source": _results(lambda res: _iris(res).update(source=HOSTILE)),
    "preprocessing value": _results(lambda res: _iris(res).update(preprocess={"standardise": HOSTILE})),
    "searched parameter": _results(_search(0.95, {"criterion": HOSTILE})),
    "suite name": _results(lambda res: res.update(suite=HOSTILE)),
    "manifest command": _manifest(lambda man: man.update(command=HOSTILE)),
    "manifest machine": _manifest(lambda man: man.update(cpu=HOSTILE, gpu=HOSTILE, device=HOSTILE)),
    "planned fit": _manifest(lambda man: man.update(fits=[*man["fits"], [HOSTILE, HOSTILE, 7, "none"]])),
}


def _raw(text: str, token: str) -> bool:
    """Whether ``token`` occurs unescaped (after an even number of backslashes)."""
    for m in re.finditer(re.escape(token), text):
        slashes = len(text[:m.start()]) - len(text[:m.start()].rstrip("\\"))
        if slashes % 2 == 0:
            return True
    return False


def _cells(row: str) -> int:
    return sum(1 for i, ch in enumerate(row) if ch == "|" and (len(row[:i]) - len(row[:i].rstrip("\\"))) % 2 == 0)


def assert_inert(md: str) -> None:
    assert SHOWN in md  # the hostile text is shown ...
    for token in ("<script", "](javascript:", "![i]", "`x`"):  # ... as text: no markup of it survives
        assert not _raw(md, token), token
    assert not re.search(r"(?m)^#+ H1", md)  # its line break started no heading
    tables = re.findall(r"(?m)(?:^\|.*\n?)+", md)
    assert tables
    for block in tables:
        widths = {_cells(row) for row in block.splitlines()}
        assert len(widths) == 1, block  # every row of every table has its header's cells


PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "pre", "script", "h1", "h2", "h3", "h4",
             "p", "ul", "li", "blockquote", "div", "table", "thead", "tbody", "tr", "th", "td", "code", "strong",
             "em", "a", "img", "span"}


def assert_inert_html(page: str) -> None:
    """report.html shows the hostile text as text: no tag, attribute or URL of it survives."""
    parsed = Tree(page)
    names = [tag for tag, _ in parsed.tags]
    assert set(names) <= PAGE_TAGS and names.count("script") == 1  # the page's own script only
    assert "<script>alert(1)</script>" in "".join(parsed.text)
    for tag, attrs in parsed.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        if tag == "a":
            assert not attrs["href"].lower().startswith(("javascript:", "data:")), attrs
        if tag == "img":
            assert attrs["src"].startswith("data:image/png;base64,"), attrs["alt"]


@pytest.mark.parametrize("case", list(TEXT))
def test_hostile_text_is_inert_in_the_report(case, run_dir, tmp_path):
    d = _copy(run_dir, tmp_path / "run")
    TEXT[case](d)
    assert main(["report", str(d)]) == 0
    assert_inert((d / store.REPORT).read_text())
    assert_inert_html((d / store.REPORT_HTML).read_text())


def test_hostile_text_is_inert_in_a_comparison(run_dir, tmp_path):
    a, b = _copy(run_dir, tmp_path / "a"), _copy(run_dir, tmp_path / "b")
    for d in (a, b):
        _results(_relabel)(d)
        _results(lambda res: [r.update(params={"criterion": HOSTILE}) for r in res["records"]])(d)
    _manifest(lambda man: man.update(device=HOSTILE))(b)
    out = tmp_path / "cmp.md"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    assert_inert(out.read_text())
    assert_inert_html(out.with_suffix(".html").read_text())


# --------------------------------------------------------------------------- stored files of the wrong type or shape


def _arrays(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    """Edit the first record's prediction arrays in place (an object array is pickled, as NumPy does)."""
    def apply(d: Path) -> None:
        path = d / json.loads((d / store.RESULTS).read_text())["records"][0]["predictions"]
        with np.load(path) as npz:
            arrays = {k: npz[k] for k in npz.files}
        edit(arrays)
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    return apply


def _nan(arrays: dict) -> None:
    arrays["test_proba"] = arrays["test_proba"].copy()
    arrays["test_proba"][0, 0] = np.nan


def _first(key: str, value) -> Callable[[dict], None]:
    def edit(res: dict) -> None:
        target = res["records"][0]
        *inner, last = key.split(".")
        for k in inner:
            target = target[k]
        target[last] = value
    return edit


DEFECTS = {
    "info a string": (_results(_first("info", "fast")), "field 'info' is not a JSON object"),
    "a timing a list": (_results(_first("timing.train_s", [1.0, 2.0])), "timing 'train_s' is not a number"),
    "a metric a list": (_results(_first("metrics.accuracy", [0.9])), "metrics 'accuracy' is not a number"),
    "no seeds": (_results(lambda res: _iris(res).update(seeds=[])), "'seeds' must hold at least 1 item"),
    "a weight total a string": (_results(lambda res: _iris(res).update(weight_totals={"setosa": "1"})),
                                "'setosa' is not a number"),
    "a search's best value a string": (_results(_search("high", {})), "'best_value' is not a number"),
    "manifest packages a list": (_manifest(lambda man: man.update(packages=["numpy"])),
                                 "'packages' must be a JSON object"),
    "probabilities shorter than labels": (_arrays(lambda a: a.update(val_proba=a["val_proba"][:-1])),
                                          "events; they must match"),
    "labels as strings": (_arrays(lambda a: a.update(test_y=a["test_y"].astype(str))), "test_y holds <U"),
    "labels as objects": (_arrays(lambda a: a.update(test_y=a["test_y"].astype(object))),
                          "array of Python objects"),
    "probabilities of one dimension": (_arrays(lambda a: a.update(test_proba=a["test_proba"][:, 0])),
                                       "test_proba has 1 dimension(s), not 2"),
    "a column per class missing": (_arrays(lambda a: a.update(val_proba=a["val_proba"][:, :2])),
                                   "val_proba has 2 column(s) for 3 classes"),
    "non-finite probabilities": (_arrays(_nan), "test_proba holds non-finite values"),
    "labels beyond the classes": (_arrays(lambda a: a.update(val_y=a["val_y"] + 5)), "not classes 0..2"),
}


@pytest.mark.parametrize("case", list(DEFECTS))
def test_a_stored_defect_is_one_line_and_exit_2(case, run_dir, tmp_path, capsys):
    d = _copy(run_dir, tmp_path / "run")
    edit, message = DEFECTS[case]
    edit(d)
    (d / store.REPORT).unlink()
    capsys.readouterr()
    rc = main(["report", str(d)])
    err = capsys.readouterr().err.strip()
    assert rc == 2, (case, err)
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, (case, err)
    assert not (d / store.REPORT).exists()  # nothing half-written


def test_resume_reruns_a_fit_whose_predictions_have_the_wrong_shape(run_dir, tmp_path, capsys):
    d = _copy(run_dir, tmp_path / "run")
    _arrays(lambda a: a.update(val_proba=a["val_proba"][:-1]))(d)
    capsys.readouterr()
    assert main(["run", "--resume", str(d)]) == 0
    assert "1 record(s) with missing, torn or wrong predictions will be rerun" in capsys.readouterr().err
    run = store.open_run(d)
    assert all(run.splits(r) is not None for r in run.records)  # every file now reads back whole
    assert main(["report", str(d)]) == 0


# --------------------------------------------------------------------------- compare of a run with itself


@pytest.mark.parametrize("how", ["the same path twice", "a link to the same run"])
def test_compare_refuses_a_run_with_itself(how, run_dir, tmp_path, capsys):
    other = run_dir
    if how == "a link to the same run":
        other = tmp_path / "link"
        other.symlink_to(run_dir)
    out = tmp_path / "cmp.md"
    capsys.readouterr()
    assert main(["compare", str(run_dir), str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "are the same run" in err, err
    assert not out.exists()
