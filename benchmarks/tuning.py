"""Optuna hyper-parameter search on the validation split, never on a test split.

A model declares its space define-by-run (``search_space(trial) -> dict`` on its registry
entry); a suite turns the search on per model (``[models.search] trials=, timeout_s=,
pruner=``). The suite's params are the fixed base and a trial's suggestions override them.

* The objective is the dataset metric's ``objective`` (validation AMS at the chosen cut for
  HiggsML, validation accuracy for Iris, ...). It is built from ``replace(splits, tests=())``
  and the metric object only, so it cannot reach a test event.
* Iterative models get ``epoch_callback``: each epoch's validation score goes to
  ``trial.report`` and ``optuna.TrialPruned`` stops a hopeless trial.
* Studies live in an Optuna storage (default ``sqlite:///RUN_DIR/optuna.db``), so several
  ``tune`` workers and a later ``run`` share one study; a study is complete once it holds
  ``trials`` COMPLETE trials (pruned and failed ones do not count).
* Heartbeats: a worker killed mid-trial leaves a RUNNING trial whose heartbeat stops; after
  the grace period any worker marks it FAIL and re-queues its parameters once.
* Resumable by construction: a trial's proposal is derived from the sampler seed and the
  trial's place in the search (its *proposal index*: the trials before it, less those a
  killed process lost), never from a random stream that lives in one process. A fresh TPE
  seeded from ``(seed, index)`` proposes each trial from the stored trials before it, so a
  search killed and resumed proposes what an uninterrupted one would have. A trial a dead
  process left RUNNING counts for nothing: its parameters are re-run as a retry that takes
  its index. ``run`` owns the study in its run directory (its lock keeps every other writer
  out), so it re-queues such orphans at once instead of waiting out the grace period.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import os
import hashlib
import json
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from datasets import Splits
from models import model_info

from .core import limits
from .core.device import resolve_device
from .core.errors import BenchmarkError, ConfigError, excerpts
from .core.secrets import redact
from .fits import with_threads
from .pipeline import build_model, fit, load_for_spec, resolve_seeds, splits_for
from .suite import ModelSpec, SearchSpec, load_suite

PRUNERS = ("median", "successive-halving", "none")
HEARTBEAT_INTERVAL_S = 30  # a live trial writes a heartbeat this often
GRACE_PERIOD_S = 120  # ...and is declared dead (FAIL, re-queued) this long after its last one
MAX_RETRY = 1  # a killed trial's parameters are re-run at most once
MAX_CONSECUTIVE_FAILURES = 5
PROBA_ATTR = "val_proba"  # a complete trial's validation probabilities (searches that keep them)
SKIP_ATTR = "budget_skip"  # marks a trial abandoned because other workers filled the budget
FAIL_ATTR = "fail_reason"


class _Abandon(Exception):
    """Ends a trial as FAIL without stopping the search (budget filled, diverged model)."""


# --------------------------------------------------------------------------- storage


def default_storage(out_dir: Path) -> str:
    return f"sqlite:///{Path(out_dir).resolve() / 'optuna.db'}"


def storage_file(url: str) -> Path | None:
    """The file of a file storage (``sqlite:///PATH``, ``journal:PATH``), resolved; None for a
    database server or an in-memory SQLite."""
    if url.startswith("journal:"):
        path = url[len("journal:"):]
        path = path[2:] if path.startswith("//") else path
    elif url.startswith("sqlite:///"):
        path = url[len("sqlite:///"):].split("?", 1)[0]
    else:
        return None
    return Path(path).resolve() if path and path != ":memory:" else None


def storage_dir(url: str) -> Path | None:
    """The directory holding a file storage, resolved; None for a database server."""
    path = storage_file(url)
    return None if path is None else path.parent


OPTUNA_TABLES = ("studies", "version_info")  # what every Optuna RDB schema has


def _check_sqlite(path: Path | None, shown: str) -> None:
    """Refuse an SQLite file that holds something other than Optuna's tables: Optuna would add its
    own beside them without a word. A new or empty file, or one of Optuna's, is fine."""
    if path is None or not path.is_file() or path.stat().st_size == 0:
        return
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.DatabaseError as exc:  # not a database at all, or a corrupt one
        raise BenchmarkError(f"--storage {shown}: {path} is not an SQLite database ({exc})") from None
    if tables and not set(OPTUNA_TABLES) <= set(tables):
        raise BenchmarkError(f"--storage {shown}: {path} is a database of something else (tables "
                             f"{excerpts(sorted(tables))}); give Optuna a file of its own")


def _heartbeat_callback(max_retry: int | None = MAX_RETRY):
    from optuna import storages

    cls = getattr(storages, "RetryHeartbeatStaleTrialCallback", None) or storages.RetryFailedTrialCallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "experimental" since optuna 2.8
        return cls(max_retry=max_retry)


def _journal_storage(path: str, heartbeat_interval: int, grace_period: int):
    """JournalStorage with a heartbeat (Optuna's own JournalStorage has none).

    Optuna's heartbeat machinery (a thread recording heartbeats during each trial, and
    ``fail_stale_trials`` before each new one) works with any storage that implements
    ``BaseHeartbeat``; here a heartbeat is a wall-clock time in the trial's system attrs.
    Workers on several hosts sharing one journal file need roughly synchronised clocks.
    """
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.storages import JournalStorage
    from optuna.trial import TrialState

    try:
        from optuna.storages.journal import JournalFileBackend as Backend
    except ImportError:  # optuna < 4
        from optuna.storages import JournalFileStorage as Backend
    try:
        from optuna.storages._heartbeat import BaseHeartbeat
    except ImportError:  # private API moved: fall back to no heartbeat rather than fail
        return JournalStorage(Backend(path)), False

    class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
        def record_heartbeat(self, trial_id: int) -> None:
            try:
                self.set_trial_system_attr(trial_id, "heartbeat", time.time())
            except UpdateFinishedTrialError:  # declared dead by another worker: nothing to keep alive
                pass

        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            # Like RDBStorage: a trial that never beat (another client's) is left alone. A
            # re-queued trial inherits its predecessor's old heartbeat, so its own start counts too.
            now, stale = time.time(), []
            for t in self.get_all_trials(study_id, deepcopy=False, states=(TrialState.RUNNING,)):
                beat = t.system_attrs.get("heartbeat")
                if beat is None:
                    continue
                started = t.datetime_start.timestamp() if t.datetime_start else beat
                if now - max(beat, started) > grace_period:
                    stale.append(t._trial_id)
            return stale

        def get_heartbeat_interval(self) -> int:
            return heartbeat_interval

        def get_heartbeat_stale_trial_callback(self):
            return callback

        get_failed_trial_callback = get_heartbeat_stale_trial_callback  # optuna < 4.9

    callback = _heartbeat_callback()
    return HeartbeatJournalStorage(Backend(path)), True


def _check_journal(path: Path, shown: str) -> None:
    """An existing journal file must start with an Optuna log entry (a JSON object with an
    ``op_code``); anything else would be appended to, and fail later in the search."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    try:
        with open(path, "rb") as fh:
            first = json.loads(fh.readline(1 << 20))
    except (OSError, ValueError) as exc:
        raise BenchmarkError(f"{shown} is not an Optuna journal file ({type(exc).__name__})") from None
    if not isinstance(first, dict) or "op_code" not in first:
        raise BenchmarkError(f"{shown} is not an Optuna journal file")


def sqlalchemy_url(url: str) -> str:
    """``postgresql://`` URLs use psycopg (version 3) when psycopg2, SQLAlchemy's default
    driver for that scheme, is not installed: the ``postgresql`` extra installs psycopg."""
    if not url.startswith(("postgresql://", "postgres://")):
        return url
    import importlib.util

    if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg") is not None:
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_storage(url: str, heartbeat_interval: int = HEARTBEAT_INTERVAL_S,
                 grace_period: int = GRACE_PERIOD_S):
    """An Optuna storage with heartbeats from a URL.

    ``sqlite:///PATH``, ``postgresql://...``, ``mysql://...`` (any SQLAlchemy URL) give an
    RDBStorage; ``journal:PATH`` a JournalStorage on a file. Returns ``(storage, heartbeat)``.
    """
    import inspect

    import optuna

    shown = redact(url)
    if url.startswith("journal:"):
        path = url[len("journal:"):]
        path = path[2:] if path.startswith("//") else path  # journal:///abs/path
        if not path:
            raise BenchmarkError("--storage journal:PATH needs a file path")
        if not Path(path).parent.is_dir():
            raise BenchmarkError(f"--storage {shown}: directory {Path(path).parent} does not exist")
        _check_journal(Path(path), shown)
        try:  # opening replays the log: a file that is not a journal fails here
            return _journal_storage(path, heartbeat_interval, grace_period)
        except OSError as exc:
            raise BenchmarkError(f"cannot open Optuna journal {shown}: {exc}") from None
        except (ValueError, KeyError, TypeError) as exc:  # JSON and log-format errors
            raise BenchmarkError(f"{shown} is not an Optuna journal file ({type(exc).__name__})") from None
    if url.startswith("sqlite:"):
        _check_sqlite(storage_file(url), shown)
    url = sqlalchemy_url(url)
    params = inspect.signature(optuna.storages.RDBStorage.__init__).parameters
    cb_key = "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in params else "failed_trial_callback"
    # SQLite serialises writers; wait for the lock rather than fail when workers collide.
    engine = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {"pool_pre_ping": True}
    last: Exception | None = None
    for attempt in range(4):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # heartbeat options are "experimental"
                storage = optuna.storages.RDBStorage(
                    url, engine_kwargs=engine, heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period, **{cb_key: _heartbeat_callback()})
            return storage, True
        except Exception as exc:  # noqa: BLE001 - parse, driver and connection errors alike
            last = exc
            # Workers creating the same fresh SQLite file at once can race on its tables.
            if "locked" in str(exc) or "already exists" in str(exc) or "UNIQUE" in str(exc):
                time.sleep(0.2 * (attempt + 1))
                continue
            break
    msg = str(last).strip().splitlines()[0] if str(last).strip() else type(last).__name__
    raise BenchmarkError(
        f"cannot open Optuna storage {shown}: {redact(msg)} "
        "(expected sqlite:///PATH, postgresql://USER:PASS@HOST/DB, mysql://... or journal:PATH)")


# --------------------------------------------------------------------------- the study


def default_study_name(suite_name: str | None, dataset: str, label: str, seed: int | None = None) -> str:
    """One study per dataset and model (scope ``once``), or per repeat too (``fold``: named by its seed)."""
    return "-".join(p for p in (suite_name, dataset, label, None if seed is None else f"seed{seed}") if p)


def _check_search(spec: ModelSpec, n_total: int | None = None, timeout_s: float | None = None) -> SearchSpec:
    search = spec.search or SearchSpec()
    trials = n_total if n_total is not None else search.trials
    timeout = timeout_s if timeout_s is not None else search.timeout_s
    where = f"model {spec.label!r}"
    if model_info(spec.name).search_space is None:
        raise ConfigError(f"{where} ({spec.name}) declares no search space; drop its [search] or tune another model")
    if trials is None and timeout is None:
        raise ConfigError(f"{where}: the search needs a budget: trials = N and/or timeout_s = SECONDS")
    if trials is not None and (not isinstance(trials, int) or isinstance(trials, bool) or trials < 1):
        raise ConfigError(f"{where}: search trials must be a positive integer, got {trials!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ConfigError(f"{where}: search timeout_s must be a positive number, got {timeout!r}")
    if search.pruner not in PRUNERS:
        raise ConfigError(f"{where}: unknown pruner {search.pruner!r}; choose one of {', '.join(PRUNERS)}")
    return SearchSpec(trials, timeout, search.pruner, search.scope)


def lost_trials(trials) -> set[int]:
    """The numbers of the trials a killed process lost: failed, and run again as a later
    trial (whose ``retry_history`` names them). They count for nothing in the search."""
    return {n for t in trials for n in t.system_attrs.get("retry_history") or ()}


def _without_lost(pruner):
    """``pruner`` judging each trial among the trials no killed process lost. Successive
    halving reads every trial's rung scores, a failed trial's too; a lost trial's would count
    twice, once more through its re-run, and move the resumed search's thresholds."""
    import optuna

    class Survivors(optuna.study.Study):
        def __init__(self, study) -> None:
            super().__init__(study_name=study.study_name, storage=study._storage, sampler=study.sampler,
                             pruner=pruner)

        def get_trials(self, deepcopy: bool = True, states=None):
            lost = lost_trials(super().get_trials(deepcopy=False))
            return [t for t in super().get_trials(deepcopy=deepcopy, states=states) if t.number not in lost]

    class WithoutLost(optuna.pruners.BasePruner):
        def prune(self, study, trial) -> bool:
            return pruner.prune(Survivors(study), trial)

    return WithoutLost()


def make_pruner(name: str):
    import optuna

    if name == "median":
        return _without_lost(optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1))
    if name == "successive-halving":
        return _without_lost(optuna.pruners.SuccessiveHalvingPruner())
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ConfigError(f"unknown pruner {name!r}; choose one of {', '.join(PRUNERS)}")


