"""Parameters declared once: each estimator's and encoder's ``PARAMS`` table.

A class lists its parameters once, ``PARAMS = {"n_estimators": Param(300, integer(1), "trees"), ...}``
(default, rule, one-line doc), and ``Declared`` makes the rest from that table:

* ``__init__``: generated (real source, like ``dataclasses``), so ``inspect.signature``,
  scikit-learn's ``get_params``/``clone`` and ``registry.check_options`` see the real
  parameter names and defaults; every parameter is stored exactly as given, nothing
  converted (``clone`` relies on it). A class that writes its own ``__init__`` is refused.
* ``check_params()``: every value against its rule, one ``ConfigError`` line naming the
  owner, the parameter and the value (``"fcnn: batch_size must be an integer >= 1, got 0"``);
  cross-parameter checks are small overrides that call ``super().check_params()``.
* ``describe_params()`` and a generated "Parameters" section of the class docstring.

A subclass's ``PARAMS`` adds to (or replaces entries of) its parents'; its own entries come
first, the inherited ones after (the torch models' common tail: ``n_classes`` ... ``num_threads``).
``EXTRA`` names a ``**keywords`` parameter (library extras), kept in ``extra_params``.

Rules are also how the harness checks a user's integers (``limits.integer``): one
``is_int``, one range test.
"""
from __future__ import annotations

import keyword
import math
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from .errors import ConfigError


# ----------------------------------------------------------------------------- rules

@dataclass(frozen=True)
class Rule:
    """What a parameter must be: ``ok(value)``, described by ``what`` in the error.

    ``bad``: values the rule refuses (a conformance test feeds them to every parameter).
    ``message``: the error's wording, if not "``{owner}: {name} must be {what}, got {value!r}``"
    (same fields).
    """

    what: str
    ok: Callable[[Any], bool]
    bad: tuple = ()
    message: str | None = None

    def __or__(self, other: "Rule") -> "Rule":
        def ok(v: Any) -> bool:
            return self.ok(v) or other.ok(v)

        bad = tuple(v for v in self.bad + other.bad if not _safe_ok(ok, v))
        return Rule(f"{self.what} or {other.what}", ok, bad)

    def named(self, what: str) -> "Rule":
        """The same rule, described otherwise."""
        return Rule(what, self.ok, self.bad, self.message)

    def says(self, message: str) -> "Rule":
        """The same rule with its own error wording (``{owner}``, ``{name}``, ``{what}``, ``{value!r}``)."""
        return Rule(self.what, self.ok, self.bad, message)

    def error(self, owner: str, name: str, value: Any) -> str:
        return (self.message or "{owner}: {name} must be {what}, got {value!r}").format(
            owner=owner, name=name, what=self.what, value=value)


def _safe_ok(ok: Callable[[Any], bool], v: Any) -> bool:
    try:
        return bool(ok(v))
    except Exception:  # noqa: BLE001 - a rule that cannot read a value refuses it
        return False


