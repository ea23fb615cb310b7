"""Every estimator and encoder parameter is declared once (``PARAMS``), and everything else
agrees with that declaration.

For every model the ``models`` package registers (plus a SuperTML name made by the
resolver) and every registered encoder: the generated ``__init__``'s signature (names,
defaults, kinds) and ``get_params()`` match ``PARAMS`` exactly; every parameter has a
one-line doc; each value a parameter's rule lists as bad (``Rule.bad``) is refused with the
rule's one-line ConfigError (models at ``validate``/``check_params`` and at ``fit``,
encoders at construction); a subclass whose ``fit`` forgets ``check_params`` still
validates; no class writes its own ``__init__`` or assigns a declared parameter by hand.
"""
from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

from benchmarks.core import limits
from benchmarks.core.errors import ConfigError
from benchmarks.core.params import ANY, Declared, Param, integer, is_int, is_whole
from encoders import ENCODERS, create_encoder
from models import FitFacts, create_model, fit_facts, list_models, model_entry, model_info, validate_model
from models.base import Estimator
from models.fcnn import FCNN

ROOT = Path(__file__).resolve().parents[1]
RESOLVED = ["supertml-text-resnet10t"]  # a representative of the resolver-made supertml-* names
BACKEND_MODULES = {"torch": ("torch", "timm"), "xgboost": ("xgboost",), "lightgbm": ("lightgbm",), "sklearn": (),
                   "catboost": ("catboost",), "tabm": ("torch", "tabm", "rtdl_num_embeddings"), "realmlp": ("torch", "pytabkit")}


def _package_models() -> list[str]:
    return [n for n in list_models() if model_entry(n).factory.__module__.startswith("models.")]


def _needs_backend(name: str) -> None:
    for module in BACKEND_MODULES[model_info(name).backend]:
        pytest.importorskip(module)


def _param(name: str):
    backend = model_info(name).backend
    return pytest.param(name, id=name, marks=getattr(pytest.mark, backend))


MODEL_NAMES = [_param(n) for n in _package_models() + RESOLVED]
ENCODER_NAMES = ENCODERS.names()


def _declaration_agrees(cls: type) -> None:
    declared = cls.PARAMS
    sig = inspect.signature(cls)
    named = {n: p for n, p in sig.parameters.items() if p.kind is not p.VAR_KEYWORD}
    assert list(named) == list(declared), "signature and PARAMS list different parameters"
    for n, p in named.items():
        assert p.default is declared[n].default, f"{n}: signature default differs from PARAMS"
        assert p.kind is (p.KEYWORD_ONLY if cls.KEYWORD_ONLY else p.POSITIONAL_OR_KEYWORD)
    extras = [p.name for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD]
    assert extras == ([cls.EXTRA] if cls.EXTRA else [])
    if issubclass(cls, Estimator):  # scikit-learn's get_params sorts the names
        defaults = cls().get_params(deep=False)
        assert sorted(defaults) == sorted(declared)
    else:
        defaults = cls().get_params()
        assert list(defaults) == list(declared)
    assert all(defaults[n] is p.default for n, p in declared.items()), "get_params() is not the declared defaults"
    assert all(isinstance(p, Param) and p.doc.strip() and "\n" not in p.doc for p in declared.values()), \
        "every parameter needs a one-line doc"
    assert len(cls.describe_params()) == len(declared) and "Parameters (from PARAMS)" in cls.__doc__
    assert getattr(cls.__init__, "__declared__", None) is not None, "the __init__ must be the generated one"


def _bad_cases(cls: type):
    return [(n, bad) for n, p in cls.PARAMS.items() if p.rule is not ANY for bad in p.rule.bad]


def _message(owner: str, name: str, rule, value) -> str:
    return " ".join(rule.error(owner, name, value).split())


# ----------------------------------------------------------------------------- models

TINY = {
    "random-forest": dict(n_estimators=5, n_jobs=1),
    "xgboost": dict(n_estimators=5, early_stopping_rounds=2, n_jobs=1),
    "lightgbm": dict(n_estimators=5, early_stopping_rounds=2, n_jobs=1),
    "catboost": dict(iterations=5, early_stopping_rounds=2, thread_count=1),
    "tabm": dict(k=2, d_block=16, n_bins=4, max_epochs=1, device="cpu", num_threads=1, progress=False),
    "realmlp": dict(n_epochs=1, n_threads=1),
    "fcnn": dict(max_epochs=1, device="cpu", num_threads=1, progress=False),
    "dnn": dict(max_epochs=1, device="cpu", num_threads=1, progress=False),
    "supertml": dict(image_size=32, epochs=1, batch_size=8, pretrained=False, device="cpu", num_threads=1,
                     progress=False),
}


