"""Where a run's fits and searches execute: this process (``local``) or a Ray cluster (``ray``).

An executor takes the fits of a dataset, grouped by seed (one :class:`~benchmarks.fits.FitData`
shared by the seed's :class:`~benchmarks.fits.FitTask` s), and yields each fit's
:class:`~benchmarks.fits.FitResult` as it completes. It never writes the run directory: the
driver (``benchmarks.runner``) stores every result, in plan order, so a run directory does
not depend on the executor that filled it.

``ray``: ``--address ADDR`` joins an existing cluster; without it a local Ray is started on
demand with every core and GPU of this machine, and shut down after the run. Each fit is
one Ray task reserving its CPU threads and, for a model that trains on a GPU, a GPU share;
the seed's splits go into Ray's object store once and every task of the seed reads them
from there (zero-copy on the same node). A task whose worker process or node is lost is
retried (``MAX_RETRIES``); a fit that fails by itself comes back as a failure record and
the run goes on. Searches run as ``workers`` Ray tasks on one shared Optuna storage.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from models import model_entry

from .core.errors import BenchmarkError, ConfigError, MissingBackendError
from .core.secrets import redact
from .fits import FitData, FitResources, FitResult, FitTask, failure_record, usable_cores, warm_up
from .suite import ModelSpec
from .tuning import TuneJob, require_trials, study_summary

EXECUTORS = ("local", "ray")
RAY_THREADS_PER_FIT = 4  # CPU threads of a fit on Ray unless --threads says otherwise (at most a node's CPUs)
MAX_RETRIES = 3  # a task whose worker or node dies is run again up to this many times
PROBE_TIMEOUT_S = 5.0
PROJECT_PACKAGES = ("benchmarks", "datasets", "encoders", "models", "reports")

FitFn = Callable[[FitData, FitTask], FitResult]


def require_ray():
    try:
        import ray
    except ImportError:
        raise MissingBackendError("--executor ray and tune --workers need Ray; install it with: "
                                  "pip install -e '.[ray]'") from None
    return ray


# --------------------------------------------------------------------------- what workers import


def plugin_modules(specs: Iterable[ModelSpec]) -> tuple[str, ...]:
    """Modules outside the project that register models of ``specs``: a worker imports them first."""
    found = []
    for spec in specs:
        module = model_entry(spec.name).factory.__module__
        if module.split(".")[0] in PROJECT_PACKAGES:
            continue
        if module == "__main__":
            raise ConfigError(f"model {spec.name!r} is registered in the script being run; Ray workers cannot "
                              "import it: register it in an importable module")
        found.append(module)
    return tuple(dict.fromkeys(found))


def _import_root(module: str) -> str | None:
    mod = sys.modules.get(module)
    path = getattr(mod, "__file__", None)
    if not path:
        return None
    depth = module.count(".") + (1 if Path(path).name == "__init__.py" else 0)
    return str(Path(path).resolve().parents[depth])


def worker_env(plugins: tuple[str, ...] = ()) -> dict:
    """Ray runtime environment: workers import this checkout of the project (not another
    install) and the modules that register plugin models."""
    roots = [str(Path(__file__).resolve().parents[1])] + [r for r in map(_import_root, plugins) if r]
    roots += [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(roots))}}


# --------------------------------------------------------------------------- Ray


# A Ray head's GCS and its client server (ray://) are gRPC servers: over plain TCP they answer
# the HTTP/2 connection preface with a SETTINGS frame (RFC 9113, section 3.4).
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # + empty SETTINGS
HTTP2_SETTINGS = 4


def _answers_http2(sock: socket.socket) -> bool:
    """Whether the server behind ``sock`` answers the HTTP/2 preface with a frame header of type
    SETTINGS within the probe's timeout (something else listening does not: Ray would then hang)."""
    try:
        sock.sendall(HTTP2_PREFACE)
        header = b""
        while len(header) < 9:
            chunk = sock.recv(9 - len(header))
            if not chunk:
                return False
            header += chunk
    except OSError:  # reset or timed out
        return False
    return header[3] == HTTP2_SETTINGS


