"""Low-level torch helpers for the training engine: seeds, threads, precision, transfers, timing.

Imported lazily (inside ``fit``), so ``import models`` works without torch installed.
The training loop itself is ``models.engine``.
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator

import numpy as np
import torch


# ----------------------------------------------------------------------------- device, seeds, threads

def is_cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def seed_everything(seed: int | None) -> torch.Generator:
    """Seed torch (CPU and CUDA) and numpy; returns a CPU generator for batch shuffling."""
    seed = 0 if seed is None else int(seed)
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def physical_cores() -> int:
    """Physical cores this process may use (hyper-threads slow down torch's GEMMs)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    cores: set[tuple[str, str]] = set()
    try:
        phys = core = ""
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "physical id":
                    phys = val.strip()
                elif key == "core id":
                    core = val.strip()
                    cores.add((phys, core))
    except OSError:
        pass
    n = len(cores) if cores else usable
    return max(1, min(n, usable))


def choose_threads(num_threads: int | None) -> int:
    """min(physical cores, requested); ``None`` or <= 0 means all physical cores."""
    cores = physical_cores()
    if num_threads is None or num_threads <= 0:
        return cores
    return max(1, min(cores, int(num_threads)))


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[int]:
    """Set torch's intra-op threads for a block and put the old value back after it."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield n
    finally:
        torch.set_num_threads(old)


# ----------------------------------------------------------------------------- precision, transfers

def autocast(device: str, enabled: bool = True):
    """bf16 autocast on CUDA (no loss scaling needed, unlike fp16); plain fp32 on CPU, where
    bf16 is only faster on CPUs with AMX and would make CPU and GPU runs differ more."""
    if enabled and is_cuda(device):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def precision_name(device: str, enabled: bool = True) -> str:
    return "bf16-autocast" if enabled and is_cuda(device) else "fp32"


def to_device(a: np.ndarray | torch.Tensor, device: str, dtype: torch.dtype | None = None) -> torch.Tensor:
    """numpy/tensor -> device tensor; on CUDA through pinned memory with a non-blocking copy."""
    t = torch.as_tensor(a) if not isinstance(a, torch.Tensor) else a
    if dtype is not None:
        t = t.to(dtype)
    if is_cuda(device):
        if t.device.type == "cpu":
            t = t.contiguous().pin_memory()
        return t.to(device, non_blocking=True)
    return t.to(device)


def sync(device: str) -> None:
    if is_cuda(device):
        torch.cuda.synchronize(device)


class Timer:
    """Wall-clock timer that synchronises CUDA at both ends (kernels run asynchronously)."""

    def __init__(self, device: str = "cpu"):
        self.device = device
        self.seconds = 0.0

    def __enter__(self) -> "Timer":
        sync(self.device)
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        sync(self.device)
        self.seconds = time.perf_counter() - self._t0