def is_int(v: Any) -> bool:
    """An integer, numpy's included; a flag (bool) is not one."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def is_real(v: Any) -> bool:
    """A finite number (an integer or a float, numpy's included), not a flag."""
    return (is_int(v) or isinstance(v, (float, np.floating))) and math.isfinite(v)


def is_whole(v: Any) -> bool:
    """An integer, or a float with an integral value (what a TOML or JSON file may give)."""
    return is_int(v) or (isinstance(v, float) and v.is_integer())


def within(v, low=None, high=None, low_open: bool = False, high_open: bool = False) -> bool:
    above = low is None or (v > low if low_open else v >= low)
    below = high is None or (v < high if high_open else v <= high)
    return above and below


def _range(low, high, low_open: bool, high_open: bool) -> str:
    if high is None:
        return "" if low is None else f" {'>' if low_open else '>='} {low}"
    if low is None:
        return f" {'<' if high_open else '<='} {high}"
    return f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"


_NOT_A_NUMBER = ("x", True)


def integer(low: int | None = None, high: int | None = None, note: str = "") -> Rule:
    bad = _NOT_A_NUMBER + (1.5,) + (() if low is None else (low - 1,)) + (() if high is None else (high + 1,))
    return Rule(f"an integer{_range(low, high, False, False)}{note}",
                lambda v: is_int(v) and within(v, low, high), bad)


def real(low: float | None = None, high: float | None = None, low_open: bool = False,
         high_open: bool = False) -> Rule:
    bad = _NOT_A_NUMBER + (float("nan"), float("inf"))
    if low is not None:
        bad += (low if low_open else low - 1.0,)
    if high is not None:
        bad += (high if high_open else high + 1.0,)
    return Rule(f"a number{_range(low, high, low_open, high_open)}",
                lambda v: is_real(v) and within(v, low, high, low_open, high_open), bad)


def _kind(v: Any) -> type:
    """Types as a parameter means them: numpy's integers are integers, a flag is no number."""
    if isinstance(v, (bool, np.bool_)):
        return bool
    if is_int(v):
        return int
    if isinstance(v, (float, np.floating)):
        return float
    return type(v)


def one_of(*choices: Any) -> Rule:
    # Compare kinds too: True == 1 and 1.0 == 1, but a flag is not a number.
    return Rule(f"one of {', '.join(map(repr, choices))}",
                lambda v: any(_kind(v) is _kind(c) and v == c for c in choices), ("no-such-choice", 1.5))


ANY = Rule("anything", lambda v: True)
BOOL = Rule("true or false", lambda v: isinstance(v, (bool, np.bool_)), ("yes", 1))
NONE = Rule("None", lambda v: v is None)
TEXT = Rule("a string", lambda v: isinstance(v, str), (1,))
MAPPING = Rule("a table of options", lambda v: isinstance(v, Mapping), ("x",))
NAMES = Rule("a list of strings", lambda v: isinstance(v, (list, tuple)) and all(isinstance(s, str) for s in v),
             ("x", [1]))

# Upper bounds of the integers a user can give a model or an encoder. Every integer parameter
# has one (a test checks): generous for any real use, they turn a typo such as 1e12 trees or
# epochs, which would run until killed or allocate without end, into a one-line error.
MAX_ROUNDS = 1_000_000  # trees, boosting rounds, optimisation steps
MAX_EPOCHS = 100_000  # passes over the training data (and patiences, schedule lengths in them)
MAX_WIDTH = 1 << 16  # neurons of a layer, embedding sizes, bins
MAX_LAYERS = 1_000  # layers, blocks, tree depth
MAX_BATCH = 1 << 24  # rows of a training or evaluation batch
MAX_MEMBERS = 1_000  # ensemble members, snapshots, test-time copies
MAX_THREADS = 1_024  # CPU threads of one fit
MAX_CLASSES = 100_000
MAX_ROWS = 10**9  # rows in a leaf (a minimum: large only makes less work)

SEED = integer(0, 2**32 - 1) | NONE  # numpy's and scikit-learn's seed range
THREADS = integer(-1, MAX_THREADS) | NONE  # -1 (or None): the library's all-cores default


def check_value(owner: str, name: str, value: Any, rule: Rule) -> None:
    if not _safe_ok(rule.ok, value):
        raise ConfigError(rule.error(owner, name, value))


# ----------------------------------------------------------------------------- declarations

@dataclass(frozen=True)
class Param:
    """One parameter: its default, the rule its value must follow and a one-line doc."""

    default: Any
    rule: Rule = ANY
    doc: str = ""

    def but(self, **changes: Any) -> "Param":
        """This parameter with another default, rule or doc (a subclass's variant)."""
        return Param(**{"default": self.default, "rule": self.rule, "doc": self.doc, **changes})


@dataclass(frozen=True)
class Declaration:
    """A class's full parameter table, in signature order."""

    params: Mapping[str, Param]
    keyword_only: bool = False
    extra: str | None = None
    names: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", tuple(self.params))


def _merge(own: Mapping[str, Param], inherited: Mapping[str, Param]) -> dict[str, Param]:
    return {**own, **{k: v for k, v in inherited.items() if k not in own}}


def _generate_init(cls: type, decl: Declaration) -> Callable[..., None]:
    for name in decl.names:
        if not name.isidentifier() or keyword.iskeyword(name) or name == "self":
            raise TypeError(f"{cls.__name__}: {name!r} cannot be a parameter name")
    args = ["self"] + (["*"] if decl.keyword_only and decl.names else [])
    args += [f"{n}=_defaults[{n!r}]" for n in decl.names]
    body = [f"    self.{n} = {n}" for n in decl.names]
    if decl.extra:
        args.append(f"**{decl.extra}")
        body.append(f"    self.extra_params = {decl.extra}")
    body.append("    self._after_init()")
    source = f"def __init__({', '.join(args)}):\n" + "\n".join(body) + "\n"
    scope: dict[str, Any] = {"_defaults": {n: p.default for n, p in decl.params.items()}}
    exec(source, scope)  # noqa: S102 - the source is built from identifiers only, checked above
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = f"Parameters are stored as given; see {cls.__name__}.PARAMS."
    init.__declared__ = decl
    return init


class Declared:
    """Generates ``__init__``, ``check_params`` and docs from the class's ``PARAMS``.

    Subclasses set ``PARAMS`` (a table of ``Param``), optionally ``EXTRA`` (the name of a
    ``**keywords`` parameter) and ``KEYWORD_ONLY``; ``param_owner()`` names the class in errors.
    """

    PARAMS: ClassVar[Mapping[str, Param]] = {}
    EXTRA: ClassVar[str | None] = None
    KEYWORD_ONLY: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "__init__" in cls.__dict__ and not hasattr(cls.__dict__["__init__"], "__declared__"):
            raise TypeError(f"{cls.__name__}: declare the parameters in PARAMS; the __init__ is generated from it")
        inherited = getattr(super(cls, cls), "PARAMS", {})
        own = cls.__dict__.get("PARAMS", {})
        cls.PARAMS = _merge(own, inherited)
        cls.__init__ = _generate_init(cls, Declaration(cls.PARAMS, cls.KEYWORD_ONLY, cls.EXTRA))
        if own and cls.__doc__ is not None:
            cls.__doc__ = cls.__doc__.rstrip() + "\n\n    Parameters (from PARAMS):\n\n" + "\n".join(
                f"    * {line}" for line in cls.describe_params()) + "\n"
        super().__init_subclass__(**kwargs)

    def _after_init(self) -> None:
        """Runs at the end of the generated ``__init__`` (an encoder checks its options here)."""

    @classmethod
    def param_owner(cls) -> str:
        return cls.__name__

    @classmethod
    def describe_params(cls) -> list[str]:
        """One line per parameter: ``name=default: doc (rule)``."""
        return [f"``{n}={p.default!r}``: {p.doc} ({p.rule.what})" if p.rule is not ANY else
                f"``{n}={p.default!r}``: {p.doc}" for n, p in cls.PARAMS.items()]

    def check_params(self) -> None:
        """Raise a one-line ConfigError for a value its rule refuses; trains nothing."""
        owner = self.param_owner()
        for name, param in self.PARAMS.items():
            check_value(owner, name, getattr(self, name), param.rule)