def _probe(address: str) -> None:
    """Fail in seconds, with one line, when nothing listens at ``address`` or what listens is not a
    Ray cluster (Ray itself waits minutes and prints pages of warnings)."""
    if address == "auto":
        return
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto")
    try:
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_TIMEOUT_S)
    except OSError as exc:
        raise ConfigError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}") from None
    with sock:
        # With RAY_USE_TLS the server expects a TLS handshake first: the plain preface cannot tell.
        if os.environ.get("RAY_USE_TLS", "0").lower() not in ("1", "true") and not _answers_http2(sock):
            raise ConfigError(f"{address} is not a Ray cluster: something listens there, but it does not answer "
                              "as Ray's gRPC endpoint does (the head's GCS port, default 6379, or ray://HOST:10001)")


class _TokenAuthEnabledNote(logging.Filter):
    """Drops Ray's note that token authentication is on (its default, printed by every run that
    starts or joins Ray); its warning that a cluster runs *without* authentication stays."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Token authentication is enabled")


# The module that logs it (Ray 2.5x); if Ray moves it, the note is merely printed again.
logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(_TokenAuthEnabledNote())


def start_ray(address: str | None = None, **init) -> bool:
    """Connect to the cluster at ``address``, or start a local Ray (every core and GPU here).

    Returns whether this call started or joined Ray (and should shut it down): an already
    initialised Ray (e.g. shared by a test session) is used as it is.
    """
    ray = require_ray()
    if ray.is_initialized():
        return False
    if address:
        _probe(address)
    try:
        ray.init(address=address or "local", include_dashboard=False, logging_level=logging.WARNING, **init)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"cannot start or join Ray at {address or 'a new local instance'}: {redact(first)}") from None
    return True


def _largest_node(ray) -> tuple[float, float]:
    """(CPUs, GPUs) of the largest alive node: what one task can get at most."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    return max((n.get("CPU", 0.0) for n in nodes), default=0.0), max((n.get("GPU", 0.0) for n in nodes), default=0.0)


def _lost(task: FitTask, exc: BaseException, ray) -> FitResult:
    """The failure record of a task Ray could not finish (its worker or node died every try)."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if isinstance(exc, ray.exceptions.RayTaskError):
        kind, error = "internal", f"{type(exc.cause).__name__}: {first}"
    else:
        kind, error = "lost", f"worker lost in {MAX_RETRIES + 1} tries ({type(exc).__name__}): {first}"
    return FitResult(task.key, failure_record(task, kind, error, {"executor": "ray", "node": None}))


def _cancel(ray, refs: list) -> None:
    """Stop the tasks of ``refs`` that have not finished. Never cancel a finished task: in Ray
    a cancel racing with a task's completion reply aborts the driver ("Tried to complete task
    that was not pending"), so a run cancels only on failure or interruption."""
    if not refs:
        return
    _, unfinished = ray.wait(refs, num_returns=len(refs), timeout=0)
    for ref in unfinished:
        ray.cancel(ref, force=True)


def _tune_task(job: TuneJob, sampler_seed: int, threads: int | None, plugins: tuple[str, ...],
               verbose: bool) -> dict:
    """One search worker inside a Ray task."""
    import importlib

    for module in plugins:
        importlib.import_module(module)

    def log(message: str) -> None:
        if verbose:
            print(message, file=sys.stderr, flush=True)

    return job.run(sampler_seed, log, threads=threads)


def _ray_fit(fn: FitFn, data: FitData, task: FitTask) -> FitResult:
    """One fit inside a Ray task. A GPU task sees only the GPU(s) Ray gave it, renumbered
    from 0; the result says which node and GPUs ran it."""
    import ray

    if task.resources.gpus:
        task = replace(task, device="cuda")
    ctx = ray.get_runtime_context()
    return fn(data, task).placed(executor="ray", node_id=ctx.get_node_id(), gpu_ids=[str(g) for g in ray.get_gpu_ids()])