def data_fingerprint(ds_name: str, metric, splits: Splits, spec: ModelSpec) -> str:
    """What a study's objective depends on: the train/validation rows, features, model, base params.

    Event ids and labels (not float features, which may differ in the last bit between
    hosts) identify the rows, so a ``run --max-events`` differing from the ``tune`` workers
    is refused instead of silently mixing objectives in one study.
    """
    h = hashlib.sha256()
    for part in (splits.train, splits.val):
        h.update(np.ascontiguousarray(part.ids).tobytes())
        h.update(np.ascontiguousarray(part.y).astype(np.int64).tobytes())
        h.update(repr(part.X.shape).encode())
        # Rounded column statistics catch a changed preprocessing (missing, standardise,
        # orientation) while ignoring last-bit float differences between hosts.
        with np.errstate(all="ignore"):
            stats = np.round(np.nan_to_num(np.stack([np.nanmean(part.X, 0), np.nanstd(part.X, 0)])), 4)
        h.update(stats.tobytes())
    h.update(json.dumps([ds_name, metric.name, metric.options(), list(splits.feature_names), spec.name,
                         spec.params], sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def proposal_index(trials, trial) -> int:
    """A trial's place in the search: the trials numbered before it, less the
    :func:`lost_trials`. A retry takes the index of the trial it re-runs, so a search killed
    and resumed numbers its proposals 0, 1, 2, ... exactly as an uninterrupted one does."""
    history = trial.system_attrs.get("retry_history") or ()
    first = history[0] if history else trial.number
    lost = lost_trials(trials)
    return sum(1 for t in trials if t.number < first and t.number not in lost)


def _sampler(seed: int):
    """TPE (constant liar: parallel workers spread out) whose randomness for each trial is
    derived from ``seed`` and the trial's :func:`proposal_index`, not carried in this process:
    trial n's proposal depends on the seed and the stored trials before it only."""
    import optuna

    def tpe(index: int):
        derived = int(np.random.SeedSequence([int(seed), index]).generate_state(1)[0]) % 2**31
        return optuna.samplers.TPESampler(seed=derived, constant_liar=True)

    class TrialSeededTPE(optuna.samplers.BaseSampler):
        def __init__(self) -> None:
            self._tpe = tpe(0)

        def before_trial(self, study, trial) -> None:
            self._tpe = tpe(proposal_index(study.get_trials(deepcopy=False), trial))
            self._tpe.before_trial(study, trial)

        def infer_relative_search_space(self, study, trial):
            return self._tpe.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return self._tpe.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            return self._tpe.sample_independent(study, trial, param_name, param_distribution)

        def after_trial(self, study, trial, state, values) -> None:
            self._tpe.after_trial(study, trial, state, values)

    return TrialSeededTPE()


def reclaim_orphans(storage_url: str, study_name: str) -> int:
    """Fail and re-queue, at once, every RUNNING trial of a study that no live process can be
    working on: the study of a run directory whose lock this process holds (a previous owner
    was killed mid-trial). Without this the trial would wait out the heartbeat grace period.
    The re-queued trial is Optuna's retry (``retry_history``), so :func:`proposal_index`
    gives it the lost trial's place. Returns the number of trials re-queued."""
    import optuna
    from optuna.exceptions import UpdateFinishedTrialError
    from optuna.trial import TrialState

    storage, _ = open_storage(storage_url)
    with _quiet_optuna():
        try:
            study = optuna.load_study(study_name=study_name, storage=storage)
        except KeyError:  # no study yet: nothing was left running
            return 0
    requeue = _heartbeat_callback(max_retry=None)  # a kill is not the trial's fault: re-run it every time
    reclaimed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        try:
            storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue
        requeue(study, storage.get_trial(trial._trial_id))
        reclaimed += 1
    return reclaimed


def _open_study(storage, storage_shown: str, study_name: str, fingerprint: str, pruner: str, seed: int):
    import optuna

    sampler = _sampler(seed)
    study = optuna.create_study(storage=storage, study_name=study_name, sampler=sampler,
                                pruner=make_pruner(pruner), direction="maximize", load_if_exists=True)
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError(f"study {study_name!r} in {storage_shown} minimises; it is not one of ours")
    known = study.user_attrs.get("fingerprint")
    if known is None:
        study.set_user_attr("fingerprint", fingerprint)
    elif known != fingerprint:
        raise ConfigError(
            f"study {study_name!r} in {storage_shown} was tuned on other data or base parameters "
            "(different dataset, --max-events, seed, features or params); use another --study or --storage")
    return study


def _counts(study) -> dict[str, int]:
    from optuna.trial import TrialState

    out = {"complete": 0, "running": 0, "waiting": 0, "pruned": 0, "failed": 0, "skipped": 0}
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.FAIL:
            out["skipped" if t.user_attrs.get(SKIP_ATTR) else "failed"] += 1
        else:
            out[{TrialState.COMPLETE: "complete", TrialState.RUNNING: "running",
                 TrialState.WAITING: "waiting", TrialState.PRUNED: "pruned"}[t.state]] += 1
    return out


def _make_objective(study, space: Callable, spec: ModelSpec, hpo: Splits, scorer, device: str,
                    seed: int, n_total: int | None, threads: int | None = None):
    """The objective sees train + validation parts and the metric object: nothing else."""
    import optuna
    from optuna.trial import TrialState

    val = hpo.val
    keep = spec.search is not None and spec.search.keep_predictions

    def objective(trial) -> float:
        if n_total is not None:
            # Trial numbers order the trials of all workers: if COMPLETE trials and RUNNING
            # ones started before this one already fill the budget, this one must not run.
            ahead = sum(1 for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING))
                        if t.state == TrialState.COMPLETE or t.number < trial.number)
            if ahead >= n_total:
                trial.set_user_attr(SKIP_ATTR, True)
                raise _Abandon("the study already holds enough trials")
        params = {**spec.params, **space(trial)}
        model = build_model(spec, with_threads(spec.name, params, threads), seed, device, hpo)

        def on_epoch(epoch: int, proba_val) -> None:
            proba_val = np.asarray(proba_val)
            if not np.isfinite(proba_val).all():
                trial.set_user_attr(FAIL_ATTR, f"non-finite validation probabilities at epoch {epoch}")
                raise _Abandon(trial.user_attrs[FAIL_ATTR])
            trial.report(scorer.objective(proba_val, val), int(epoch))
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {epoch}")

        fit(model, hpo, epoch_callback=on_epoch)
        proba = np.asarray(model.predict_proba(val.X))
        if not np.isfinite(proba).all():
            trial.set_user_attr(FAIL_ATTR, "non-finite validation probabilities")
            raise _Abandon(trial.user_attrs[FAIL_ATTR])
        if keep:
            trial.set_user_attr(PROBA_ATTR, encode_proba(proba))
        return float(scorer.objective(proba, val))

    return objective


