"""The modern tabular DNN of Strong (2020) and its technique ladder, as one estimator.

G. C. Strong, "On the impact of selected modern deep-learning techniques to the
performance and celerity of classification models in an experimental high-energy physics
use case", Mach. Learn.: Sci. Technol. 1 (2020) 045006, arXiv:2002.01427; notebooks in
GilesStrong/HiggsML_Lumin, library LUMIN v0.5.1. Every technique of the paper is a
constructor parameter, so each rung of the ladder is a configuration (``LADDER``,
``LADDER_SMALL``), not new code.

* Architecture (``models.dnn_net``): ``width`` x ``depth`` layers of ``activation`` (relu;
  selu with LeCun-normal weights and alpha-dropout; swish = SiLU), optional ``batchnorm``
  and ``dropout``, ``dense`` connections with LUMIN's ``growth_rate`` rule. ``body`` =
  ``"single"``, or ``"split"`` (high-level features, the names starting with one of
  ``high_prefixes``, through a ``high_depth`` x ``high_width`` block; the others, the
  low-level ones, through the main block), ``"bottleneck"`` (split, and each block also
  gets ``bottleneck`` neurons computed from the other block's features), ``"wide-deep"``
  (the high-level block beside a main block over all features). ``width`` may be
  ``"inputs+K"``: the block's number of input features plus K (the paper's split blocks).
  These variants need ``feature_names``.
* ``categorical_features`` (names) are embedded, not fed as numbers: the model learns its
  own value -> index map on the training rows (unseen values share a reserved index);
  sizes ``embedding_sizes`` or LUMIN's min(50, (1 + distinct values) // 2).
* ``n_members`` members trained as one batched network (``models.ensemble``), each with its
  own initialisation and shuffling; predictions weighted by the members' best validation
  losses (``member_weighting``: ``"reciprocal"`` 1/loss normalised, or ``"uniform"``;
  equal weights without validation data). Early stopping per member (``patience`` epochs,
  or cycles with a cyclic schedule), each member keeping its best weights. ``member_ids``
  picks which members of ``random_state``'s sequence to train (default 0 .. n - 1):
  member k of an ensemble is the model ``n_members=1, member_ids=[k]`` trains alone.
* ``schedule``: ``"constant"`` (``lr``), ``"cosine"`` (warm restarts ``lr`` -> ``lr_min``,
  first cycle ``cycle_length`` epochs, times ``cycle_mult`` each restart), ``"linear"``
  (triangular cycles between ``lr_min`` and ``lr``), ``"onecycle"`` (``onecycle_lengths``
  epochs up from ``lr_min`` to ``lr`` and down to 0, Adam's beta1 moving inversely within
  ``momentum_range``; the cycle ends the training). Optimiser Adam (``weight_decay`` as L2).
* ``snapshots`` > 0 (cyclic schedules): SSE / FGE, each member's best weights plus its
  ``snapshots`` cycle-end snapshots before them, the k-th youngest weighted
  (k + 2) ** ``snapshot_power`` (SSE -1, FGE 0) and members weighted equally, as LUMIN.
  ``swa``: stochastic weight averaging from ``swa_start`` with LUMIN's renewal every
  ``swa_renewal`` epochs (cycles), the average competing for each member's best weights.
* ``augmentation``: an object with ``random(X, generator)`` (train time, when ``augment``:
  a random transform of every row of ``X``, ``[n, F]`` on the model's device, all members'
  rows of a batch at once; ``generator`` is a ``torch.Generator`` on that device seeded
  from ``random_state``) and ``views()`` (test time, when ``tta``: the predictions are
  averaged over the views as given, so they include the identity), both on float32 tensors
  in the model's input space (before the model's own standardisation). It must survive
  deepcopy (``clone``) and pickling.
* ``missing_value``: the data's marker of absent entries (HiggsML's -999 for a jet that is
  not there, kept by ``preprocess.missing = "keep"``): such entries are left out of the
  model's scaling statistics and read 0 after scaling, as LUMIN's NaN -> 0 does. The
  harness passes the marker; None treats every value as a measurement.
* ``lr_range_test``: after fitting, run the learning-rate range test (``lr_find``) on the
  training rows and keep its curve in ``info_["lr_find"]`` (the report plots it).
* ``time_budget_s``: training ends once it has taken this long (checked each epoch), the
  members keeping their best weights so far: a search may then offer up to 10 members
  without a trial outgrowing its share of the search's time.
* ``precision``: ``"fp32"`` (default, as the paper's LUMIN trains) or ``"bf16"``: bf16
  autocast on CUDA (faster, not the paper's arithmetic); CPU runs are fp32 either way, and
  ``info_["precision"]`` says what ran.
* ``eval_batch_size``: member-rows per evaluation batch (an ensemble of K models evaluates
  ``eval_batch_size // K`` events at a time, so memory does not grow with K).
* Epochs: ``max_epochs`` passes over the training data, each cut into ``subepochs`` engine
  epochs (LUMIN's sub-epochs: the paper validates after every ninth of the data, so its
  rungs use ``subepochs=9``); ``patience``, cycle lengths and SWA counts are in sub-epochs.

Feature groups: the high-level features are those whose names start with one of
``high_prefixes`` (default ``DER_``), the low-level ones every other feature (HiggsML's
``PRI_``); a categorical feature joins its group through its embedding columns.

Deliberate differences from the paper, stated: two-class softmax cross-entropy instead of
one sigmoid output (the same model family); every member uses the harness's validation
split for early stopping and its weight (LUMIN holds out one of ten training folds per
member instead, so its members also see different 90% subsets); a pass is reshuffled as a
whole before it is cut into sub-epochs (LUMIN's folds are fixed, their order shuffled); a
member that has stopped keeps training inside the batched network (its best weights no
longer change) until every member has stopped; one member's non-finite training loss ends
the whole fit (the engine's rule); snapshots are counted back from each member's best
epoch (LUMIN counts back ``patience`` cycles from where training stopped, the same place
when the stop came from patience); SWA's second average starts from the current weights
(see ``models.callbacks.SWA``).
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable

import numpy as np

from benchmarks.core.errors import ConfigError

from .base import (
    BOOL, MAX_BATCH, MAX_EPOCHS, MAX_LAYERS, MAX_MEMBERS, MAX_WIDTH, NAMES, NONE, Param, Rule,
    categorical_columns, integer, one_of, real,
)
from .dnn_ladder import LADDER, LADDER_NOTES, LADDER_SMALL, ladder_params  # noqa: F401  (re-exported)
from .registry import MODELS, register_model
from .torch_estimator import TorchEstimator

__all__ = ["DNN", "LADDER", "LADDER_NOTES", "LADDER_SMALL", "embedding_size", "ladder_params", "lr_find", "uses_bf16",
           "resolve_width", "search_space"]

ACTIVATIONS = ("relu", "selu", "swish")
BODIES = ("single", "split", "bottleneck", "wide-deep")
SCHEDULES = ("constant", "cosine", "linear", "onecycle")
PRECISIONS = ("fp32", "bf16")
_INPUTS = re.compile(r"^inputs([+-]\d+)$")


def _pair(kind: Rule) -> Rule:
    return Rule(f"a pair, each {kind.what}",
                lambda v: isinstance(v, (list, tuple)) and len(v) == 2 and all(kind.ok(x) for x in v),
                ("x", (1,), tuple(kind.bad[:1]) * 2))


WIDTH = integer(1, MAX_WIDTH) | Rule(
    "'inputs+K'", lambda v: isinstance(v, str) and bool(_INPUTS.match(v)) and abs(int(v[6:])) <= MAX_WIDTH,
    ("wide", f"inputs+{MAX_WIDTH + 1}"))
SIZES = Rule("a list of integers >= 1",
             lambda v: isinstance(v, (list, tuple)) and all(integer(1, MAX_WIDTH).ok(x) for x in v), ("x", [0], [MAX_WIDTH + 1]))
IDS = Rule("a list of distinct integers >= 0",
           lambda v: isinstance(v, (list, tuple)) and all(integer(0, MAX_MEMBERS).ok(x) for x in v) and len(set(v)) == len(v),
           ("x", [0, 0], [-1], [MAX_MEMBERS + 1]))


def resolve_width(width: int | str, n_inputs: int) -> int:
    """``width`` as an integer; ``"inputs+K"`` is the block's number of input features + K."""
    if isinstance(width, str):
        return max(1, n_inputs + int(_INPUTS.match(width).group(1)))
    return int(width)


