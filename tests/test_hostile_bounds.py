"""Work without bound is refused before any work: every parameter that sizes a fit.

Each row is a hostile run the issue's pass found running until killed (1e12 trees, epochs,
an alias of CatBoost's rounds, a library's own epochs, more threads than the machine has):
each must end with exit 2, one line on stderr naming the parameter, and no run directory
left behind. ``test_params`` checks the bounds themselves for every declared parameter.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.fits import usable_cores

HUGE = 10**12


def _suite(tmp_path: Path, model: str, params: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(f'name = "s"\n[[datasets]]\nname = "iris"\nrepeats = 1\n'
                    f'[[models]]\nname = "{model}"\nparams = {{ {params} }}\n')
    return path


ROWS = [
    # kind, model, suite params, extra CLI arguments, what the one line says, backend
    ("trees", "random-forest", f"n_estimators = {HUGE}", [], "random-forest: n_estimators must be an integer in [1, ", "sklearn"),
    ("threads of a model", "random-forest", f"n_jobs = {HUGE}", [], "random-forest: n_jobs must be an integer in [-1, ", "sklearn"),
    ("seed of a model", "random-forest", f"random_state = {HUGE}", [], "random-forest: random_state must be an integer in [0, ", "sklearn"),
    ("--threads beyond the machine", "random-forest", "n_estimators = 5", ["--threads", str(usable_cores() + 1)],
     "usable cores; lower --threads", "sklearn"),
    ("boosting rounds", "xgboost", f"n_estimators = {HUGE}", [], "xgboost: n_estimators must be an integer in [1, ", "xgboost"),
    ("a library's own bins", "xgboost", f"max_bin = {HUGE}", [], "xgboost: max_bin must be an integer in [2, ", "xgboost"),
    ("an alias of CatBoost's rounds", "catboost", f"num_trees = {HUGE}", [], "catboost: num_trees must be an integer in [1, ",
     "catboost"),
    ("epochs", "fcnn", f"max_epochs = {HUGE}", [], "fcnn: max_epochs must be an integer in [1, ", "torch"),
    ("width", "fcnn", f"hidden = {HUGE}", [], "fcnn: hidden must be an integer in [1, ", "torch"),
    ("members", "tabm", f"k = {HUGE}", [], "tabm: k must be an integer in [1, ", "tabm"),
    ("a library's own epochs", "realmlp", f"n_epochs = {HUGE}", [], "realmlp: n_epochs must be an integer in [1, ", "realmlp"),
]


@pytest.mark.parametrize("kind, model, params, extra, says",
                         [pytest.param(*row[:5], id=row[0], marks=getattr(pytest.mark, row[5])) for row in ROWS])
def test_work_without_bound_is_one_line_and_exit_2_before_any_work(kind, model, params, extra, says, tmp_path, capsys):
    out = tmp_path / "o"
    code = main(["run", "--suite", str(_suite(tmp_path, model, params)), *extra, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert says in err and "\n" not in err and "Traceback" not in err
    assert not out.exists(), "a refused run left its directory behind"
