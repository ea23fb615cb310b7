"""Suites as data: a TOML file names datasets x models x seeds x settings.

Shipped suites live in ``benchmarks/suites/*.toml``; a path to any TOML file works too.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from datasets import SCOPES, Repeat
from datasets.preprocess import PreprocessConfig

from .core import limits
from .core.errors import ConfigError
from .core.naming import refuse_shared_files

SUITES_DIR = Path(__file__).parent / "suites"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    preprocess: PreprocessConfig = PreprocessConfig()
    val_fraction: float = 0.2
    test_fraction: float = 0.2  # sets the number of outer folds when `folds` is not given: round(1 / it)
    repeats: int | str = "auto"  # "auto": 5 when test splits are carved from a sample, else 1
    max_events: int | None = None
    metric_options: dict[str, Any] = field(default_factory=dict)  # e.g. { min_background = 10 } for AMS
    folds: int | None = None  # K of the repeated stratified K-fold whose folds the repeats are
    # Set when a model of the suite searches once per dataset or ranks features for `select`:
    # a fixed share of the events is then kept for those and never tested (datasets.Repeat).
    search_pool: bool = False
    base_seed: int = 0  # the suite's: repeat k is seed base_seed + k

    @property
    def k(self) -> int:
        """The number of outer folds."""
        return self.folds if self.folds is not None else max(2, round(1 / self.test_fraction))

    def repeat(self, seed: int) -> Repeat:
        """Which outer fold the repeat with this seed is."""
        return Repeat(index=int(seed) - self.base_seed, folds=self.k, base_seed=self.base_seed,
                      search_pool=self.search_pool)


@dataclass(frozen=True)
class SearchSpec:
    """Optuna search for one model: the study's trial and/or time budget."""

    trials: int | None = None
    timeout_s: float | None = None
    pruner: str = "median"
    # "fold": one search per repeat, inside its outer fold's training part (nested);
    # "once": one search per dataset on a fixed share of the events that no fold ever tests.
    scope: str = "fold"
    # Keep every complete trial's validation probabilities in the study (a tuned+ensemble
    # entry selects its members from them).
    keep_predictions: bool = False


# The entries one [[models]] table can stand for (``entries = [...]``): the model at its
# defaults (no search), the best configuration of its search, and a greedy ensemble of the
# search's configurations (Caruana et al. 2004), weights chosen on the search's validation.
DEFAULT, TUNED, ENSEMBLE = "default", "tuned", "tuned+ensemble"
ENTRIES = (DEFAULT, TUNED, ENSEMBLE)
ENSEMBLE_SIZE = 25  # greedy selection rounds (with replacement); a suite's ensemble = { size = N }


@dataclass(frozen=True)
class ModelSpec:
    name: str  # registry name
    label: str  # name in reports (unique within a suite)
    params: dict[str, Any] = field(default_factory=dict)
    search: SearchSpec | None = None
    # Preprocessing flags this model changes from its dataset's (e.g. one rung of a technique
    # ladder with the orientation fix); it still sees the same events of each seed.
    preprocess: dict[str, Any] = field(default_factory=dict)
    # Train on the `top` most important features only, ranked by permutation importance of
    # the `by` model on the search splits (benchmarks.importance): { top = K, by = "random-forest" }.
    select: dict[str, Any] = field(default_factory=dict)
    # One of ENTRIES when the suite's table lists ``entries`` (None: a plain entry, tuned if
    # it has a search); ``base`` is that table's label, which names the one search its tuned
    # entries share.
    entry: str | None = None
    base: str | None = None
    ensemble_size: int = ENSEMBLE_SIZE

    @property
    def search_label(self) -> str:
        """The label the model's search (study, stored summary) goes by."""
        return self.base or self.label

    @property
    def is_ensemble(self) -> bool:
        return self.entry == ENSEMBLE

    def facts(self) -> dict[str, Any]:
        """What a record says of the entry it is (empty for a plain entry)."""
        return {} if self.entry is None else {"entry": self.entry, "entry_of": self.search_label}

    def preprocessing(self, base: PreprocessConfig) -> PreprocessConfig:
        """The dataset's preprocessing with this model's overrides."""
        return PreprocessConfig.from_dict({**base.as_dict(), **self.preprocess}) if self.preprocess else base


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    datasets: tuple[DatasetSpec, ...]
    models: tuple[ModelSpec, ...]
    base_seed: int = 0
    blind: bool = False
    source: str = ""
    raw: dict = field(default_factory=dict)

    def model(self, label: str) -> ModelSpec:
        """The model labelled ``label``; a table's own label (one that lists ``entries``)
        names its searched entry, the one its search (``tune``) is for."""
        for m in self.models:
            if m.label == label:
                return m
        searched = [m for m in self.models if m.base == label and m.search is not None]
        if searched:
            return searched[-1]
        raise ConfigError(f"suite {self.name!r} has no model {label!r}; it has: {', '.join(m.label for m in self.models)}")


