"""What a run was: command, configuration, seeds, versions, commit and hardware."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from .core.device import gpu_name
from .core.secrets import redact, redact_obj

PACKAGES = ("supertml-bench", "numpy", "pandas", "scikit-learn", "optuna", "torch", "timm",
            "torchvision", "xgboost", "lightgbm", "pillow", "seaborn", "matplotlib")


def package_versions() -> dict[str, str | None]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[1]
    try:
        res = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return res.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def command_line() -> str:
    prog = Path(sys.argv[0]).name if sys.argv else ""
    if prog in ("__main__.py", "cli.py"):
        prog = "python -m benchmarks"
    return " ".join([prog, *sys.argv[1:]]).strip()


def make_manifest(config: dict, seeds: list[int], device: str) -> dict:
    return {
        "command": redact(command_line()),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": redact_obj(config),
        "seeds": seeds,
        "device": device,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "git_commit": git_commit(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "gpu": gpu_name(device) if device.startswith("cuda") else gpu_name(),
    }