def _optimize(study, objective, n_total: int | None, timeout_s: float | None, heartbeat: bool,
              poll_s: float, log: Callable[[str], None]) -> int:
    """Run trials until the study holds ``n_total`` COMPLETE ones or ``timeout_s`` passes.

    One trial per ``study.optimize`` call, with a check of the whole study before each: a
    worker starts a trial only while COMPLETE + RUNNING trials (all workers) fall short of
    the budget, and otherwise waits to see whether those running trials complete. With the
    trial-number check inside the objective no study ever holds more than ``n_total``
    COMPLETE trials. ``timeout_s`` stops starting trials; one in progress finishes.
    Returns the number of trials this process completed.
    """
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    t0 = time.monotonic()
    mine: list = []
    callbacks = [lambda s, t: mine.append(t)]
    if n_total is not None:
        callbacks.append(MaxTrialsCallback(n_total, states=(TrialState.COMPLETE,)))
    failures, waiting_logged = 0, False
    while True:
        if heartbeat:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                optuna.storages.fail_stale_trials(study)  # dead workers' trials -> FAIL, re-queued
        c = _counts(study)
        if n_total is not None and c["complete"] >= n_total:
            break
        if timeout_s is not None and time.monotonic() - t0 >= timeout_s:
            break
        if n_total is not None and c["complete"] + c["running"] >= n_total:
            if not waiting_logged:
                log(f"{study.study_name}: waiting for {c['running']} running trial(s) of other workers")
                waiting_logged = True
            time.sleep(poll_s)
            continue
        waiting_logged = False
        n_before, t_trial = len(mine), time.monotonic()
        study.optimize(objective, n_trials=1, catch=(_Abandon,), callbacks=callbacks)
        if time.monotonic() - t_trial > 2.0:
            gc.collect()  # free a big model's cycles (GPU memory); ~0.1 s, too dear after tiny trials
        for t in mine[n_before:]:
            if t.user_attrs.get(SKIP_ATTR):
                continue
            value = "" if t.value is None else f" {t.value:.5g}"
            reason = f" ({t.user_attrs[FAIL_ATTR]})" if FAIL_ATTR in t.user_attrs else ""
            log(f"{study.study_name}: trial {t.number} {t.state.name.lower()}{value}{reason}")
            failures = failures + 1 if t.state == TrialState.FAIL else 0
        if failures >= MAX_CONSECUTIVE_FAILURES:
            raise BenchmarkError(f"{study.study_name}: {failures} trials in a row failed; see the log above")
    return sum(1 for t in mine if t.state == TrialState.COMPLETE)


