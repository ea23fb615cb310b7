"""The rungs of Strong's (2020) technique ladder as ``dnn`` parameters.

``LADDER``: experiment id -> (short name, params), the paper's settings read from the
notebooks of GilesStrong/HiggsML_Lumin (``notebooks/<n>_*``; the README of
``shared/data/literature`` maps experiment ids to notebooks) and LUMIN v0.5.1's defaults
where a notebook relies on them. ``LADDER_SMALL``: the same rungs, the same techniques,
sized for 2 CPU cores and the 10k-event HiggsML excerpt (fewer members, passes and
sub-epochs). ``LADDER_NOTES``: where each setting comes from and what the rung needs from
the harness. ``ladder_params(id, small=False)`` returns a fresh copy of a rung's params.

Common to every rung (notebook 0 onwards): batch size 256; Adam (eps 1e-8, no weight
decay); validation after every ninth of the training data (LUMIN trains on 9 of the 10
folds of its training file, one fold per sub-epoch: ``subepochs=9``); patience, cycle
lengths and SWA periods in those sub-epochs (in cycles once a cyclic schedule runs); class
weights normalised per class (the engine's ``class_balance``); inputs standardised; and,
on the harness side, the notebooks' ``data_import.py`` turns PRI_ momenta into Cartesian
px, py, pz (``proc_event(use_cartesian=True)``) for every rung, MET into px, py beside
its magnitude PRI_met_pt (``keep_feats=['PRI_met_pt']``): 31 inputs, 30 once experiment
6's orientation fix makes PRI_lep_py constant. Precision fp32, as LUMIN trains (``dnn``'s
default; ``precision = "bf16"`` in a suite's params opts into bf16 autocast on CUDA).

Categorical inputs: notebooks 0 and 1 import the data without ``-f PRI_jet_num``, so
PRI_jet_num is one more standardised number (31 continuous inputs); from notebook 2
(experiment 4) on, and in the +cat ablation 38, it is embedded (``emb_szs=[3]``). The
rungs without the embedding (0, 1, 39-42) say so with ``categorical_features=[]``, and
their registration does not take the data's categorical fact, so that setting stands; the
rungs with it embed the data's categorical columns (HiggsML: PRI_jet_num) with size 3.

Harness needs: ``feature_names`` and the data's ``categorical_features`` for every rung
with the embedding (4 onwards, 38), ``feature_names`` for a split body (29, 30, 32); the
HiggsML ``augmentation`` object for every rung with ``augment``/``tta`` (7 onwards, 42);
experiment 6's orientation fix is a preprocessing flag (no model parameter changes).
"""
from __future__ import annotations

import copy

_BASE = dict(width=100, depth=4, activation="relu", n_members=1, batch_size=256, lr=2e-3, schedule="constant",
             max_epochs=200, subepochs=9, patience=50)
# The data's categorical columns (HiggsML: PRI_jet_num) are embedded, as notebook 2's CatEmbedder(emb_szs=[3]).
_EMBED = dict(embedding_sizes=[3])
# Before notebook 2 PRI_jet_num is a plain standardised input: no column is embedded.
_NUMERIC = dict(categorical_features=[])
_AUG = dict(augment=True, tta=True)
_COSINE = dict(schedule="cosine", lr=2e-3, lr_min=0.0, cycle_length=1, cycle_mult=2, patience=2, max_epochs=30)
_ONECYCLE = dict(schedule="onecycle", lr=1e-2, lr_min=1e-4, onecycle_lengths=(45, 90), momentum_range=(0.85, 0.95),
                 max_epochs=15, patience=50)
_DENSE = dict(width=33, depth=6, dense=True)
_SWISH = dict(activation="swish")
_SPLIT = dict(body="split", high_width=50, high_depth=1, width="inputs+2", depth=6, dense=True)
_BOTTLENECK = dict(body="bottleneck", high_width=51, high_depth=1, width="inputs+3", depth=6, dense=True, bottleneck=1)
_WIDE_DEEP = dict(body="wide-deep", high_width=50, high_depth=1, width=33, depth=6, dense=True)
_SSE = dict(schedule="cosine", lr=2e-3, lr_min=0.0, cycle_length=50, cycle_mult=1, patience=3, max_epochs=200,
            snapshots=4, snapshot_power=-1.0)
_FGE = dict(schedule="linear", lr=2e-3, lr_min=2e-4, cycle_length=5, cycle_mult=1, patience=10, max_epochs=200,
            snapshots=8, snapshot_power=0.0)
_SWA_CONST = dict(schedule="constant", lr=1e-3, swa=True, swa_start=5, swa_renewal=5, patience=50, max_epochs=200)
_SWA_CYCLE = dict(lr=2e-3, lr_min=2e-4, cycle_length=5, cycle_mult=1, swa=True, swa_start=2, swa_renewal=2,
                  patience=10, max_epochs=200)