def uses_bf16(precision: str) -> bool:
    """Whether a fit asks the engine for bf16 autocast; the engine applies it on CUDA only
    (``models.torch_utils.autocast``), so a CPU fit is fp32 whatever is asked."""
    return precision == "bf16"


def embedding_size(n_values: int) -> int:
    """LUMIN's rule of thumb (``CatEmbedder.calc_emb_szs``): min(50, (1 + cardinality) // 2)."""
    return min(50, (1 + int(n_values)) // 2)


class DNN(TorchEstimator):
    """Strong's (2020) tabular DNN: every technique of the ladder is a parameter (see the
    module docstring). Trained by ``models.engine`` with the batched-ensemble machinery of
    ``models.ensemble`` and the callbacks of ``models.callbacks``."""

    model_name = "dnn"
    PARAMS = {
        "width": Param(100, WIDTH, "neurons per layer of the main block, or 'inputs+K'"),
        "depth": Param(4, integer(1, MAX_LAYERS), "layers of the main block"),
        "activation": Param("relu", one_of(*ACTIVATIONS), "relu, selu (LeCun init, alpha-dropout) or swish"),
        "dense": Param(False, BOOL, "dense connections (each layer sees all earlier ones)"),
        "growth_rate": Param(0.0, real(-1.0, 10.0), "LUMIN's width growth per dense layer"),
        "batchnorm": Param(False, BOOL, "batch norm after each hidden layer"),
        "dropout": Param(0.0, real(0.0, 1.0, high_open=True), "dropout after each hidden layer (0: none)"),
        "body": Param("single", one_of(*BODIES), "single, split, bottleneck or wide-deep"),
        "high_prefixes": Param(("DER_",), NAMES, "name prefixes of the high-level features"),
        "high_width": Param(50, integer(1, MAX_WIDTH), "neurons per layer of the high-level block"),
        "high_depth": Param(1, integer(1, MAX_LAYERS), "layers of the high-level block"),
        "bottleneck": Param(1, integer(1, MAX_WIDTH), "bottleneck neurons per block (body='bottleneck')"),
        "feature_names": Param(None, NAMES | NONE, "the columns' names (the harness passes them)"),
        "categorical_features": Param(None, NAMES | NONE, "names of the columns to embed"),
        "embedding_sizes": Param(None, SIZES | NONE, "embedding size per categorical feature (None: LUMIN's rule)"),
        "missing_value": Param(None, real() | NONE, "the data's missing-value marker (None: none)"),
        "time_budget_s": Param(None, real(0.0, low_open=True) | NONE, "stop training after this many seconds"),
        "lr_range_test": Param(False, BOOL, "run the learning-rate range test after fitting"),
        "n_members": Param(1, integer(1, MAX_MEMBERS), "ensemble members trained as one batched network"),
        "member_ids": Param(None, IDS | NONE, "which members of random_state's sequence to train"),
        "member_weighting": Param("reciprocal", one_of("reciprocal", "uniform"), "members' weights from their losses"),
        "batch_size": Param(256, integer(1, MAX_BATCH), "training batch size"),
        "max_epochs": Param(200, integer(1, MAX_EPOCHS), "most passes over the training data"),
        "subepochs": Param(1, integer(1, MAX_EPOCHS), "engine epochs per pass (LUMIN's sub-epochs)"),
        "patience": Param(50, integer(1, MAX_EPOCHS) | NONE, "sub-epochs (or cycles) without improvement before a member stops"),
        "schedule": Param("constant", one_of(*SCHEDULES), "learning-rate schedule"),
        "lr": Param(2e-3, real(0.0, low_open=True), "(peak) learning rate"),
        "lr_min": Param(0.0, real(0.0), "lowest learning rate of a cyclic schedule"),
        "cycle_length": Param(1, integer(1, MAX_EPOCHS), "first cycle's length in sub-epochs"),
        "cycle_mult": Param(1, integer(1, MAX_EPOCHS), "each cycle's length over the previous one's"),
        "onecycle_lengths": Param((45, 90), _pair(integer(1, MAX_EPOCHS)), "one-cycle's sub-epochs up and down"),
        "momentum_range": Param((0.85, 0.95), _pair(real(0.0, 1.0, high_open=True)), "one-cycle's beta1 range"),
        "weight_decay": Param(0.0, real(0.0), "Adam's L2 penalty"),
        "snapshots": Param(0, integer(0, MAX_MEMBERS), "cycle-end snapshots per member (SSE/FGE)"),
        "snapshot_power": Param(0.0, real(), "snapshot weight exponent (SSE -1, FGE 0)"),
        "swa": Param(False, BOOL, "stochastic weight averaging"),
        "swa_start": Param(5, integer(0, MAX_EPOCHS), "sub-epoch (cycle) SWA starts at"),
        "swa_renewal": Param(5, integer(0, MAX_EPOCHS), "SWA's renewal period"),
        "augmentation": Param(None, doc="an object with random(X, generator) and views()"),
        "augment": Param(False, BOOL, "augment training rows with augmentation.random"),
        "tta": Param(False, BOOL, "average predictions over augmentation.views()"),
        "class_balance": Param(True, BOOL, "weight each class to the same total in the loss"),
        "standardise": Param(True, BOOL, "scale continuous columns by their training mean and std"),
        "precision": Param("fp32", one_of(*PRECISIONS), "fp32, or bf16 autocast on CUDA"),
        "eval_batch_size": Param(65536, integer(1, MAX_BATCH), "member-rows per evaluation batch"),
    }

    # ------------------------------------------------------------------ parameters

    def check_params(self) -> None:
        super().check_params()
        if self.batchnorm and self.batch_size < 2:
            raise ConfigError(f"dnn: batch_size must be >= 2 with batchnorm, got {self.batch_size!r}")
        if self.body != "single" and self.feature_names is None:
            raise ConfigError(f"dnn: body={self.body!r} needs feature_names (to find the high-level features)")
        self._check_categorical()
        if self.member_ids is not None and len(self.member_ids) != self.n_members:
            raise ConfigError(f"dnn: member_ids lists {len(self.member_ids)} members, n_members is {self.n_members}")
        if self.schedule in ("cosine", "linear", "onecycle") and self.lr_min > self.lr:
            raise ConfigError(f"dnn: lr_min ({self.lr_min!r}) must not exceed lr ({self.lr!r})")
        if self.snapshots and self.schedule not in ("cosine", "linear"):
            raise ConfigError(f"dnn: snapshots need a cyclic schedule (cosine or linear), got {self.schedule!r}")
        self._check_augmentation()

    def _check_categorical(self) -> None:
        cats = categorical_columns("dnn", self.feature_names, self.categorical_features)
        if self.embedding_sizes is not None and len(self.embedding_sizes) != len(cats):
            raise ConfigError(f"dnn: embedding_sizes gives {len(self.embedding_sizes)} sizes "
                              f"for {len(cats)} categorical feature(s)")

    def _check_augmentation(self) -> None:
        aug = self.augmentation
        if aug is not None and not (callable(getattr(aug, "random", None)) and callable(getattr(aug, "views", None))):
            raise ConfigError("dnn: augmentation must have random(X, generator) and views() methods")
        for flag in ("augment", "tta"):
            if getattr(self, flag) and aug is None:
                raise ConfigError(f"dnn: {flag}=True needs an augmentation object")

    # ------------------------------------------------------------------ network spec

    def _names(self, n_features: int) -> list[str]:
        if self.feature_names is None:
            return [f"x{i}" for i in range(n_features)]
        names = list(self.feature_names)
        if len(names) != n_features:
            raise ConfigError(f"dnn: {len(names)} feature_names for {n_features} columns")
        return names

    def _head(self, X: np.ndarray, names: list[str]):
        """Continuous columns with their scaling, categorical columns with their training
        values and embedding sizes, and where each feature lands in the head's output."""
        cat_cols = [names.index(c) for c in (self.categorical_features or [])]
        cont = [i for i in range(len(names)) if i not in cat_cols]
        Xc = np.ma.masked_equal(X[:, cont], self.missing_value) if self.missing_value is not None else X[:, cont]
        mean = np.ma.filled(Xc.mean(0), 0.0) if self.standardise and len(X) else np.zeros(len(cont))
        std = np.ma.filled(Xc.std(0), 1.0) if self.standardise and len(X) else np.ones(len(cont))
        std = np.where(std > 0, std, 1.0)
        cats = []
        for k, col in enumerate(cat_cols):
            values = np.unique(X[:, col].astype(np.float32))
            size = self.embedding_sizes[k] if self.embedding_sizes is not None else embedding_size(len(values))
            cats.append((col, values, int(size)))
        where = {col: [j] for j, col in enumerate(cont)}
        offset = len(cont)
        for col, _, size in cats:
            where[col] = list(range(offset, offset + size))
            offset += size
        return cont, mean, std, cats, where

    def _blocks(self, names: list[str], where: dict[int, list[int]]):
        from .dnn_net import BlockSpec

        def columns(features):
            return [c for f in features for c in where[f]]

        main = dict(depth=int(self.depth), dense=bool(self.dense), growth=float(self.growth_rate))
        everything = list(range(len(names)))
        if self.body == "single":
            return [BlockSpec("all", None, width=resolve_width(self.width, len(names)), **main)]
        high = [i for i, n in enumerate(names) if any(n.startswith(p) for p in self.high_prefixes)]
        low = [i for i in everything if i not in high]
        if not high or not low:
            raise ConfigError(f"dnn: body={self.body!r} needs high-level features (names starting with "
                              f"{', '.join(self.high_prefixes)}) and others; found {len(high)} and {len(low)}")
        deep = everything if self.body == "wide-deep" else low
        wide = BlockSpec("high", columns(high), int(self.high_depth), int(self.high_width))
        main_block = BlockSpec("low" if deep is low else "all", None if deep is everything else columns(deep),
                               width=resolve_width(self.width, len(deep)), **main)
        if self.body == "bottleneck":
            wide.others, main_block.others = columns(low), columns(high)
        return [wide, main_block]

    def _spec(self, X: np.ndarray, n_classes: int):
        from .dnn_net import NetSpec

        names = self._names(X.shape[1])
        cont, mean, std, cats, where = self._head(X, names)
        return NetSpec(n_features=X.shape[1], cont=cont, mean=np.asarray(mean), std=np.asarray(std), cats=cats,
                       missing_value=self.missing_value,
                       blocks=self._blocks(names, where), activation=self.activation, batchnorm=bool(self.batchnorm),
                       dropout=float(self.dropout), bottleneck=int(self.bottleneck) if self.body == "bottleneck" else 0,
                       n_classes=n_classes)

    # ------------------------------------------------------------------ training pieces

    def _schedule(self):
        from .schedules import LRSchedule

        return LRSchedule(kind=self.schedule, lr=float(self.lr), lr_min=float(self.lr_min),
                          cycle_length=int(self.cycle_length), cycle_mult=int(self.cycle_mult),
                          lengths=tuple(int(v) for v in self.onecycle_lengths),
                          momentum_range=tuple(float(v) for v in self.momentum_range),
                          weight_decay=float(self.weight_decay))

    def _stage_epochs(self) -> int:
        epochs = int(self.max_epochs) * int(self.subepochs)
        if self.schedule == "onecycle":  # LUMIN's OneCycle ends the training with its cycle
            epochs = min(epochs, int(sum(self.onecycle_lengths)))
        return epochs

    def _callbacks(self):
        from .callbacks import SWA, MemberEarlyStopping, Snapshots, TimeBudget

        m, cyclic = int(self.n_members), self.schedule != "constant"
        swa = SWA(m, int(self.swa_start), int(self.swa_renewal), cyclic) if self.swa else None
        patience = None if self.patience is None else int(self.patience)
        early = MemberEarlyStopping(m, patience, cyclic, candidates=[swa] if swa else [])
        snaps = Snapshots() if self.snapshots else None
        budget = TimeBudget(self.time_budget_s) if self.time_budget_s else None
        # SWA first: its average of this epoch competes in the early stopping's comparison;
        # the budget last, once this epoch's bests are recorded.
        return [c for c in (swa, early, snaps, budget) if c is not None], early, snaps

    def _seeds(self) -> list[tuple[int, int]]:
        """(initialisation, shuffling) seeds of the members this model trains."""
        from .ensemble import member_seeds

        ids = list(range(int(self.n_members))) if self.member_ids is None else [int(i) for i in self.member_ids]
        every = member_seeds(self.random_state, max(ids) + 1)
        return [every[i] for i in ids]

    def _trainer(self, callbacks=(), sampler=None, schedule=None, models: int | None = None):
        from .ensemble import EnsembleTrainer, member_loss

        # eval_batch_size counts member-rows, so a batch takes the same memory however many models.
        rows = max(1, int(self.eval_batch_size) // int(models or self.n_members))
        # The engine's own early stopping never stops (patience=None): members stop on their own.
        return EnsembleTrainer(schedule=schedule or self._schedule(), batch_size=int(self.batch_size),
                               eval_batch_size=rows, patience=None, device=self.device_,
                               amp=uses_bf16(self.precision), threads=self.threads_, progress=self.progress,
                               callbacks=list(callbacks), loss=member_loss, sampler=sampler,
                               weighting=self.member_weighting)

    def _split(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None, augment: bool = False):
        from .engine import Split, loss_weights
        from .ensemble import MemberRows
        from .torch_utils import to_device

        torch = self._torch()
        gen = None
        if augment:
            seed = int(np.random.SeedSequence([0 if self.random_state is None else int(self.random_state), 1])
                       .generate_state(1)[0])
            gen = torch.Generator(device=self.device_).manual_seed(seed)
        rows = MemberRows(to_device(X.astype(np.float32), self.device_), self.augmentation if augment else None, gen)
        return Split.of(rows, y, loss_weights(y, w, self.n_classes_, self.class_balance), self.device_,
                        augment=bool(augment))

    def _setup(self, X: np.ndarray, y: np.ndarray, y_val: np.ndarray | None) -> None:
        self._fit_setup(X, y, y_val)
        self.spec_ = self._spec(X, self.n_classes_)

    def _inputs(self, X, y, X_val, y_val):
        X, y, X_val, y_val = self._fit_inputs(X, y, X_val, y_val)
        if len(X) < 2:
            raise ConfigError(f"dnn: needs at least 2 training rows, got {len(X)}")
        if X_val is not None and X_val.shape[1] != X.shape[1]:
            raise ConfigError(f"dnn: X_val has {X_val.shape[1]} columns, X has {X.shape[1]}")
        return X, y, X_val is not None, X_val, y_val

    # ------------------------------------------------------------------ fit / predict

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray | None = None,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        w_val: np.ndarray | None = None,
        epoch_callback: Callable[[int, np.ndarray], Any] | None = None,
    ) -> "DNN":
        self._torch()
        from .dnn_net import build_net
        from .engine import Stage
        from .ensemble import MemberSampler

        X, y, has_val, X_val, y_val = self._inputs(X, y, X_val, y_val)
        self._setup(X, y, y_val)
        callbacks, early, snaps = self._callbacks()
        seeds = self._seeds()
        trainer = self._trainer(callbacks, MemberSampler([s[1] for s in seeds], int(self.subepochs)))
        with trainer.session(self.random_state) as gen:
            net = build_net(self.spec_, [s[0] for s in seeds]).to(self.device_)
            train = self._split(X, y, sample_weight, augment=self.augment)
            val = self._split(X_val, y_val, w_val) if has_val else None
            stage = Stage([{"params": list(net.parameters()), "lr": float(self.lr)}], self._stage_epochs(), desc="dnn")
            self.history_: list[dict] = []
            result = trainer.fit(net, [stage], train, val, generator=gen,
                                 epoch_callback=epoch_callback if has_val else None, history=self.history_)
        self._finish(net, early, snaps, has_val)
        self.fit_seconds_ = result.seconds
        self.info_ = self._describe()
        if self.lr_range_test:  # after the fit, with its own seeds: the fitted model is unaffected
            self.info_["lr_find"] = self._range_test(X, y, sample_weight)
        return self

    def _range_test(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> dict:
        """The learning-rate range test of this configuration on its training rows, thinned to
        at most 100 points for the report's plot."""
        params = {k: v for k, v in self.get_params().items() if k not in ("lr_range_test", "augment", "tta")}
        found = lr_find(X, y, w, **params)
        step = max(1, len(found["lrs"]) // 100)
        return {"lrs": found["lrs"][::step], "losses": found["smoothed"][::step], "suggestion": found["suggestion"]}

    def _finish(self, net, early, snaps, has_val: bool) -> None:
        """The fitted ensemble: the members' best weights (plus snapshots), and their weights."""
        from .ensemble import ensemble_weights

        torch = self._torch()
        m = int(self.n_members)
        self.best_epochs_ = [int(e) for e in early.best_epoch]
        self.member_val_loss_ = [float(v) for v in early.best_loss] if has_val else None
        if snaps is not None:
            net, weights = self._snapshot_ensemble(net, early, snaps)
        elif has_val:
            weights = ensemble_weights(early.best_loss, self.member_weighting)
        else:
            weights = np.full(m, 1.0 / m)
        net.member_weights = torch.as_tensor(weights, dtype=torch.float32, device=self.device_)
        self.member_weights_ = [float(w) for w in weights]
        self.net_ = net.eval()
        self.trainer_ = self._trainer(models=net.n_members)

    def _snapshot_ensemble(self, net, early, snaps):
        """Each member's best weights (weight 1) and its chosen snapshots in one network;
        members count equally, as LUMIN's ensembles of snapshots."""
        from .dnn_net import EnsembleNet
        from .ensemble import clone_state, select_members, stack_states

        m = int(self.n_members)
        chosen = snaps.choose(early.best_epoch, int(self.snapshots), float(self.snapshot_power))
        parts, sizes, weights = [clone_state(net)], [m], [1.0] * m
        for i in sorted({i for _, i, _ in chosen}):
            picked = [(member, w) for member, j, w in chosen if j == i]
            parts.append(select_members(snaps.states[i], [member for member, _ in picked], m))
            sizes.append(len(picked))
            weights += [w for _, w in picked]
        big = EnsembleNet(self.spec_, sum(sizes)).to(self.device_)
        big.load_state_dict(stack_states(parts, sizes))
        weights = np.asarray(weights)
        return big, weights / weights.sum()

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        X = self._predict_input(X)
        from .ensemble import MemberRows
        from .torch_utils import to_device

        if len(X) == 0:
            return np.zeros((0, self.n_classes_))
        rows = MemberRows(to_device(X.astype(np.float32), self.device_))
        views = list(self.augmentation.views()) if self.tta else [False]
        return self.trainer_.predict_proba(self.net_, rows, views)

    # ------------------------------------------------------------------ description

    def architecture(self) -> str:
        """A short description of the fitted network, e.g.
        ``10 x [dense 6x33 swish] +emb PRI_jet_num:3``."""
        spec = self.spec_

        def block(b) -> str:
            widths = b.widths()
            shape = f"{b.depth}x{widths[0]}" + (f"..{widths[-1]}" if widths[-1] != widths[0] else "")
            return ("dense " if b.dense else "") + shape + ("" if b.name == "all" else f" {b.name}")

        text = f"{self.n_members} x [{' | '.join(block(b) for b in spec.blocks)}] {spec.activation}"
        if spec.bottleneck:
            text += f" +bottleneck {spec.bottleneck}"
        if spec.batchnorm:
            text += " +batchnorm"
        if spec.dropout:
            text += f" +{'alpha-' if spec.activation == 'selu' else ''}dropout {spec.dropout}"
        names = self._names(spec.n_features)
        for col, values, size in spec.cats:
            text += f" +emb {names[col]}:{len(values)}->{size}"
        return text

    def _describe(self) -> dict:
        from .dnn_net import count_parameters

        n_models = int(self.net_.n_members)
        total = count_parameters(self.net_)
        names = self._names(self.spec_.n_features)
        info = {
            "device": self.device_,
            "precision": self.trainer_.precision,
            "inputs": int(self.spec_.n_features),
            # what each embedded column became, so a report can tell it from a column fed as a number
            "embeddings": {names[col]: int(size) for col, _, size in self.spec_.cats},
            "batch_size": int(self.batch_size),
            "threads": self.threads_,
            "architecture": self.architecture(),
            "parameters": total,
            "parameters_per_member": total // n_models,
            "members": int(self.n_members),
            "models": n_models,
            "schedule": self.schedule,
            "epochs_run": len(self.history_),
            "best_epoch": self.best_epochs_,
            "member_weights": self.member_weights_,
            "standardise": bool(self.standardise),
            "class_balance": bool(self.class_balance),
            "augment": bool(self.augment),
            "tta_views": len(list(self.augmentation.views())) if self.tta else 1,
        }
        if self.member_val_loss_ is not None and all(np.isfinite(self.member_val_loss_)):
            info["member_val_loss"] = self.member_val_loss_
        return info


# ----------------------------------------------------------------------------- learning-rate range test

def _smooth(values: list[float], beta: float = 0.9) -> list[float]:
    """Debiased exponential moving average (batch losses are noisy)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, 1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta ** i))
    return out


def lr_find(X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, lr_bounds: tuple[float, float] = (1e-5, 10.0),
            n_steps: int = 100, **params) -> dict:
    """The learning-rate range test (Smith; LUMIN's ``fold_lr_find``, which the notebooks
    run over ``lr_bounds=[1e-5, 1e1]``): the DNN built from ``params`` trains on the
    training rows only for up to ``n_steps`` batches while the learning rate grows
    exponentially from ``lr_bounds[0]`` to ``lr_bounds[1]``; it stops early once the
    smoothed loss is non-finite or 4 times its minimum. Returns ``lrs``, ``losses`` (each
    batch's loss, the members' mean), ``smoothed`` and ``suggestion``: the learning rate at
    the smoothed minimum divided by 10 (a common reading of the curve; LUMIN leaves it to
    the eye)."""
    from .engine import Callback, Stage
    from .ensemble import MemberSampler
    from .schedules import Exponential, RangeTest

    lo, hi = (float(v) for v in lr_bounds)
    if not (0 < lo < hi and math.isfinite(hi)) or int(n_steps) < 2:
        raise ConfigError(f"lr_find: lr_bounds must be 0 < low < high and n_steps >= 2, got {lr_bounds!r}, {n_steps!r}")
    model = DNN(**params)
    model.check_params()
    model._torch()
    X, y, _, _, _ = model._inputs(X, y, None, None)
    model._setup(X, y, None)
    curve, m = Exponential(lo, hi, int(n_steps)), int(model.n_members)
    record: dict[str, list[float]] = {"lrs": [], "losses": []}

    class Recorder(Callback):
        def on_batch_end(self, state, loss) -> None:
            record["lrs"].append(curve.lr(len(record["lrs"])))
            record["losses"].append(float(loss) / m)
            smooth = _smooth(record["losses"])
            done = len(smooth) >= int(n_steps) or not math.isfinite(smooth[-1])
            if done or (len(smooth) > 10 and smooth[-1] > 4 * min(smooth)):
                state.stop_fit = True

    seeds = model._seeds()
    sampler = MemberSampler([s[1] for s in seeds], int(model.subepochs))
    trainer = model._trainer([Recorder()], sampler, RangeTest(lo, hi, int(n_steps), float(model.weight_decay)))
    with trainer.session(model.random_state) as gen:
        from .dnn_net import build_net

        net = build_net(model.spec_, [s[0] for s in seeds]).to(model.device_)
        train = model._split(X, y, w, augment=model.augment)
        epochs = -(-int(n_steps) // sampler.n_batches(len(X), int(model.batch_size)))
        trainer.fit(net, [Stage([{"params": list(net.parameters()), "lr": lo}], epochs, desc="lr_find")], train,
                    generator=gen)
    smooth = _smooth(record["losses"])
    finite = [i for i, v in enumerate(smooth) if math.isfinite(v)]
    best = min(finite, key=lambda i: smooth[i]) if finite else 0
    return {**record, "smoothed": smooth, "suggestion": record["lrs"][best] / 10.0}


# ----------------------------------------------------------------------------- registration

def search_space(trial) -> dict:
    """Optuna space after the paper's search (notebook 17: depth 2-8, width 33-100, growth
    -0.2-1), plus the activation, the (peak) learning rate and the ensemble size; a suite
    caps each trial's training time with ``time_budget_s``, so large ensembles stop early."""
    return {
        "depth": trial.suggest_int("depth", 2, 8),
        "width": trial.suggest_int("width", 33, 100),
        "growth_rate": trial.suggest_float("growth_rate", -0.2, 1.0),
        "activation": trial.suggest_categorical("activation", list(ACTIVATIONS)),
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "n_members": trial.suggest_categorical("n_members", [1, 3, 5, 10]),
    }


DATA_FACTS = ("feature_names", "categorical_features", "missing_value", "augmentation")


@register_model("dnn", backend="torch", family="dnn", accepts_device=True, threads_param="num_threads",
                search_space=search_space, data_facts=DATA_FACTS)
def dnn(**kw) -> DNN:
    """Strong (2020)'s tabular DNN: batched ensembles, embeddings, dense/split bodies, SSE/FGE/SWA, TTA."""
    return DNN(**kw)


# ----------------------------------------------------------------------------- the ladder's rungs

_DNN_TAGS = dict(backend="torch", family="dnn", accepts_device=True, threads_param="num_threads",
                 search_space=search_space)


def _rung_factory(exp: int, small: bool) -> Callable[..., DNN]:
    def factory(**kw: Any) -> DNN:
        params = {**ladder_params(exp, small), **kw}
        # What the data lacks, the rung cannot use: no categorical column (Iris), nothing to
        # embed; no declared symmetry, no augmentation. The model's info says what it used.
        cats = params.get("categorical_features") or []
        if len(params.get("embedding_sizes") or []) != len(cats):  # the paper's [3] fits one column
            params.pop("embedding_sizes", None)
        if params.get("augmentation") is None:
            params["augment"] = params["tta"] = False
        return DNN(**params)

    factory.__doc__ = f"Strong (2020) ladder, experiment {exp}: {LADDER[exp][0]}{' (2-core sizing)' if small else ''}."
    return factory


def resolve_rung(name: str):
    """``dnn-lumin-<experiment>`` (the paper's settings) and ``dnn-lumin-quick-<experiment>``
    (the same techniques sized for 2 CPU cores and the 10k excerpt), for every rung of LADDER."""
    m = re.fullmatch(r"dnn-lumin-(quick-)?(\d+)", name)
    if m is None or int(m.group(2)) not in LADDER:
        return None
    exp, small = int(m.group(2)), bool(m.group(1))
    facts = {"ladder": "strong-2020", "experiment": exp, "rung": LADDER[exp][0],
             "position": list(LADDER).index(exp), "sizing": "2-core" if small else "paper"}
    # The factory merges the harness's keywords over the rung's settings, so a fact the rung
    # sets itself (rungs 0, 1, 39-42: categorical_features=[], PRI_jet_num as a number) is
    # not asked of the data; a suite's params still override both.
    own = ladder_params(exp, small)
    return MODELS.make_entry(name, _rung_factory(exp, small), _rung_factory(exp, small).__doc__,
                             **_DNN_TAGS, data_facts=tuple(f for f in DATA_FACTS if f not in own), report_facts=facts)


MODELS.add_resolver(resolve_rung)