def encode_proba(proba: np.ndarray) -> dict:
    """Probabilities as a JSON value an Optuna storage keeps (float32, zlib, base64)."""
    import base64
    import zlib

    arr = np.ascontiguousarray(proba, dtype=np.float32)
    return {"shape": list(arr.shape), "data": base64.b64encode(zlib.compress(arr.tobytes(), 6)).decode("ascii")}


def decode_proba(value) -> np.ndarray | None:
    """``encode_proba``'s array, or None for anything else (a foreign or damaged attribute)."""
    import base64
    import binascii
    import zlib

    try:
        shape = tuple(int(n) for n in value["shape"])
        arr = np.frombuffer(zlib.decompress(base64.b64decode(value["data"], validate=True)), dtype=np.float32)
        return arr.reshape(shape).astype(np.float64)
    except (KeyError, TypeError, ValueError, binascii.Error, zlib.error):
        return None


def _space_params(space: Callable, trial) -> dict:
    """A trial's model parameters: the space replayed on its suggestions (see _best_params)."""
    import optuna

    try:
        return dict(space(optuna.trial.FixedTrial(trial.params, number=trial.number)))
    except Exception:  # noqa: BLE001 - the space changed since the study ran
        return dict(trial.params)


def select_ensemble(spec: ModelSpec, metric, splits: Splits, storage_url: str, study_name: str) -> dict:
    """Greedy ensemble selection over the study's complete trials, on their stored validation
    probabilities and the search's validation part (``splits.val``; never a test part):
    ``{"members": [{"trial", "weight", "params"}], "size", "rounds", "candidates", "val_score"}``.

    Candidates are ordered by their own validation score, best first (ties: the earlier
    trial), so a tie in a round keeps the stronger configuration.
    """
    from optuna.trial import TrialState

    from .core.selection import greedy_selection

    space = model_info(spec.name).search_space
    storage, _ = open_storage(storage_url)
    with _quiet_optuna():
        import optuna

        study = optuna.load_study(study_name=study_name, storage=storage)
    n_val, width = len(splits.val), None
    candidates = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        proba = decode_proba(t.user_attrs.get(PROBA_ATTR))
        if proba is not None and proba.ndim == 2 and len(proba) == n_val and width in (None, proba.shape[1]):
            width = proba.shape[1]
            candidates.append((-float(t.value), t.number, t, proba))
    if not candidates:
        raise BenchmarkError(f"search for {spec.label!r}: no complete trial kept its validation predictions, "
                             "so no ensemble can be selected (was the study filled by an older version or "
                             "another suite?); use a new --study or --storage")
    candidates.sort(key=lambda c: c[:2])
    picked = greedy_selection([c[3] for c in candidates], lambda p: metric.objective(p, splits.val),
                              spec.ensemble_size)
    members = [{"trial": candidates[i][1], "weight": picked.weights[i], "params": _space_params(space, candidates[i][2])}
               for i in picked.members]
    return {"members": members, "size": spec.ensemble_size, "rounds": picked.rounds, "candidates": len(candidates),
            "val_score": picked.score, "best_single": -candidates[0][0]}