def _tiny(name: str) -> dict:
    return dict(TINY["supertml" if name.startswith("supertml-") else name])


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    return X, (X[:, 0] > 0).astype(np.int64)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_declaration_signature_and_get_params_agree(name):
    _needs_backend(name)
    model = create_model(name, **_tiny(name))
    cls = type(model)
    _declaration_agrees(cls)
    params = model.get_params(deep=False)
    assert set(params) == set(cls.PARAMS) | set(getattr(model, "extra_params", {}))
    for key, value in _tiny(name).items():
        assert params[key] is value, "a parameter was not stored as given"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_bad_model_value_is_a_one_line_config_error(name, data):
    _needs_backend(name)
    model = create_model(name, **_tiny(name))
    cls, owner = type(model), type(model).model_name
    good = model.get_params(deep=False)
    validate_model(name, **_tiny(name))  # the starting point is valid
    cases = _bad_cases(cls)
    assert cases, f"{name}: no parameter with a checked rule"
    X, y = data
    for pname, bad in cases:
        want = _message(owner, pname, cls.PARAMS[pname].rule, bad)
        broken = cls(**{**good, pname: bad})
        with pytest.raises(ConfigError) as err:
            broken.check_params()
        assert str(err.value) == want
        with pytest.raises(ConfigError) as err:  # fit validates before it trains anything
            broken.fit(X, y)
        assert str(err.value) == want
        if pname not in ("encoder", "backbone"):  # fixed by a supertml-* name
            with pytest.raises(ConfigError) as err:
                validate_model(name, **{**_tiny(name), pname: bad})
            assert str(err.value) == want


@pytest.mark.torch
def test_a_fit_that_forgets_check_params_still_validates(data):
    class Forgetful(FCNN):
        def fit(self, X, y, **kw):  # no check_params here
            self.fitted_ = True
            return self

    X, y = data
    with pytest.raises(ConfigError, match=r"^fcnn: batch_size must be an integer in \[1, 16777216\], got 0$"):
        Forgetful(batch_size=0).fit(X, y)
    assert Forgetful(batch_size=4).fit(X, y).fitted_

    class Calls(Forgetful):
        checks = 0

        def check_params(self):
            type(self).checks += 1
            super().check_params()

        def fit(self, X, y, **kw):  # super().fit inside a fit: one check, not two
            return super().fit(X, y, **kw)

    Calls().fit(X, y)
    assert Calls.checks == 1


@pytest.mark.sklearn
def test_a_hand_written_init_is_refused():
    with pytest.raises(TypeError, match="declare the parameters in PARAMS"):
        class Manual(Estimator):  # noqa: F841
            PARAMS = {"k": Param(1, integer(1), "k")}

            def __init__(self, k=1):
                self.k = k


@pytest.mark.sklearn
def test_extras_of_a_library_model_stay_extras():
    pytest.importorskip("sklearn")
    model = create_model("random-forest", n_estimators=5, criterion="entropy")
    assert model.extra_params == {"criterion": "entropy"}
    assert model.get_params()["criterion"] == "entropy"
    from sklearn.base import clone

    assert clone(model).extra_params == {"criterion": "entropy"}


@pytest.mark.sklearn
def test_fit_facts_defaults_and_fitted_values(data):
    assert fit_facts(create_model("random-forest")) == FitFacts(info={}, device="cpu", encoder=None)
    assert fit_facts(object()) == FitFacts()
    X, y = data
    rf = create_model("random-forest", n_estimators=5, n_jobs=1).fit(X, y)
    facts = fit_facts(rf)
    assert facts.info == rf.info_ and facts.info is not rf.info_ and facts.device == "cpu" and facts.encoder is None


# ----------------------------------------------------------------------------- encoders

@pytest.mark.sklearn
@pytest.mark.parametrize("name", ENCODER_NAMES)
def test_encoder_declaration_signature_and_get_params_agree(name):
    cls = ENCODERS.get(name).factory
    assert inspect.isclass(cls) and issubclass(cls, Declared)
    _declaration_agrees(cls)


@pytest.mark.sklearn
@pytest.mark.parametrize("name", ENCODER_NAMES)
def test_every_bad_encoder_option_is_a_one_line_config_error_at_construction(name):
    cls = ENCODERS.get(name).factory
    cases = _bad_cases(cls)
    assert cases
    for pname, bad in cases:
        with pytest.raises(ConfigError) as err:
            create_encoder(name, **{pname: bad})
        assert str(err.value) == _message(cls.param_owner(), pname, cls.PARAMS[pname].rule, bad)


# ----------------------------------------------------------------------------- bounds on work

HUGE = 10**12  # the typo (one zero too many, an exponent) that would run until killed


