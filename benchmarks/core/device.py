"""One rule for devices: ``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``.

torch is optional: without it every device resolves to the CPU, and asking for CUDA is
an error like any other unavailable device.
"""
from __future__ import annotations

from .errors import ConfigError


def _cuda_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def resolve_device(device: str | None = "auto") -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N`` -> a concrete device string.

    Asking for a GPU that torch does not see (or an index past the last one) is a
    one-line error, never a silent fallback to the CPU.
    """
    name = str(device or "auto").strip().lower()
    if name == "cpu":
        return "cpu"
    if name == "auto":
        return "cuda" if _cuda_count() else "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        index = name.partition(":")[2]
        if index and not index.isdigit():
            raise ConfigError(f"device {device!r}: the GPU index must be a number (cuda:0, cuda:1, ...)")
        count = _cuda_count()
        if count == 0:
            raise ConfigError(f"device {device!r} asked for, but torch sees no CUDA GPU; use cpu or auto")
        if index and int(index) >= count:
            raise ConfigError(f"device {device!r} asked for, but torch sees {count} GPU(s)")
        return name
    raise ConfigError(f"device must be auto, cpu, cuda or cuda:N, got {device!r}")


def gpu_name(device: str = "cuda") -> str | None:
    """The GPU's model name, or None without a usable GPU."""
    if not _cuda_count():
        return None
    import torch

    index = int(device.partition(":")[2] or 0) if device.startswith("cuda") else 0
    return torch.cuda.get_device_name(index)