def _best_params(study, space: Callable) -> dict:
    """The model parameters of the best trial: the space replayed on its suggestions.

    A space may map suggestions to constructor arguments (e.g. one width to a layer list),
    so its returned dict, not ``trial.params``, is what the model takes.
    """
    return _space_params(space, study.best_trial)


def _summary(study, space: Callable, storage_shown: str, search: SearchSpec, t0: float, new: int,
             heartbeat: bool) -> dict:
    from optuna.trial import TrialState

    c = _counts(study)
    complete = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda t: t.number)
    best_params = _best_params(study, space) if complete else {}
    return {
        "trials": c["complete"], "pruned": c["pruned"], "failed": c["failed"], "skipped": c["skipped"],
        "new_trials": new,
        "best_value": study.best_value if complete else None,
        "best_params": best_params,
        "best_trial": study.best_trial.number if complete else None,
        "search_s": time.perf_counter() - t0,
        "study": study.study_name,
        "storage": storage_shown,
        "budget": {"trials": search.trials, "timeout_s": search.timeout_s},
        "pruner": search.pruner,
        "heartbeat": heartbeat,
        "history": [[t.number, float(t.value)] for t in complete],
    }


@contextlib.contextmanager
def _quiet_optuna():
    """Optuna's own INFO lines off while a search runs (one line per trial comes from ``log``)."""
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def tune(ds_name: str, metric, splits: Splits, spec: ModelSpec, device: str, storage_url: str,
         study_name: str, seed: int, *, sampler_seed: int | None = None, n_total: int | None = None,
         timeout_s: float | None = None,
         heartbeat_interval: int = HEARTBEAT_INTERVAL_S, grace_period: int = GRACE_PERIOD_S,
         log: Callable[[str], None] = lambda m: None, threads: int | None = None,
         opened: Callable[[], None] = lambda: None) -> dict:
    """Start or join ``study_name`` and run trials until its budget is met; returns the summary.

    ``seed`` seeds the model (as in the run) and, unless ``sampler_seed`` is given, the
    TPE sampler. ``n_total``/``timeout_s`` override the suite's budget. ``threads`` is the
    CPU thread count of every trial's model (None: the model's default). ``opened`` is called
    once the storage and the study are open and checked: what it prints never precedes an
    error about them.
    """
    search = _check_search(spec, n_total, timeout_s)
    space = model_info(spec.name).search_space
    hpo = dataclasses.replace(splits, tests=())  # the structural guarantee: no test part past here
    storage, heartbeat = open_storage(storage_url, heartbeat_interval, grace_period)
    shown = redact(storage_url)
    with _quiet_optuna():
        t0 = time.perf_counter()
        study = _open_study(storage, shown, study_name, data_fingerprint(ds_name, metric, hpo, spec),
                            search.pruner, seed if sampler_seed is None else sampler_seed)
        opened()
        objective = _make_objective(study, space, spec, hpo, metric, device, seed, search.trials, threads)
        poll_s = min(5.0, max(0.2, heartbeat_interval / 2))
        new = _optimize(study, objective, search.trials, search.timeout_s, heartbeat, poll_s, log)
        return _summary(study, space, shown, search, t0, new, heartbeat)