class LocalExecutor:
    """Every fit and search in this process, one after another, in plan order (the default).

    The interface every executor has: ``threads``, ``describe``, ``check``, ``prepare``,
    ``run_fits``, ``search`` and the context manager that opens and closes it.
    """

    name = "local"

    def __enter__(self) -> "LocalExecutor":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def threads(self, requested: int | None) -> int | None:
        return requested  # None: each library's default, every core

    def describe(self, opts) -> dict:
        return {"name": self.name, "threads_per_fit": opts.threads}

    def check(self, needs: Iterable[tuple[str, FitResources]]) -> None:
        """Refuse, before any work, a fit asking for more threads than this machine has: they
        would only contend (the same check Ray's executor makes against its largest node)."""
        cores = usable_cores()
        for label, r in needs:
            if r.cpus > cores:
                raise ConfigError(f"{label}: a fit asks for {r.cpus} CPU threads, but this machine has {cores} "
                                  "usable cores; lower --threads (or the model's own thread parameter)")

    def prepare(self, device: str) -> None:
        """CUDA's one-off costs paid before the first search or fit (not inside either's time)."""
        warm_up(device)

    def run_fits(self, fn: FitFn, batches: Iterable[tuple[FitData, list[FitTask]]]) -> Iterator[FitResult]:
        for data, tasks in batches:
            for task in tasks:
                yield fn(data, task).placed(executor=self.name)

    def search(self, job: TuneJob, resources: FitResources,
               log: Callable[[str], None] = lambda m: None) -> tuple[dict, dict]:
        """A run's search in this process: ``(best_params, summary)``. It joins the study when
        the storage already holds it (e.g. filled by ``tune`` workers) and runs only the missing
        trials."""
        summary = job.run(job.sampler_seed(job.model_seed), log, threads=resources.threads)
        return require_trials(summary, job.spec, job.ds_name)