def list_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def _check_keys(where: str, d: dict, allowed: set[str]) -> None:
    unknown = set(d) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(allowed))}")


def load_suite(name_or_path: str) -> Suite:
    path = Path(name_or_path)
    if not (path.suffix == ".toml" and path.is_file()):
        path = SUITES_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise ConfigError(f"unknown suite {name_or_path!r}; known: {', '.join(list_suites())} (or a path to a .toml file)")
    if path.stat().st_size > limits.MAX_SUITE_BYTES:
        raise ConfigError(f"{path}: a suite file of {path.stat().st_size} bytes is not a suite (limit {limits.MAX_SUITE_BYTES})")
    try:
        raw = tomllib.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a suite") from None
    return parse_suite(raw, source=str(path), default_name=path.stem)


def parse_suite(raw: dict, source: str = "", default_name: str = "suite") -> Suite:
    try:
        return _parse(raw, source, default_name)
    except (TypeError, ValueError, AttributeError) as exc:  # a value of the wrong type
        raise ConfigError(f"suite {source or default_name}: {exc}") from None


def _positive_or_none(where: str, value, kind=int):
    if value is None:
        return None
    if kind is int:
        return limits.integer(value, where, 1, limits.MAX_EVENTS)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ConfigError(f"{where} must be a positive number, got {value!r}")
    return kind(value)


def _select(where: str, select: dict) -> dict:
    """A model's feature selection: ``top`` (required), ``by`` (a model name), ``repeats``."""
    if not select:
        return {}
    _check_keys(f"{where}.select", select, {"top", "by", "repeats"})
    if "top" not in select:
        raise ConfigError(f"{where}.select needs top = K (how many of the most important features to keep)")
    limits.integer(select["top"], f"{where}.select.top", 1, 10_000)
    limits.integer(select.get("repeats", 3), f"{where}.select.repeats", 1, 100)
    return {"top": int(select["top"]), "by": str(select.get("by", "random-forest")), "repeats": int(select.get("repeats", 3))}


def _entries(where: str, spec: ModelSpec, m: dict) -> list[ModelSpec]:
    """The entries one [[models]] table stands for: itself, or one spec per listed entry,
    labelled ``label (entry)``; the tuned ones share one search (and its time)."""
    if "entries" not in m:
        if "ensemble" in m:
            raise ConfigError(f"{where}: ensemble = {{...}} goes with entries = [..., \"{ENSEMBLE}\"]")
        return [spec]
    entries = m["entries"]
    if not isinstance(entries, list) or not entries or not all(isinstance(e, str) for e in entries):
        raise ConfigError(f"{where}: entries must be a list of {', '.join(ENTRIES)}, got {entries!r}")
    unknown = [e for e in entries if e not in ENTRIES]
    if unknown or len(set(entries)) != len(entries):
        raise ConfigError(f"{where}: entries must name each of {', '.join(ENTRIES)} at most once, got {entries!r}")
    if spec.search is None and set(entries) & {TUNED, ENSEMBLE}:
        raise ConfigError(f"{where}: entries {TUNED!r} and {ENSEMBLE!r} need a [search] (trials and/or timeout_s)")
    size = ENSEMBLE_SIZE
    if "ensemble" in m:
        _check_keys(f"{where}.ensemble", _table(f"{where}: ensemble", m["ensemble"]), {"size"})
        if ENSEMBLE not in entries:
            raise ConfigError(f"{where}: ensemble = {{...}} goes with entries = [..., \"{ENSEMBLE}\"]")
        size = limits.integer(m["ensemble"].get("size", ENSEMBLE_SIZE), f"{where}.ensemble.size", 1, 1000)
    search = None if spec.search is None else replace(spec.search, keep_predictions=ENSEMBLE in entries)
    return [replace(spec, label=f"{spec.label} ({entry})", entry=entry, base=spec.label, ensemble_size=size,
                    search=None if entry == DEFAULT else search)
            for entry in ENTRIES if entry in entries]


def _table(where: str, value) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table ({{ key = value, ... }}), got {type(value).__name__}")
    return value