def study_summary(ds_name: str, metric, splits: Splits, spec: ModelSpec, storage_url: str, study_name: str, *,
                  new_trials: int, search_s: float, n_total: int | None = None,
                  timeout_s: float | None = None) -> dict:
    """The summary ``tune`` returns, for a study other processes filled (parallel workers):
    opened and checked like ``tune`` does, without running a trial."""
    search = _check_search(spec, n_total, timeout_s)
    space = model_info(spec.name).search_space
    hpo = dataclasses.replace(splits, tests=())
    storage, heartbeat = open_storage(storage_url)
    shown = redact(storage_url)
    with _quiet_optuna():
        study = _open_study(storage, shown, study_name, data_fingerprint(ds_name, metric, hpo, spec),
                            search.pruner, 0)
        summary = _summary(study, space, shown, search, time.perf_counter() - search_s, new_trials, heartbeat)
    return summary


def study_target(out_dir: Path, storage: str | None, suite_name: str | None, ds_name: str, label: str,
                 study_name: str | None = None, seed: int | None = None) -> tuple[str, str]:
    """(storage URL, study name) of a run's search: ``--storage`` or SQLite in the run directory;
    ``seed`` names the repeat of a nested (``fold``) search."""
    if storage is None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    url = storage or default_storage(out_dir)
    return url, study_name or default_study_name(suite_name, ds_name, label, seed)


