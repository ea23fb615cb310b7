"""Every model's registration is a typed ModelInfo, checked when it is registered.

For each model the ``models`` package registers and names its resolvers make (SuperTML
backbones, every rung of the DNN ladder): the family and data facts are known ones, the
declared ``threads_param`` is a parameter of the model's constructor, and it is the very
parameter the harness used to find by building the model and looking for ``n_jobs`` or
``num_threads`` among its ``get_params()`` (computed here, the old way, for the comparison).
"""
import inspect
import re
from pathlib import Path
from types import MappingProxyType, SimpleNamespace

import pytest

from benchmarks.core.registry import Entry
from benchmarks.fits import fit_resources, thread_param, with_threads
from benchmarks.pipeline import model_kwargs
from benchmarks.suite import ModelSpec
from datasets import DATASETS
from models import MODELS, ModelInfo, backend_available, create_model, list_models, model_entry, model_info
from models import register_model
from models.dnn_ladder import LADDER
from models.info import DATA_FACTS, FAMILIES

pytestmark = pytest.mark.sklearn  # registrations only; a test that builds a model marks its backend

ROOT = Path(__file__).resolve().parents[1]

RESOLVED = (["supertml-text-resnet50", "supertml-pixels-resnet10t"]
            + [f"dnn-lumin-{e}" for e in LADDER] + [f"dnn-lumin-quick-{e}" for e in LADDER])
PACKAGE = [n for n in list_models() if model_entry(n).factory.__module__.startswith("models.")]
NAMES = PACKAGE + RESOLVED


def _needs(name: str) -> None:
    info = model_info(name)
    if not backend_available(info.backend):
        pytest.skip(f"{name} needs {info.backend}")
    if info.family == "supertml":
        pytest.importorskip("timm")


# Deep tabular networks registered outside the dnn-* names.
DEEP_TABULAR = {"tabm", "realmlp"}
# Models registered after the declaration replaced the search: their libraries name the
# thread count otherwise (CatBoost's thread_count, pytabkit's n_threads).
LIBRARY_THREAD_NAMES = {"catboost": "thread_count", "realmlp": "n_threads"}


def _old_thread_param(name: str) -> str | None:
    """How benchmarks.fits found a model's thread parameter before registrations declared it."""
    try:
        params = create_model(name).get_params()
    except Exception:  # noqa: BLE001 - as the old code: no get_params or defaults, no thread count
        return None
    return next((p for p in ("n_jobs", "num_threads") if p in params), None)


def test_the_package_registers_the_known_models():
    assert {"random-forest", "xgboost", "lightgbm", "fcnn", "dnn", "supertml-text-resnet18"} <= set(PACKAGE)


@pytest.mark.parametrize("name", NAMES)
def test_every_model_has_a_typed_info(name):
    info = model_info(name)
    assert isinstance(info, ModelInfo) and model_entry(name).meta == info
    assert model_entry(name).tags == {}  # typed: nothing left in the untyped tags
    assert info.family in FAMILIES and info.is_tabular == (info.family == "tabular")
    assert set(info.data_facts) <= set(DATA_FACTS) and isinstance(info.data_facts, tuple)
    assert info.search_space is None or callable(info.search_space)
    assert isinstance(info.accepts_device, bool)
    assert info.report_facts is None or isinstance(info.report_facts, MappingProxyType)
    assert info.family == ("supertml" if name.startswith("supertml-")
                           else "dnn" if name.startswith("dnn") or name in DEEP_TABULAR else "tabular")


@pytest.mark.parametrize("name", [pytest.param(n, marks=getattr(pytest.mark, model_info(n).backend)) for n in NAMES])
def test_threads_param_is_a_constructor_parameter_and_what_building_found(name):
    _needs(name)
    declared = model_info(name).threads_param
    model = create_model(name)
    if declared is not None:
        assert declared in inspect.signature(type(model)).parameters, f"{type(model).__name__} takes no {declared}"
    assert declared == LIBRARY_THREAD_NAMES.get(name, _old_thread_param(name))
    assert thread_param(name) == declared  # what fits.with_threads / fit_resources use