def _parse(raw: dict, source: str, default_name: str) -> Suite:
    _check_keys(f"suite {default_name}", raw, {"name", "description", "base_seed", "blind", "datasets", "models"})
    datasets = []
    for i, d in enumerate(raw.get("datasets", [])):
        where = f"suite {default_name}, datasets[{i}]"
        _check_keys(where, d, {"name", "options", "preprocess", "val_fraction", "test_fraction", "repeats", "max_events",
                               "metric_options", "folds"})
        if "name" not in d:
            raise ConfigError(f"{where}: needs a name")
        repeats = d.get("repeats", "auto")
        if repeats != "auto":
            if isinstance(repeats, str):
                raise ConfigError(f"{where}: repeats must be 'auto' or a positive integer, got {repeats!r}")
            repeats = limits.integer(repeats, f"{where}: repeats", 1, limits.MAX_SEEDS)
        fractions = [float(d.get(k, 0.2)) for k in ("val_fraction", "test_fraction")]
        if not all(0 < f < 1 for f in fractions) or sum(fractions) >= 1:
            raise ConfigError(f"{where}: val_fraction and test_fraction must be in (0, 1) and sum below 1")
        folds = None if d.get("folds") is None else limits.integer(d["folds"], f"{where}: folds", 2, 100)
        if folds is not None and fractions[0] + 1 / folds >= 1:
            raise ConfigError(f"{where}: val_fraction {fractions[0]} does not fit beside a test fold of 1/{folds}")
        datasets.append(DatasetSpec(
            name=str(d["name"]), options=dict(_table(f"{where}: options", d.get("options", {}))),
            preprocess=PreprocessConfig.from_dict(d.get("preprocess")),
            val_fraction=fractions[0], test_fraction=fractions[1],
            repeats=repeats, max_events=_positive_or_none(f"{where}: max_events", d.get("max_events")),
            metric_options=dict(_table(f"{where}: metric_options", d.get("metric_options", {}))),
            folds=folds,
        ))
    models = []
    for i, m in enumerate(raw.get("models", [])):
        where = f"suite {default_name}, models[{i}]"
        _check_keys(where, m, {"name", "label", "params", "search", "preprocess", "select", "entries", "ensemble"})
        if "name" not in m:
            raise ConfigError(f"{where}: needs a name")
        search = None
        if "search" in m:
            _check_keys(f"{where}.search", m["search"], {"trials", "timeout_s", "pruner", "scope"})
            scope = m["search"].get("scope", "fold")
            if scope not in SCOPES:
                raise ConfigError(f"{where}.search.scope must be one of {', '.join(SCOPES)}, got {scope!r}")
            search = SearchSpec(
                trials=_positive_or_none(f"{where}.search.trials", m["search"].get("trials")),
                timeout_s=_positive_or_none(f"{where}.search.timeout_s", m["search"].get("timeout_s"), float),
                pruner=str(m["search"].get("pruner", "median")), scope=scope,
            )
        preprocess = dict(_table(f"{where}: preprocess", m.get("preprocess", {})))
        PreprocessConfig.from_dict(preprocess)  # unknown flags or bad values fail here
        select = _select(where, _table(f"{where}: select", m.get("select", {})))
        spec = ModelSpec(str(m["name"]), str(m.get("label", m["name"])),
                         dict(_table(f"{where}: params", m.get("params", {}))), search, preprocess, select)
        models.extend(_entries(where, spec, m))
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        raise ConfigError(f"suite {default_name}: a dataset is listed twice ({', '.join(sorted({n for n in names if names.count(n) > 1}))})")
    labels = [m.label for m in models]
    dupes = {lab for lab in labels if labels.count(lab) > 1}
    if dupes:
        raise ConfigError(f"suite {default_name}: duplicate model labels {', '.join(sorted(dupes))}; give each a distinct label")
    refuse_shared_files(f"suite {default_name}: model labels", [(lab, lab) for lab in labels],
                        "; give each a distinct label")
    if not datasets or not models:
        raise ConfigError(f"suite {default_name}: needs at least one dataset and one model")
    if not isinstance(raw.get("blind", False), bool):
        raise ConfigError(f"suite {default_name}: blind must be true or false")
    base_seed = limits.integer(raw.get("base_seed", 0), f"suite {default_name}: base_seed", 0,
                               limits.MAX_SEED - limits.MAX_SEEDS)
    # What runs once per dataset must never see a test event of any fold: its events are set aside.
    pooled = any(m.select or (m.search is not None and m.search.scope == "once") for m in models)
    datasets = [replace(d, search_pool=pooled, base_seed=base_seed) for d in datasets]
    return Suite(
        name=str(raw.get("name", default_name)), description=str(raw.get("description", "")),
        datasets=tuple(datasets), models=tuple(models), base_seed=base_seed,
        blind=bool(raw.get("blind", False)), source=source, raw=raw,
    )