def _rung(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        out.update(copy.deepcopy(part))
    return out


_ENS = dict(n_members=10)
_SWISH_ENS = (_BASE, _ENS, _EMBED, _AUG, _SWISH)

LADDER: dict[int, tuple[str, dict]] = {
    0: ("relu-baseline", _rung(_BASE, _NUMERIC)),
    1: ("relu-ensemble", _rung(_BASE, _ENS, _NUMERIC)),
    4: ("+embedding", _rung(_BASE, _ENS, _EMBED)),
    6: ("+orientation-fix", _rung(_BASE, _ENS, _EMBED)),
    7: ("+augmentation", _rung(_BASE, _ENS, _EMBED, _AUG)),
    8: ("+cosine", _rung(_BASE, _ENS, _EMBED, _AUG, _COSINE)),
    9: ("+swish", _rung(*_SWISH_ENS, _COSINE)),
    14: ("sse", _rung(*_SWISH_ENS, _SSE)),
    15: ("fge", _rung(*_SWISH_ENS, _FGE)),
    11: ("swa-constant", _rung(*_SWISH_ENS, _SWA_CONST)),
    12: ("swa-cosine", _rung(*_SWISH_ENS, _SWA_CYCLE, dict(schedule="cosine"))),
    13: ("swa-cyclic", _rung(*_SWISH_ENS, _SWA_CYCLE, dict(schedule="linear"))),
    18: ("onecycle", _rung(*_SWISH_ENS, _ONECYCLE)),
    28: ("+dense (final)", _rung(*_SWISH_ENS, _ONECYCLE, _DENSE)),
    29: ("split", _rung(*_SWISH_ENS, _ONECYCLE, _SPLIT)),
    30: ("split+bottleneck", _rung(*_SWISH_ENS, _ONECYCLE, _BOTTLENECK)),
    32: ("wide-deep", _rung(*_SWISH_ENS, _ONECYCLE, _WIDE_DEEP)),
    38: ("baseline+embedding", _rung(_BASE, _EMBED)),
    39: ("baseline+swish", _rung(_BASE, _NUMERIC, _SWISH)),
    40: ("baseline+onecycle", _rung(_BASE, _NUMERIC, _ONECYCLE)),
    41: ("baseline+dense", _rung(_BASE, _NUMERIC, _DENSE)),
    42: ("baseline+augmentation", _rung(_BASE, _NUMERIC, _AUG)),
}

_NB = "notebooks/{}"
LADDER_NOTES: dict[int, str] = {
    0: _NB.format("0_relu_baseline: 4x100 ReLU (He-normal init, LUMIN), bs 256, set_lr(2e-3), patience 50, "
                  "max_epochs 200, one model; data_import without -f: 31 continuous inputs, PRI_jet_num among "
                  "them (categorical_features=[])"),
    1: _NB.format("1_relu_ensemble: n_models 10, ensemble of 10 weighted by 1/validation loss "
                  "(Ensemble.from_results, weighting='reciprocal'); PRI_jet_num still a number"),
    4: _NB.format("2_relu_ensemble_embed: PRI_jet_num categorical (data_import -f PRI_jet_num), "
                  "CatEmbedder emb_szs=[3]; harness: feature_names and the data's categorical columns"),
    6: _NB.format("3_relu_ensemble_embed_fix: data_import -r -y -z (events rotated/flipped to a common "
                  "orientation); harness: the orientation-fix preprocessing flag, model params as 4"),
    7: _NB.format("4_relu_ensemble_embed_aug: HEPAugFoldYielder(rot_mult=2) at train and test time, the fix "
                  "dropped again; harness: the HiggsML augmentation object (random rotation/reflections, views)"),
    8: _NB.format("5_relu_ensemble_embed_aug_cosine: CycleLR(lr_range=(0, 2e-3), cycle_mult=2) (first cycle "
                  "one sub-epoch), patience 2 (cycles), max_epochs 30"),
    9: _NB.format("6_swish_ensemble_embed_aug_cosine: act 'swish' (x * sigmoid(x))"),
    14: _NB.format("7_swish_ensemble_embed_aug_sse: CycleLR((0, 2e-3), cycle_mult=1, scale=50), patience 3, "
                   "max_epochs 200; snapshot_args n_cycles 4, weighting_pwr -1 (members uniform)"),
    15: _NB.format("8_swish_ensemble_embed_aug_fge: CycleLR((2e-4, 2e-3), scale=5, interp='linear'), patience 10, "
                   "max_epochs 200; snapshot_args n_cycles 8, weighting_pwr 0"),
    11: _NB.format("9_swish_ensemble_embed_aug_swaconst: SWA(start_epoch=5, renewal_period=5), patience 50; "
                   "no set_lr in the notebook, so torch Adam's default lr 1e-3"),
    12: _NB.format("10_swish_ensemble_embed_aug_swacosine1: CycleLR((2e-4, 2e-3), scale=5) + "
                   "SWA(start_epoch=2, renewal_period=2) (cycles), patience 10"),
    13: _NB.format("11_swish_ensemble_embed_aug_swacyclic: as 12 with interp='linear'"),
    18: _NB.format("12_swish_ensemble_embed_aug_onecycle: OneCycle(lengths=(45, 90), lr_range=[1e-4, 1e-2], "
                   "mom_range=(0.85, 0.95), interp='cosine'), max_epochs 15 (the cycle's 135 sub-epochs)"),
    28: _NB.format("13_swish_ensemble_embed_aug_onecycle_dense: body width 33, depth 6, dense=True "
                   "(growth_rate 0, LUMIN's default)"),
    29: _NB.format("14_..._dense_split: MultiBlock [DER_: FullyConnected depth 1 width 50 | PRI_: depth 6 "
                   "width len(PRI feats)+2 dense]; harness: feature_names"),
    30: _NB.format("15_..._dense_split_bottleneck: widths 51 and len(PRI feats)+3, bottleneck_sz=1, "
                   "bottleneck_act 'swish'; harness: feature_names"),
    32: _NB.format("16_..._dense_wide-deep: [DER_: depth 1 width 50 | all features: depth 6 width 33 dense]; "
                   "harness: feature_names"),
    38: "no notebook in the repository (paper_results only; named +cat there): experiment 0 + experiment "
        "4's embedding",
    39: "no notebook in the repository: experiment 0 + swish (PRI_jet_num a number, as 0; likewise 40-42)",
    40: "no notebook in the repository: experiment 0 + experiment 18's one-cycle settings (max_epochs 15)",
    41: "no notebook in the repository: experiment 0 + experiment 28's dense 6x33 body (single model; its "
        "published training time, 63 s vs 45 s, fits one small model)",
    42: "no notebook in the repository: experiment 0 + train/test-time augmentation; harness: augmentation",
}


# Measured: all 22 rungs fit and predict (validation and both test parts, TTA with 8 views
# of a stand-in augmentation) in 95 s on one torch thread of a 2-core machine shared with
# other jobs (load 2.5), 171 s at load 7; higgsml-quick preprocessing of the 10k excerpt,
# 5,998 training and 2,000 validation events.
# 2 CPU cores, ~6k training events (the 10k excerpt): the same 10 members, 3 sub-epochs
# per pass instead of 9, and every epoch count and length cut to fit a few tens of seconds.
_SMALL = dict(subepochs=3, max_epochs=20, patience=6)
_SMALL_ENS = dict(n_members=10)
_SMALL_COSINE = dict(cycle_length=1, cycle_mult=2, patience=2, max_epochs=10)
_SMALL_SSE = dict(cycle_length=6, patience=2, max_epochs=20, snapshots=3)
_SMALL_FGE = dict(cycle_length=2, patience=4, max_epochs=20, snapshots=4)
_SMALL_SWA = dict(max_epochs=20, patience=6, swa_start=3, swa_renewal=3)
_SMALL_SWA_CYCLE = dict(cycle_length=2, max_epochs=20, patience=4, swa_start=2, swa_renewal=2)
_SMALL_ONECYCLE = dict(onecycle_lengths=(5, 10), max_epochs=5)


def _small(exp: int) -> dict:
    params = copy.deepcopy(LADDER[exp][1])
    params.update(_SMALL)
    if params["n_members"] > 1:
        params.update(_SMALL_ENS)
    schedule = params["schedule"]
    if params.get("snapshots"):
        params.update(_SMALL_SSE if schedule == "cosine" else _SMALL_FGE)
    elif params.get("swa"):
        params.update(_SMALL_SWA if schedule == "constant" else _SMALL_SWA_CYCLE)
    elif schedule == "cosine":
        params.update(_SMALL_COSINE)
    elif schedule == "onecycle":
        params.update(_SMALL_ONECYCLE)
    return params


LADDER_SMALL: dict[int, tuple[str, dict]] = {exp: (name, _small(exp)) for exp, (name, _) in LADDER.items()}


def ladder_params(exp: int, small: bool = False) -> dict:
    """A fresh copy of rung ``exp``'s params (``small``: the 2-core, 10k-event sizing)."""
    table = LADDER_SMALL if small else LADDER
    return copy.deepcopy(table[exp][1])