def require_trials(summary: dict, spec: ModelSpec, ds_name: str) -> tuple[dict, dict]:
    """``(best_params, summary)``, or the one-line error of a search that completed no trial."""
    if summary["trials"] == 0:
        raise BenchmarkError(f"search for {spec.label!r} on {ds_name} completed no trial within "
                             f"timeout_s={summary['budget']['timeout_s']}; raise the budget")
    return summary["best_params"], summary


def tune_for_run(ds, splits: Splits, spec: ModelSpec, device: str, out_dir: Path, storage: str | None,
                 seed: int, *, suite_name: str | None = None, study_name: str | None = None,
                 log: Callable[[str], None] = lambda m: None, threads: int | None = None,
                 nested: bool = False) -> tuple[dict, dict]:
    """The search ``run`` does before fitting: returns ``(best_params, summary)``.

    Joins the study if the storage already holds it (e.g. filled by ``tune`` workers) and
    runs only the missing trials. Only ``ds.name`` and ``ds.scorer`` are read from ``ds``.
    """
    url, name = study_target(out_dir, storage, suite_name, ds.name, spec.label, study_name, seed if nested else None)
    summary = tune(ds.name, ds.scorer, splits, spec, device, url, name, seed, log=log, threads=threads)
    return require_trials(summary, spec, ds.name)


@dataclasses.dataclass(frozen=True, eq=False)
class TuneJob:
    """What every ``tune`` worker of one study shares: the search splits, model, study and budget."""

    ds_name: str
    metric: object
    splits: Splits
    spec: ModelSpec
    device: str
    storage: str
    study: str
    model_seed: int  # the run's first seed: models are seeded as in the run
    base_seed: int  # the suite's base seed, mixed into the samplers' default seeds
    n_total: int | None
    timeout_s: float | None

    def sampler_seed(self, seed: int | None, worker: int = 0) -> int:
        """Worker ``worker``'s sampler seed: ``seed + worker`` when given, else mixed with the process id
        (and the worker number), so that concurrent workers do not propose the same first trials."""
        if seed is not None:
            return (seed + worker) % 2**31
        return (self.base_seed * 1_000_003 + os.getpid() + worker * 7919) % 2**31

    def run(self, sampler_seed: int, log: Callable[[str], None], threads: int | None = None,
            heartbeat_interval: int = HEARTBEAT_INTERVAL_S, grace_period: int = GRACE_PERIOD_S,
            opened: Callable[[], None] = lambda: None) -> dict:
        return tune(self.ds_name, self.metric, self.splits, self.spec, self.device, self.storage, self.study,
                    self.model_seed, sampler_seed=sampler_seed, n_total=self.n_total, timeout_s=self.timeout_s,
                    heartbeat_interval=heartbeat_interval, grace_period=grace_period, log=log, threads=threads,
                    opened=opened)