def test_with_threads_and_fit_resources_keep_their_behaviour():
    assert with_threads("random-forest", {}, 3) == {"n_jobs": 3}
    assert with_threads("random-forest", {"n_jobs": 2}, 3) == {"n_jobs": 2}  # a suite's own count wins
    assert with_threads("random-forest", {"n_jobs": -1}, 3) == {"n_jobs": 3}
    assert with_threads("dnn", {}, None) == {}
    assert with_threads("dnn-lumin-quick-14", {"lr": 0.1}, 2) == {"lr": 0.1, "num_threads": 2}
    if "info-test-nothreads" not in MODELS.names():
        MODELS.register("info-test-nothreads", backend="sklearn")(lambda **kw: SimpleNamespace(**kw))
    assert with_threads("info-test-nothreads", {"a": 1}, 4) == {"a": 1}
    res = fit_resources(ModelSpec("xgboost", "x", {"n_jobs": 5}), "cuda:0", 2)
    assert res.threads == 5 and res.gpus == 1.0
    res = fit_resources(ModelSpec("random-forest", "rf", {}), "cuda:0", 2)
    assert res.threads == 2 and res.gpus == 0.0  # takes no device: no GPU share
    assert fit_resources(ModelSpec("info-test-nothreads", "n", {"n_jobs": 5}), "cpu", 2).threads == 2


def test_report_facts_are_read_only_and_recorded_as_before():
    info = model_info("dnn-lumin-quick-14")
    assert dict(info.report_facts) == {"ladder": "strong-2020", "experiment": 14, "rung": LADDER[14][0],
                                       "position": list(LADDER).index(14), "sizing": "2-core"}
    with pytest.raises(TypeError):
        info.report_facts["experiment"] = 0
    facts = {"a": 1}
    frozen = ModelInfo(report_facts=facts)
    facts["a"] = 2
    assert frozen.report_facts == {"a": 1}
    assert model_info("dnn").report_facts is None and model_info("random-forest").report_facts is None


def test_data_facts_are_the_ones_the_harness_passes():
    splits = SimpleNamespace(feature_names=("a", "b"), missing_value=-999.0, categorical=[1], augmentation=None)
    kwargs = model_kwargs(SimpleNamespace(name="dnn"), {}, 0, "cpu", splits)
    assert set(model_info("dnn").data_facts) == set(DATA_FACTS) and set(DATA_FACTS) <= set(kwargs)
    assert set(model_kwargs(SimpleNamespace(name="random-forest"), {}, 0, "cpu", splits)) == {"random_state",
                                                                                              "device"}


@pytest.mark.parametrize("bad", [
    dict(family="cnn"),
    dict(data_facts=("feature_name",)),
    dict(data_facts="feature_names"),
    dict(data_facts=("missing_value", "missing_value")),
    dict(threads_param="n jobs"),
    dict(threads_param=4),
    dict(accepts_device="yes"),
    dict(backend=""),
    dict(search_space={"lr": 0.1}),
    dict(report_facts=[("a", 1)]),
])
def test_an_invalid_registration_raises_when_registered(bad):
    with pytest.raises(ValueError):
        register_model("info-test-invalid", **bad)  # before any factory is decorated
    with pytest.raises(ValueError):
        MODELS.register("info-test-invalid", **bad)
    with pytest.raises(ValueError):
        MODELS.make_entry("info-test-invalid", lambda **kw: None, **bad)
    assert "info-test-invalid" not in MODELS.names()


def test_an_unknown_keyword_raises_too():
    with pytest.raises(TypeError):
        MODELS.register("info-test-invalid", famly="tabular")


def test_a_resolver_entry_without_info_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(MODELS, "_resolvers", [lambda n: Entry(n, dict, "hand-made", {"family": "dnn"})
                                              if n == "info-test-hand-made" else None])
    with pytest.raises(TypeError, match="no ModelInfo"):
        model_info("info-test-hand-made")


def test_untyped_registries_keep_their_tags():
    assert any(e.tags for e in DATASETS) and all(e.meta is None for e in DATASETS)


METADATA_BY_TAG = re.compile(r"""tags(\.get\(|\[)\s*["'](backend|family|accepts_device|threads_param|data_facts"""
                             r"""|search_space|report_facts)["']""")


def test_no_code_reads_model_metadata_from_tags():
    """A reader left on ``entry.tags.get("family", "tabular")`` would silently see the default."""
    hits = [f"{p.relative_to(ROOT)}:{i}" for d in ("benchmarks", "models", "reports", "datasets", "encoders", "tests")
            for p in sorted((ROOT / d).rglob("*.py")) if p.name != "test_model_info.py"
            for i, line in enumerate(p.read_text().splitlines(), 1) if METADATA_BY_TAG.search(line)]
    assert not hits, f"read model_info(name) instead: {hits}"


def test_the_families_reports_compare_are_known_ones():
    """Records store the family string; reports compare it with these literals."""
    compared = re.compile(r'\.family\s*[!=]=\s*"(\w+)"')
    found = {name for p in sorted((ROOT / "reports").rglob("*.py"))
             for m in compared.finditer(p.read_text()) for name in m.groups() if name}
    assert found and found <= set(FAMILIES)
