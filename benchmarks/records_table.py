"""A run's records as one tidy table: a row per dataset x model x seed x control, a column per
figure (each metric, each timing and split size, each key parameter as ``param.<name>``).

One function builds it, for every reader: the store writes it as ``records.csv`` beside every
results.json, ``export`` writes it as CSV, Parquet or JSON, and ``benchmarks.api`` hands it
to notebooks. While a run is blind the figures that rest on the private split are left out
(``Metric.hidden_when_blind``, the rule the reports follow), so no copy of the table leaks them.
"""
from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

from .core.errors import ConfigError, MissingBackendError
from .core.files import atomic_write
from .core.scoring import PRIVATE, get_metric
from .run_record import Record, thaw

RECORDS_CSV = "records.csv"
FORMATS = ("csv", "parquet", "json")
TEXT = ("dataset", "model", "registry_name", "family", "control")  # always strings, whatever they hold


def hidden_figures(info: Mapping | None, blind: bool):
    """The predicate of metric keys a reader may not see (a dataset description's metric's rule;
    everything visible when not blind). Every copy of a run's figures (records.csv, MLflow) uses it."""
    if not blind:
        return lambda key: False
    if info is None:  # a dataset not described: the plain rule
        return lambda key: key.endswith(f"_{PRIVATE}")
    return get_metric(info["metric"], **thaw(info.get("metric_options") or {})).hidden_when_blind


def _row(rec: Record, hidden) -> tuple[dict, dict, dict, dict]:
    """(identity, metrics, timings, params) of one record, each in stored order."""
    ident: dict[str, Any] = {"dataset": rec.dataset, "model": rec.model, "registry_name": rec.registry_name,
                             "family": rec.family, "seed": rec.seed, "control": rec.control}
    entry = (rec.facts or {}).get("entry")
    if entry is not None:
        ident["entry"] = entry
    metrics = {k: v for k, v in rec.metrics.items() if not hidden(k) and k not in ident}
    # timing repeats some split sizes the metrics hold (n_test): one column, the same value
    timing = {k: v for k, v in rec.timing.items() if k not in metrics and k not in ident}
    timing.update(device=rec.device, tuned=rec.tuned, executor=rec.executor)
    params = {f"param.{k}": v for k, v in rec.params.items()}
    return ident, metrics, timing, params


def as_text(v: Any) -> str:
    """A stored value as text: itself if a string, else its JSON (keys sorted)."""
    return v if isinstance(v, str) else json.dumps(thaw(v), sort_keys=True)


def _column(name: str, values: list):
    """One column with the dtype its values share: boolean, int64 (Int64 with gaps), float64,
    else string (non-scalars as JSON)."""
    import pandas as pd

    present = [v for v in values if v is not None]
    if name not in TEXT and present:
        if all(isinstance(v, bool) for v in present):
            return pd.array(values, dtype="boolean")
        if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
            return pd.array(values, dtype="Int64" if len(present) < len(values) else "int64")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
            return pd.array([math.nan if v is None else float(v) for v in values], dtype="float64")
    return pd.array([None if v is None else as_text(v) for v in values], dtype="string")


def records_frame(records: Iterable[Record], datasets: Mapping[str, Mapping], blind: bool):
    """The tidy table of ``records`` (``datasets``: the run's descriptions, for each metric's
    blind rule): columns identity, entry (when any record is one), metrics, timings and
    sizes, device, tuned, executor, then ``param.<name>``; one row per record, stored order."""
    import pandas as pd

    rows = [_row(r, hidden_figures(datasets.get(r.dataset), blind)) for r in records]
    names: list[dict] = [{k: None for k in ("dataset", "model", "registry_name", "family", "seed", "control")},
                         {}, {}, {}]
    for parts in rows:
        for group, part in zip(names, parts):
            group.update(dict.fromkeys(part))
    columns = [c for group in names for c in group]
    merged = [{k: v for part in parts for k, v in part.items()} for parts in rows]
    return pd.DataFrame({c: _column(c, [m.get(c) for m in merged]) for c in columns}, index=pd.RangeIndex(len(rows)))


def _json_rows(frame) -> list[dict]:
    import pandas as pd

    def plain(v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return None
        return v.item() if hasattr(v, "item") else v

    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def write_table(frame, path: Path, fmt: str) -> Path:
    """Write the table atomically as ``fmt`` (csv, parquet, json: a list of row objects, missing
    figures as null); parquet needs pyarrow."""
    if fmt == "csv":
        data = frame.to_csv(index=False).encode()
    elif fmt == "json":
        data = json.dumps(_json_rows(frame), indent=1, allow_nan=False).encode()
    elif fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise MissingBackendError("--format parquet needs pyarrow: pip install 'supertml-bench[parquet]'") from None
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
    else:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return atomic_write(path, lambda fh: fh.write(data))
