"""HiggsML's beam symmetries as augmentations: the physics they claim, exactly."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from datasets import load_dataset, make_splits  # noqa: E402
from datasets.higgsml import FEATURES  # noqa: E402
from datasets.higgsml_toy import _derived, make_higgsml_toy  # noqa: E402
from datasets.preprocess import PreprocessConfig, preprocess_splits  # noqa: E402
from datasets.symmetries import BeamSymmetries  # noqa: E402

pytestmark = pytest.mark.torch

FRAME_FREE = ["DER_mass_transverse_met_lep", "DER_pt_h", "DER_deltaeta_jet_jet", "DER_mass_jet_jet",
              "DER_prodeta_jet_jet", "DER_deltar_tau_lep", "DER_pt_tot", "DER_sum_pt", "DER_pt_ratio_lep_tau",
              "DER_met_phi_centrality", "DER_lep_eta_centrality"]


def _event_dict(df) -> dict:
    """The toy generator's event record, rebuilt from the primitive columns of a table."""
    col = lambda n: df[n].to_numpy(np.float64)  # noqa: E731
    met, met_phi = col("PRI_met"), col("PRI_met_phi")
    return {
        "jet_num": df["PRI_jet_num"].to_numpy(), "tau_pt": col("PRI_tau_pt"), "tau_eta": col("PRI_tau_eta"),
        "tau_phi": col("PRI_tau_phi"), "lep_pt": col("PRI_lep_pt"), "lep_eta": col("PRI_lep_eta"),
        "lep_phi": col("PRI_lep_phi"), "met_px": met * np.cos(met_phi), "met_py": met * np.sin(met_phi),
        "j1_pt": col("PRI_jet_leading_pt"), "j1_eta": col("PRI_jet_leading_eta"), "j1_phi": col("PRI_jet_leading_phi"),
        "j2_pt": col("PRI_jet_subleading_pt"), "j2_eta": col("PRI_jet_subleading_eta"),
        "j2_phi": col("PRI_jet_subleading_phi"), "jet_all": col("PRI_jet_all_pt"),
        "mmc": col("DER_mass_MMC"), "mass_vis": col("DER_mass_vis"),
    }


@pytest.mark.parametrize("angle, flip_y, flip_z", [(0.7, False, False), (-2.9, True, False), (3.1, True, True),
                                                   (0.0, False, True)])
def test_transformed_events_have_the_same_high_level_features(angle, flip_y, flip_z):
    df = make_higgsml_toy(n_events=400, seed=2)
    X = torch.tensor(df.loc[:, list(FEATURES)].to_numpy(np.float64))
    aug = BeamSymmetries().in_feature_space(FEATURES, None, None, -999.0)
    n = len(df)
    out = aug.apply(X, torch.full((n,), angle, dtype=torch.float64), torch.full((n,), flip_y),
                    torch.full((n,), flip_z)).numpy()
    moved = df.copy()
    moved.loc[:, list(FEATURES)] = out
    assert not np.allclose(out, X.numpy())  # the primitives did move
    before, after = _derived(_event_dict(df)), _derived(_event_dict(moved))
    for name in FRAME_FREE:
        np.testing.assert_allclose(after[name], before[name], rtol=1e-9, atol=1e-9, err_msg=name)
    missing = X.numpy() == -999.0
    assert (out[missing] == -999.0).all()  # absent jets stay absent
    phi = [FEATURES.index(f) for f in FEATURES if f.endswith("_phi")]
    assert (out[:, phi][~missing[:, phi]] >= -math.pi).all() and (out[:, phi][~missing[:, phi]] < math.pi).all()


def test_augmentation_in_standardised_cartesian_space_commutes_with_preprocessing():
    """Rotating the model's inputs equals rotating the raw event and preprocessing it."""
    ds = load_dataset("higgsml-toy", n_events=600, seed=1)
    config = PreprocessConfig(missing="keep", cartesian=True, standardise=True)
    raw = make_splits(ds, 0)
    pre = preprocess_splits(config, raw)
    angle, fy, fz = torch.tensor([1.1] * len(pre.val)), torch.tensor([True] * len(pre.val)), torch.tensor(
        [False] * len(pre.val))
    in_model_space = pre.augmentation.apply(torch.tensor(pre.val.X), angle, fy, fz).numpy()
    turned = raw.augmentation.apply(torch.tensor(raw.val.X), angle, fy, fz).numpy()
    # The same preprocessing (fitted on the same train split) applied to the turned raw events:
    turned_splits = preprocess_splits(config, raw.map_X(lambda X: turned if X is raw.val.X else X))
    np.testing.assert_allclose(in_model_space, turned_splits.val.X, rtol=1e-9, atol=1e-9)


def test_views_and_random_draws():
    aug = BeamSymmetries().in_feature_space(FEATURES, None, None, -999.0)
    views = aug.views()
    assert len(views) == 8  # 2 rotations x y-reflection x z-reflection, as LUMIN's rot_mult=2
    X = torch.tensor(make_higgsml_toy(n_events=50, seed=0).loc[:, list(FEATURES)].to_numpy(np.float64))
    assert torch.equal(views[0](X), X)  # the identity first
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert torch.equal(aug.random(X, g1), aug.random(X, g2))
    # A function of frame-free features only is unchanged by every view: TTA equals plain.
    der = [FEATURES.index(f) for f in FEATURES if f.startswith("DER_")]
    for view in views:
        assert torch.equal(view(X)[:, der], X[:, der])


def test_no_augmentation_where_the_symmetry_is_used_up_or_hidden():
    ds = load_dataset("higgsml-toy", n_events=600)
    raw = make_splits(ds, 0)
    assert preprocess_splits(PreprocessConfig(missing="keep", orientation=True), raw).augmentation is None
    assert preprocess_splits(PreprocessConfig(missing="impute"), raw).augmentation is None
    assert make_splits(load_dataset("iris"), 0).augmentation is None
