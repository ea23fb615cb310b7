"""Experiment tracking: a stored run, logged into MLflow.

One parent MLflow run per suite run (tags: suite, run directory, git commit, executor,
device, blind; the report, its plots and the manifest as artifacts) and one child run per
record (its parameters, its metrics and timings, tags for dataset, model, seed, control and
where it ran). It is logged from the stored run, after the run, so tracking can never change
a result, and a run can be logged again later (``report RUN_DIR --mlflow URI``).

A blind run's private-test figures never leave the run directory: no metric of the private
split is logged, and results.json (which holds them) is not uploaded; the report and plots
of a blind run are the blind ones. Credentials in the tracking URI are redacted wherever it
is shown.
"""
from __future__ import annotations

import logging
import math
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from benchmarks import store
from benchmarks.core.errors import BenchmarkError, ConfigError, MissingBackendError, excerpt
from benchmarks.core.secrets import redact
from benchmarks.records_table import as_text, hidden_figures
from benchmarks.run_record import Record

MAX_PARAM_CHARS = 500  # what MLflow stores of a parameter's value (longer ones are cut, marked)
BATCH = 100  # metrics per log_batch call (MLflow accepts up to 1000)


def require_mlflow():
    try:
        import mlflow  # noqa: F401
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingBackendError("--mlflow needs MLflow; install it with: pip install -e '.[mlflow]'") from None
    return MlflowClient


def tracking_uri(given: str | None) -> str:
    """The store ``--mlflow [URI]`` names: the URI given, else MLflow's MLFLOW_TRACKING_URI."""
    uri = given or os.environ.get("MLFLOW_TRACKING_URI", "")
    if not uri:
        raise ConfigError("--mlflow needs a tracking URI (e.g. sqlite:///mlflow.db or http://HOST:5000), "
                          "or MLFLOW_TRACKING_URI set")
    return uri


def check_store(uri: str) -> None:
    """Reach the store before any work, so that a run of hours does not end in a failed log."""
    client_cls = require_mlflow()
    with _mlflow_errors(uri), _one_try():
        client_cls(tracking_uri=uri).search_experiments(max_results=1)


@contextmanager
def _mlflow_errors(uri: str) -> Iterator[None]:
    """MLflow's own output quiet, and any MLflow or connection failure one BenchmarkError line."""
    from mlflow.exceptions import MlflowException

    try:
        with _quiet():
            yield
    except MlflowException as exc:
        raise BenchmarkError(f"MLflow at {redact(uri)}: {_reason(exc.message)}") from None
    except OSError as exc:  # a store that cannot be reached or written
        raise BenchmarkError(f"MLflow at {redact(uri)}: {exc.strerror or exc}") from None


@contextmanager
def _one_try() -> Iterator[None]:
    """MLflow's HTTP client retries an unreachable server with back-off for minutes; the check
    before a run asks once (the logging after it keeps MLflow's retries)."""
    keys = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _reason(message: str) -> str:
    """MLflow's message, redacted and cut: its HTTP errors repeat the URL and urllib3's chain."""
    return excerpt(redact(message), 160, quote=False)


def record_metrics(rec: Record, hidden) -> dict[str, float]:
    """The record's numeric metrics and timings, without the figures ``hidden`` names (a blind
    run's private ones: ``records_table.hidden_figures``, the rule of the report and records.csv)."""
    out = {}
    for key, value in rec.metrics.items():
        if not hidden(key) and _finite(value):
            out[str(key)] = float(value)
    for key, value in rec.timing.items():
        if _finite(value):
            out[f"time.{key}"] = float(value)
    return out


def record_params(rec: Record) -> dict[str, str]:
    """The fit's parameters as MLflow strings (non-scalars as JSON), with what placed it."""
    params = {"registry_name": rec.registry_name, "family": rec.family}
    if rec.facts and "entry" in rec.facts:
        params["entry"] = str(rec.facts["entry"])
    for key, value in rec.params.items():
        params[f"param.{key}"] = as_text(value)
    return {k: _cut(str(v)) for k, v in params.items()}