def prepare_tune(suite_name_or_path: str, model_label: str, storage: str | None, study_name: str | None,
                 n_trials_total: int | None, data: str | None = None, device: str = "auto",
                 max_events: int | None = None, *, timeout_s: float | None = None,
                 dataset: str | None = None, repeat: int = 0) -> TuneJob:
    """Load what ``tune`` workers search on: the search splits of the suite's first dataset (or
    the one named ``dataset``), exactly as ``run`` would (same splits, preprocessing and
    default study name), so that a later ``run --storage URL`` reuses the trials. A nested
    search (scope ``fold``) is one study per repeat: ``repeat`` (0, 1, ...) picks whose
    outer-fold training part is searched."""
    if not storage:
        raise ConfigError("tune needs --storage URL (e.g. sqlite:///runs/optuna.db or journal:runs/optuna.journal) "
                          "so that workers and a later run share the study")
    suite = load_suite(suite_name_or_path)
    spec = suite.model(model_label)
    _check_search(spec, n_trials_total, timeout_s)  # fail before loading any data
    dspecs = [d for d in suite.datasets if dataset is None or d.name == dataset]
    if not dspecs:
        raise ConfigError(f"suite {suite.name!r} has no dataset {dataset!r}; "
                          f"it has: {', '.join(d.name for d in suite.datasets)}")
    dspec = dspecs[0]
    if max_events is not None:
        dspec = dataclasses.replace(dspec, max_events=max_events)
    ds = load_for_spec(dspec, data)
    scope = spec.search.scope if spec.search is not None else "fold"
    seeds = resolve_seeds(suite, dspec, ds, None)
    if scope == "once" and repeat:
        raise ConfigError(f"model {spec.label!r} searches once per dataset (scope once): --repeat does not apply")
    limits.integer(repeat, "--repeat", 0, limits.MAX_SEEDS - 1)
    split_seed = seeds[0] + repeat
    splits = splits_for(ds, dspec, split_seed, search=scope, preprocess=spec.preprocessing(dspec.preprocess))
    name = study_name or default_study_name(suite.name, ds.name, spec.search_label,
                                            split_seed if scope == "fold" else None)
    return TuneJob(ds.name, ds.scorer, dataclasses.replace(splits, tests=()), spec, resolve_device(device),
                   storage, name, split_seed, suite.base_seed, n_trials_total, timeout_s)


def describe_job(job: TuneJob) -> str:
    return (f"tune {job.study}: {job.spec.label} on {job.ds_name} ({len(job.splits.train)} train / "
            f"{len(job.splits.val)} validation events), storage {redact(job.storage)}")


def describe_summary(study: str, summary: dict) -> str:
    return (f"tune {study}: {summary['trials']} complete, {summary['pruned']} pruned, {summary['failed']} failed; "
            f"best {summary['best_value']} with {summary['best_params']}")


def run_tune_worker(suite_name_or_path: str, model_label: str, storage: str | None, study_name: str | None,
                    n_trials_total: int | None, data: str | None = None, device: str = "auto",
                    max_events: int | None = None, seed: int | None = None,
                    log: Callable[[str], None] = print, *, timeout_s: float | None = None,
                    heartbeat_interval: int = HEARTBEAT_INTERVAL_S,
                    grace_period: int = GRACE_PERIOD_S, dataset: str | None = None, repeat: int = 0) -> dict:
    """One ``tune`` worker: start or join a study and work until it holds N COMPLETE trials.

    ``n_trials_total`` is the study's total over all workers (default: the suite's
    ``trials``). ``seed`` seeds this worker's sampler (default: the suite's base seed mixed
    with the process id); models always get the run's seed.
    """
    job = prepare_tune(suite_name_or_path, model_label, storage, study_name, n_trials_total, data, device,
                       max_events, timeout_s=timeout_s, dataset=dataset, repeat=repeat)
    summary = job.run(job.sampler_seed(seed), log, heartbeat_interval=heartbeat_interval, grace_period=grace_period,
                      opened=lambda: log(describe_job(job)))
    log(describe_summary(job.study, summary))
    return summary