def _accepts(rule, value) -> bool:
    try:
        return bool(rule.ok(value))
    except Exception:  # noqa: BLE001 - a rule that cannot read a value refuses it
        return False


def _integer_like(rule) -> bool:
    return any(_accepts(rule, v) for v in (0, 1, 2, 8)) and not _accepts(rule, 1.5)


@pytest.mark.torch
def test_every_integer_parameter_of_a_model_or_encoder_is_bounded():
    """Trees, rounds, epochs, widths, members, batches, threads, seeds: every integer a user can
    give is refused beyond its bound, in both directions, so no parameter sizes unbounded work."""
    pytest.importorskip("torch")  # every model module is imported
    classes = [cls for cls, _ in _declared_classes()]
    assert len(classes) > 15
    unbounded = [f"{cls.__name__}.{name}" for cls in classes for name, p in cls.PARAMS.items()
                 if _integer_like(p.rule) and (_accepts(p.rule, HUGE) or _accepts(p.rule, -HUGE))]
    assert not unbounded, f"integer parameters without an upper (or lower) bound: {unbounded}"
    extras = [(cls, name, rule) for cls in classes for name, rule in getattr(cls, "EXTRA_RULES", {}).items()]
    assert {cls.__name__ for cls, _, _ in extras} >= {"XGBoost", "LightGBM", "CatBoost", "RealMLP"}
    loose = [f"{cls.__name__}.{name}" for cls, name, rule in extras
             if _accepts(rule, HUGE) or _accepts(rule, [HUGE]) or _accepts(rule, -HUGE)]
    assert not loose, f"library arguments that size work without a bound: {loose}"


@pytest.mark.parametrize("name", [p for p in MODEL_NAMES if p.values[0] in ("xgboost", "lightgbm", "catboost", "realmlp")])
def test_a_library_argument_that_sizes_work_is_bounded_before_training(name, data):
    """The library's own arguments, passed through as extras, are bounded like declared ones:
    the library itself would accept 1e12 epochs or an alias of the declared rounds."""
    _needs_backend(name)
    model = create_model(name, **_tiny(name))
    cls = type(model)
    model._check_extra_names(dict.fromkeys(cls.EXTRA_RULES))  # each bounded name is one the library takes
    X, y = data
    for extra, rule in cls.EXTRA_RULES.items():
        for bad in (*rule.bad, HUGE):
            want = _message(cls.model_name, extra, rule, bad)
            with pytest.raises(ConfigError) as err:
                validate_model(name, **{**_tiny(name), extra: bad})
            assert str(err.value) == want
            with pytest.raises(ConfigError) as err:  # fit checks before it trains anything
                create_model(name, **{**_tiny(name), extra: bad}).fit(X, y)
            assert str(err.value) == want


# ----------------------------------------------------------------------------- by hand, nowhere

def _declared_classes():
    found = []
    for package in ("models", "encoders"):
        for path in sorted((ROOT / package).glob("*.py")):
            module = importlib.import_module(f"{package}.{path.stem}")
            tree = ast.parse(path.read_text())
            for node in tree.body:
                cls = getattr(module, node.name, None) if isinstance(node, ast.ClassDef) else None
                if inspect.isclass(cls) and issubclass(cls, Declared):
                    found.append((cls, node))
    return found


@pytest.mark.torch
def test_no_class_assigns_a_declared_parameter_by_hand():
    pytest.importorskip("torch")
    classes = _declared_classes()
    assert {c.__name__ for c, _ in classes} >= {"DNN", "FCNN", "SuperTML", "RandomForest", "TextEncoder"}
    for cls, node in classes:
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                assert item.name != "__init__", f"{cls.__name__} writes its own __init__"
                for sub in ast.walk(item):
                    targets = sub.targets if isinstance(sub, ast.Assign) else (
                        [sub.target] if isinstance(sub, (ast.AugAssign, ast.AnnAssign)) else [])
                    for t in targets:
                        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                            assert t.attr not in cls.PARAMS, f"{cls.__name__}.{item.name} assigns {t.attr}"


# ----------------------------------------------------------------------------- one integer check

@pytest.mark.parametrize("value", [3, 3.0, np.int64(3), 3.5, True, "3", float("inf"), float("nan"), None])
@pytest.mark.sklearn
def test_limits_integer_and_the_rules_agree_on_what_an_integer_is(value):
    ok = is_whole(value) and 1 <= int(value) <= 10
    if ok:
        assert limits.integer(value, "--x", 1, 10) == 3
    else:
        with pytest.raises(ConfigError, match=r"^--x must be an integer, got "):
            limits.integer(value, "--x", 1, 10)
    assert integer(1, 10).ok(value) == (is_int(value) and ok)