class RayExecutor:
    """Fits and search workers as Ray tasks; results come back to the driver as they complete."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int = 1, verbose: bool = True):
        self.address, self.workers, self.verbose = address, int(workers), verbose
        self._ray = None
        self._started = False

    def __enter__(self) -> "RayExecutor":
        self._ray = require_ray()
        self._started = start_ray(self.address)
        return self

    def __exit__(self, *exc) -> None:
        if self._started:
            self._ray.shutdown()
            self._started = False

    def threads(self, requested: int | None) -> int:
        cpus, _ = _largest_node(self._ray)
        return int(requested or max(1, min(RAY_THREADS_PER_FIT, int(cpus))))

    def describe(self, opts) -> dict:
        """The cluster and the resources per fit, for the manifest."""
        total = self._ray.cluster_resources()
        return {"name": self.name, "address": redact(self.address) if self.address else "local",
                "ray": self._ray.__version__, "nodes": sum(1 for n in self._ray.nodes() if n.get("Alive")),
                "cpus": total.get("CPU", 0.0), "gpus": total.get("GPU", 0.0),
                "threads_per_fit": self.threads(opts.threads), "gpus_per_fit": opts.gpus_per_fit,
                "search_workers": self.workers, "max_retries": MAX_RETRIES}

    def check(self, needs: Iterable[tuple[str, FitResources]]) -> None:
        """Refuse, before any work, a fit no node of the cluster could ever run."""
        cpus, gpus = _largest_node(self._ray)
        for label, r in needs:
            if r.cpus > cpus:
                raise ConfigError(f"{label}: a fit needs {r.cpus} CPUs, but the largest Ray node has {cpus:g}; "
                                  "lower --threads")
            if r.gpus > gpus:
                raise ConfigError(f"{label}: a fit needs a GPU (--device cuda), but the largest Ray node has "
                                  f"{gpus:g}; use --device cpu or add GPU nodes")

    def _options(self, resources: FitResources, plugins: tuple[str, ...]) -> dict:
        return {"num_cpus": resources.cpus, "num_gpus": resources.gpus, "max_retries": MAX_RETRIES,
                "retry_exceptions": False, "runtime_env": worker_env(plugins)}

    def prepare(self, device: str) -> None:
        return None  # each worker warms its own GPU before its first fit

    def run_fits(self, fn: FitFn, batches: Iterable[tuple[FitData, list[FitTask]]]) -> Iterator[FitResult]:
        ray = self._ray
        remote = ray.remote(_ray_fit)
        pending: dict = {}
        try:
            for data, tasks in batches:
                ref = ray.put(data)  # one copy per seed in the object store, read by all its tasks
                for task in tasks:
                    task = replace(task, plugins=plugin_modules([task.spec]))  # a fresh worker imports them
                    pending[remote.options(**self._options(task.resources, task.plugins)).remote(fn, ref, task)] = task
                del ref  # the store keeps it while tasks need it
            while pending:
                (done,), _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(done)
                try:
                    result = ray.get(done)
                except ray.exceptions.RayError as exc:
                    result = _lost(task, exc, ray)
                yield result
        finally:
            _cancel(ray, list(pending))  # interrupted: stop the fits nobody will store

    def run_tune(self, job: TuneJob, sampler_seeds: list[int], resources: FitResources,
                 plugins: tuple[str, ...]) -> list[dict]:
        """One search worker per sampler seed, all on the job's storage; returns their summaries.

        A file storage (SQLite, journal) exists on this machine only, so its workers run on
        this node; a database server (postgresql://...) lets them run anywhere.
        """
        ray = self._ray
        options = self._options(resources, plugins)
        if job.storage.startswith(("sqlite", "journal:")):
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            here = ray.get_runtime_context().get_node_id()
            options["scheduling_strategy"] = NodeAffinitySchedulingStrategy(node_id=here, soft=False)
        remote = ray.remote(_tune_task).options(**options)
        ref = ray.put(job)
        refs = [remote.remote(ref, s, resources.threads, plugins, self.verbose) for s in sampler_seeds]
        try:
            return ray.get(refs)
        except BaseException as exc:
            _cancel(ray, refs)  # one worker failed, or the driver is interrupted: stop the others
            if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(exc.cause, BenchmarkError):
                raise exc.cause from None
            if isinstance(exc, ray.exceptions.RayError) and not isinstance(exc, ray.exceptions.RayTaskError):
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise BenchmarkError(f"a search worker of {job.study} was lost in {MAX_RETRIES + 1} tries: "
                                     f"{first}") from None
            raise

    def search(self, job: TuneJob, resources: FitResources,
               log: Callable[[str], None] = lambda m: None) -> tuple[dict, dict]:
        """A run's search with ``workers`` Ray tasks; ``(best_params, summary)`` as locally.

        Worker 0 uses the run's sampler seed, so one worker searches exactly as a local run.
        """
        t0 = time.perf_counter()
        summaries = self.run_tune(job, [job.sampler_seed(job.model_seed, k) for k in range(self.workers)],
                                  resources, plugin_modules([job.spec]))
        summary = study_summary(job.ds_name, job.metric, job.splits, job.spec, job.storage, job.study,
                                new_trials=sum(s["new_trials"] for s in summaries), search_s=time.perf_counter() - t0,
                                n_total=job.n_total, timeout_s=job.timeout_s)
        summary["workers"] = self.workers
        return require_trials(summary, job.spec, job.ds_name)


def check_executor_options(name: str, address: str | None, workers: int) -> None:
    """Options only a cluster executor takes are refused for the local one (one line)."""
    if name == "local" and (address or workers != 1):
        raise ConfigError("--address and --workers go with --executor ray")


def make_executor(name: str, address: str | None = None, workers: int = 1, verbose: bool = True):
    if name == "local":
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(address, workers, verbose)
    raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {name!r}")


def tune_on_ray(job: TuneJob, workers: int, seed: int | None, address: str | None,
                log: Callable[[str], None] = print) -> dict:
    """``tune --workers N``: N search workers as Ray tasks on the job's shared storage."""
    from .fits import fit_resources

    with RayExecutor(address, workers) as ex:
        resources = fit_resources(job.spec, job.device, ex.threads(None))
        ex.check([(job.spec.label, resources)])
        plugins = plugin_modules([job.spec])
        t0 = time.perf_counter()
        summaries = ex.run_tune(job, [job.sampler_seed(seed, k) for k in range(workers)], resources, plugins)
    summary = study_summary(job.ds_name, job.metric, job.splits, job.spec, job.storage, job.study,
                            new_trials=sum(s["new_trials"] for s in summaries), search_s=time.perf_counter() - t0,
                            n_total=job.n_total, timeout_s=job.timeout_s)
    summary["workers"] = workers
    log(f"tune {job.study}: {workers} Ray workers added {summary['new_trials']} trial(s) in {summary['search_s']:.1f} s")
    return summary
