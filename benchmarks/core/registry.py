"""A small name -> factory registry, shared by datasets, models and encoders (timm style)."""
from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .errors import ConfigError


def check_options(where: str, fn: Callable[..., Any], options: dict[str, Any]) -> None:
    """Raise ConfigError unless `fn` accepts these keyword options (a typo in a suite, say).

    Binding the signature, not catching TypeError from the call, so that a TypeError
    raised deep inside a factory is never mistaken for a bad option.
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        return
    try:
        sig.bind(**options)
    except TypeError as exc:
        accepted = [p for p, v in sig.parameters.items() if v.kind in (v.KEYWORD_ONLY, v.POSITIONAL_OR_KEYWORD)]
        hint = f"; it takes {', '.join(accepted)}" if accepted else "; it takes no options"
        raise ConfigError(f"{where}: {exc}{hint}") from None


@dataclass(frozen=True)
class Entry:
    name: str
    factory: Callable[..., Any]
    description: str = ""
    tags: dict[str, Any] = field(default_factory=dict)
    meta: Any = None  # a typed registry's metadata (models: a ModelInfo) in place of tags


class Registry:
    """Maps names to factories; unknown names give one clear error with suggestions.

    `resolvers` handle parameterised names (e.g. ``supertml-text-resnet50`` for any timm
    backbone): each takes a name and returns an Entry or None.

    A typed registry (``meta``: a class, say a frozen dataclass) turns a registration's
    keywords into ``Entry.meta = meta(**keywords)``, checked when it is registered, and keeps
    no tags; an untyped one (datasets, encoders) keeps them as ``Entry.tags``.
    """

    def __init__(self, kind: str, meta: Callable[..., Any] | None = None):
        self.kind = kind
        self.meta = meta
        self._entries: dict[str, Entry] = {}
        self._resolvers: list[Callable[[str], Entry | None]] = []

    def register(self, name: str | None = None, *, description: str = "", **tags: Any):
        meta = None if self.meta is None else self.meta(**tags)  # bad metadata fails here, not at use

        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            key = name or fn.__name__.replace("_", "-")
            if key in self._entries:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            doc = description or (fn.__doc__ or "").strip().splitlines()[0:1]
            desc = doc if isinstance(doc, str) else (doc[0] if doc else "")
            self._entries[key] = Entry(key, fn, desc, dict(tags) if meta is None else {}, meta)
            return fn

        return decorator

    def make_entry(self, name: str, factory: Callable[..., Any], description: str = "", **tags: Any) -> Entry:
        """The Entry ``register`` stores, for resolvers to build theirs the same way."""
        if self.meta is None:
            return Entry(name, factory, description, dict(tags))
        return Entry(name, factory, description, meta=self.meta(**tags))

    def add_resolver(self, resolver: Callable[[str], Entry | None]) -> None:
        self._resolvers.append(resolver)

    def get(self, name: str) -> Entry:
        if name in self._entries:
            return self._entries[name]
        for resolver in self._resolvers:
            entry = resolver(name)
            if entry is not None:
                return entry
        close = difflib.get_close_matches(name, list(self._entries), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(
            f"unknown {self.kind} {name!r}{hint}; known: {', '.join(sorted(self._entries))}"
        )

    def create(self, name: str, /, **kwargs: Any) -> Any:
        """``factory(**kwargs)``; options the factory does not take are a one-line ConfigError.
        `name` is positional-only, so that a factory may take an option called ``name`` (keel's table)."""
        entry = self.get(name)
        check_options(f"{self.kind} {name!r}", entry.factory, kwargs)
        return entry.factory(**kwargs)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        try:
            self.get(name)
        except ConfigError:
            return False
        return True

    def __iter__(self) -> Iterator[Entry]:
        return iter(self._entries[k] for k in self.names())