def record_tags(rec: Record) -> dict[str, str]:
    tags = {"dataset": rec.dataset, "model": rec.model, "seed": str(rec.seed), "control": rec.control,
            "device": rec.device, "executor": rec.executor or "local", "node": rec.node or ""}
    return {k: str(v) for k, v in tags.items()}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_PARAM_CHARS else text[:MAX_PARAM_CHARS - 1] + "…"


@contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's own INFO lines (database migrations, run URLs) are not the user's output."""
    logger = logging.getLogger("mlflow")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _artifact_location(uri: str) -> str | None:
    """Artifacts of a new experiment in a local SQLite store go beside the database (MLflow's
    default is ./mlruns under whatever directory the command was started from)."""
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):].split("?", 1)[0]).resolve()
        return (path.parent / "mlartifacts").as_uri()
    return None


def log_run(run: store.StoredRun, uri: str, experiment: str | None = None) -> str:
    """Log ``run`` (as its view says: blind or not) into the MLflow store at ``uri``, in the
    experiment ``experiment`` (default: the suite's name), created if needed. Returns the
    parent run's id. Any MLflow or connection failure is one BenchmarkError line."""
    client_cls = require_mlflow()
    from mlflow.entities import Metric, Param, RunTag

    name = experiment or run.suite
    with _mlflow_errors(uri):
        client = client_cls(tracking_uri=uri)
        found = client.get_experiment_by_name(name)
        exp_id = found.experiment_id if found else client.create_experiment(name, _artifact_location(uri))
        manifest = run.manifest
        parent = client.create_run(exp_id, run_name=f"{run.suite} ({run.run_dir.name})", tags={
            "suite": run.suite, "run_dir": str(run.run_dir), "git_commit": str(manifest.get("git_commit") or ""),
            "executor": str((manifest.get("executor") or {}).get("name", "local")),
            "device": str(manifest.get("device", "")), "blind": str(run.blind).lower(),
            "mlflow.source.name": "supertml-bench"})
        pid = parent.info.run_id
        client.log_batch(pid, params=[Param(k, _cut(str(v))) for k, v in (
            ("records", len(run.records)), ("failures", len(run.failures)),
            ("datasets", ",".join(run.datasets)), ("command", redact(str(manifest.get("command", "")))))])
        now = int(time.time() * 1000)
        for rec in run.records:
            child = client.create_run(exp_id, run_name=f"{rec.dataset} / {rec.model} / seed {rec.seed}"
                                      + ("" if rec.control == "none" else f" ({rec.control})"),
                                      tags={**record_tags(rec), "mlflow.parentRunId": pid})
            hidden = hidden_figures(run.datasets.get(rec.dataset), run.blind)
            metrics = [Metric(k, v, now, 0) for k, v in record_metrics(rec, hidden).items()]
            params = [Param(k, v) for k, v in record_params(rec).items()]
            for start in range(0, max(len(metrics), 1), BATCH):
                client.log_batch(child.info.run_id, metrics=metrics[start:start + BATCH],
                                 params=params if start == 0 else [])
            client.set_terminated(child.info.run_id)
        _log_artifacts(client, pid, run)
        client.log_batch(pid, tags=[RunTag("records_logged", str(len(run.records)))])
        client.set_terminated(pid)
    return pid


def _log_artifacts(client, run_id: str, run: store.StoredRun) -> None:
    """The report, its plots and the manifest; results.json only when nothing is hidden (it
    holds the private figures of a blind suite)."""
    names = [store.REPORT, store.REPORT_HTML, store.MANIFEST] + ([] if run.blind else [store.RESULTS])
    for name in names:
        path = run.run_dir / name
        if path.is_file():
            client.log_artifact(run_id, str(path))
    plots = run.run_dir / store.PLOTS
    if plots.is_dir() and any(plots.iterdir()):
        client.log_artifacts(run_id, str(plots), artifact_path=store.PLOTS)
