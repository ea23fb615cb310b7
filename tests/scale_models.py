"""Test-only models for executor tests, registered once per process.

Ray workers import this module before a fit (the executor ships the names of modules that
register the run's models), so these models run on Ray exactly as in the driver.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np

from benchmarks.core.errors import DataError
from models.registry import MODELS


class _Constant:
    """Predicts class priors. ``fail_if``: raise DataError while that file exists (for seed
    ``fail_seed`` only, unless it is -1);
    ``die_if_absent``: the first fit (no such file yet) creates it and kills its own process
    (a lost worker), later fits run; ``die_always``: every fit kills its process;
    ``seconds``: sleep in fit (a run that is certain to be in progress)."""

    def __init__(self, fail_if: str = "", fail_seed: int = -1, die_if_absent: str = "", die_always: bool = False,
                 seconds: float = 0.0, random_state: int = 0):
        self.fail_if, self.fail_seed = fail_if, fail_seed
        self.die_if_absent, self.die_always = die_if_absent, die_always
        self.seconds, self.random_state = seconds, random_state

    def fit(self, X, y, sample_weight=None, X_val=None, y_val=None, w_val=None, epoch_callback=None):
        if self.fail_if and Path(self.fail_if).exists() and self.fail_seed in (-1, self.random_state):
            raise DataError(f"scale-test model refuses seed {self.random_state}\nsecond line")
        if self.die_always or (self.die_if_absent and not Path(self.die_if_absent).exists()):
            if self.die_if_absent:
                Path(self.die_if_absent).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(self.seconds)
        self.prior_ = np.bincount(y, minlength=int(max(y.max(), y_val.max())) + 1) / len(y)
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))


if "scale-test-constant" not in MODELS.names():
    MODELS.register("scale-test-constant", backend="sklearn", family="tabular")(lambda **kw: _Constant(**kw))
