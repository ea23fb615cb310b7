"""The direction of dependencies: import-linter's contracts, and no import cycle at all.

grimp (import-linter's graph) counts imports inside functions too, so an import moved into
a function to dodge a cycle is still found here. Every module of every package (sub-packages
included) must lie in a layer, and each contract is shown to fail on a planted violation in
a small fake package tree, checked with the project's own pyproject.toml.
"""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import need

pytestmark = pytest.mark.sklearn

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONFIG = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]
PACKAGES = tuple(CONFIG["root_packages"])


@pytest.fixture(scope="module")
def grimp():
    return need("grimp", "dev")


@pytest.fixture(scope="module")
def importlinter_cli():
    return need("importlinter.cli", "dev")


def _graph(grimp):
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    adj = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(adj):
        if root in index:
            continue
        work = [(root, iter(adj[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(adj[child])))
                elif child in on_stack:
                    low[v] = min(low[v], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_import_linter_contracts_hold(monkeypatch, importlinter_cli):
    monkeypatch.chdir(ROOT)
    assert importlinter_cli.lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0


def test_no_import_cycle_between_project_modules(grimp):
    assert _cycles(_graph(grimp)) == []


def test_cycle_finder_finds_a_cycle():
    class Fake:
        modules = {"a", "b", "c", "d"}

        @staticmethod
        def find_modules_directly_imported_by(m):
            return {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}[m]

    assert _cycles(Fake()) == [["a", "b", "c"]]


def _layer_modules() -> set[str]:
    layers = next(c for c in CONFIG["contracts"] if c["type"] == "layers")["layers"]
    return {m.strip() for layer in layers for m in layer.replace("|", ":").split(":")}


def _project_modules() -> set[str]:
    """Every module of every package, sub-packages included (benchmarks.core.scoring.ams, ...)."""
    out = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def test_every_module_is_placed_in_a_layer():
    """A new module anywhere (benchmarks/*.py, benchmarks/core/**, a new sub-package) must lie
    in a layer, itself or a package above it, or the layers contract would not see it."""
    named = _layer_modules()
    modules = _project_modules()
    assert {"benchmarks.core.scoring.ams", "benchmarks.core.metrics", "benchmarks.suites"} <= modules
    unplaced = {m for m in modules - {"benchmarks"}
                if not any(m == n or m.startswith(n + ".") for n in named)}
    assert unplaced == set()
    assert "benchmarks.core" in named and all(p in named for p in PACKAGES if p != "benchmarks")
    assert named <= modules  # no layer names a module that does not exist


def test_every_contract_names_existing_modules_only():
    for contract in CONFIG["contracts"]:
        for key in ("modules", "source_modules", "forbidden_modules"):
            assert set(contract.get(key, ())) <= _project_modules(), (contract["name"], key)


# ------------------------------------------------------------------ each contract can fail

def _fake_tree(root: Path) -> None:
    """Empty modules under every name the contracts use (a package for each root, each layer
    module, benchmarks.core with a scoring sub-package), importing nothing: a clean tree."""
    names = _layer_modules() | set(PACKAGES) | {"benchmarks.core.scoring", "benchmarks.core.scoring.base"}
    for contract in CONFIG["contracts"]:
        for key in ("modules", "source_modules", "forbidden_modules"):
            names |= set(contract.get(key, ()))
    packages = {".".join(n.split(".")[:k]) for n in names for k in range(1, len(n.split(".")))}
    packages |= set(PACKAGES) | {"benchmarks.core"}
    for name in names | packages:
        path = root.joinpath(*name.split("."))
        path = path / "__init__.py" if name in packages else path.with_suffix(".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()


def _lint(root: Path) -> tuple[int, str]:
    """lint-imports with the project's own contracts (its pyproject.toml) on the tree at `root`,
    in a fresh interpreter so that the project's real packages cannot be found instead."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            f"sys.exit(lint_imports(config_filename={str(PYPROJECT)!r}, no_cache=True, no_logo=True))")
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env={"PYTHONPATH": str(root), "PATH": ""},
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def _contract(name_start: str) -> str:
    return next(c["name"] for c in CONFIG["contracts"] if c["name"].startswith(name_start))


# One planted import per contract: (the module it goes in, what it imports, the contract it breaks).
PLANTED = [
    pytest.param("benchmarks/core/scoring/base.py", "import models", "Layers:", id="core-imports-models"),
    pytest.param("encoders/__init__.py", "import datasets", "Independence:", id="encoders-import-datasets"),
    pytest.param("reports/__init__.py", "import benchmarks.tuning", "Reports read stored runs", id="reports-import-tuning"),
    pytest.param("models/x.py", "import datasets", "Models take arrays", id="models-import-datasets"),
]


def test_the_fake_tree_keeps_every_contract(tmp_path, importlinter_cli):
    _fake_tree(tmp_path)
    rc, out = _lint(tmp_path)
    assert rc == 0, out
    assert f"Analyzed {len(list(tmp_path.rglob('*.py')))} files, 0 dependencies" in out  # the fake tree, not the real one
    for contract in CONFIG["contracts"]:
        assert f"{contract['name']} KEPT" in out


def test_every_contract_is_tested_by_a_planted_violation():
    planted = {_contract(p.values[2]) for p in PLANTED}
    assert planted == {c["name"] for c in CONFIG["contracts"]}


@pytest.mark.parametrize("module, statement, contract", PLANTED)
def test_a_planted_violation_breaks_its_contract(tmp_path, importlinter_cli, module, statement, contract):
    _fake_tree(tmp_path)
    path = tmp_path / module
    path.write_text((path.read_text() if path.exists() else "") + f"{statement}\n")
    rc, out = _lint(tmp_path)
    assert rc != 0, out
    assert f"{_contract(contract)} BROKEN" in out, out
