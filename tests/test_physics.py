"""HiggsML physics transforms: event orientation and Cartesian momenta."""
from __future__ import annotations

import numpy as np
import pytest

from benchmarks.core.errors import ConfigError
from datasets.higgsml import FEATURES
from datasets.higgsml_toy import make_higgsml_toy
from datasets.physics import fix_orientation, to_cartesian

pytestmark = pytest.mark.sklearn

M = -999.0
OBJECTS = ("tau", "lep", "jet_leading", "jet_subleading")
I = {n: i for i, n in enumerate(FEATURES)}


def wrap(phi):
    return (phi + np.pi) % (2 * np.pi) - np.pi


@pytest.fixture(scope="module")
def X() -> np.ndarray:
    return make_higgsml_toy(n_events=2000, seed=9)[list(FEATURES)].to_numpy(np.float64)


def event(**values) -> np.ndarray:
    """One event: every feature 1.0 unless given (jets absent unless given)."""
    row = np.ones(len(FEATURES))
    for prefix in ("PRI_jet_leading_", "PRI_jet_subleading_"):
        for v in ("pt", "eta", "phi"):
            row[I[prefix + v]] = M
    for name, value in values.items():
        row[I[name]] = value
    return row


# ---------------------------------------------------------------- fix_orientation


def test_orientation_invariants(X):
    Xo, names = fix_orientation(X, FEATURES)
    assert names == FEATURES and Xo.shape == X.shape
    missing = X == M
    np.testing.assert_array_equal(Xo == M, missing)
    col = lambda A, n: A[:, I[n]]  # noqa: E731

    assert (col(Xo, "PRI_lep_phi") == 0).all()
    tau_py = col(Xo, "PRI_tau_pt") * np.sin(col(Xo, "PRI_tau_phi"))
    assert (tau_py >= -1e-9).all()
    assert (col(Xo, "PRI_lep_eta") >= 0).all()

    # pt, DER_* and every non-angle column untouched
    angles = [I[n] for n in FEATURES if n.startswith("PRI_") and n.endswith(("_phi", "_eta"))]
    others = [i for i in range(len(FEATURES)) if i not in angles]
    np.testing.assert_array_equal(Xo[:, others], X[:, others])

    # angles between objects are preserved (up to the reflection's sign)
    phis = [f"PRI_{o}_phi" for o in OBJECTS] + ["PRI_met_phi"]
    for a in phis:
        for b in phis:
            ok = (col(X, a) != M) & (col(X, b) != M)
            before = np.abs(wrap(col(X, a) - col(X, b)))[ok]
            after = np.abs(wrap(col(Xo, a) - col(Xo, b)))[ok]
            np.testing.assert_allclose(after, before, atol=1e-9)
    for a in [f"PRI_{o}_eta" for o in OBJECTS]:
        ok = col(X, a) != M
        np.testing.assert_allclose(np.abs(col(Xo, a)[ok]), np.abs(col(X, a)[ok]))
    for a, b in (("PRI_tau_eta", "PRI_lep_eta"), ("PRI_jet_leading_eta", "PRI_lep_eta")):
        ok = col(X, a) != M
        np.testing.assert_allclose(
            np.abs(col(Xo, a) - col(Xo, b))[ok], np.abs(col(X, a) - col(X, b))[ok], atol=1e-12
        )
    assert (np.abs(Xo[:, [I[p] for p in phis]][~missing[:, [I[p] for p in phis]]]) <= np.pi).all()


def test_orientation_hand_made_event():
    row = event(PRI_lep_phi=1.0, PRI_lep_eta=-0.5, PRI_tau_phi=0.5, PRI_tau_eta=1.2,
                PRI_met_phi=3.0, PRI_jet_leading_pt=40.0, PRI_jet_leading_eta=-2.0,
                PRI_jet_leading_phi=-3.0)
    Xo, _ = fix_orientation(row[None, :], FEATURES)
    got = {n: Xo[0, I[n]] for n in FEATURES}
    # rotate by -1: tau -0.5 (py < 0) -> reflect: tau 0.5, met -(2.0) = -2.0, jet -(-4 + 2pi)
    assert got["PRI_lep_phi"] == 0.0
    assert got["PRI_tau_phi"] == pytest.approx(0.5)
    assert got["PRI_met_phi"] == pytest.approx(-2.0)
    assert got["PRI_jet_leading_phi"] == pytest.approx(-wrap(-4.0))
    # lepton eta < 0: every eta flips
    assert got["PRI_lep_eta"] == pytest.approx(0.5)
    assert got["PRI_tau_eta"] == pytest.approx(-1.2)
    assert got["PRI_jet_leading_eta"] == pytest.approx(2.0)
    assert got["PRI_jet_subleading_eta"] == M and got["PRI_jet_subleading_phi"] == M


def test_orientation_does_not_modify_input(X):
    before = X.copy()
    fix_orientation(X, FEATURES)
    np.testing.assert_array_equal(X, before)


# ---------------------------------------------------------------- to_cartesian


def test_cartesian_hand_made_values():
    row = event(PRI_tau_pt=10.0, PRI_tau_eta=0.0, PRI_tau_phi=0.0,
                PRI_lep_pt=2.0, PRI_lep_eta=np.arcsinh(1.5), PRI_lep_phi=np.pi / 2,
                PRI_met=5.0, PRI_met_phi=np.pi,
                PRI_jet_leading_pt=30.0, PRI_jet_leading_eta=0.0, PRI_jet_leading_phi=-np.pi / 2)
    Xc, names = to_cartesian(row[None, :], FEATURES)
    got = dict(zip(names, Xc[0]))
    def p(obj, axes="xyz"):
        return [got[f"PRI_{obj}_p{c}"] for c in axes]

    np.testing.assert_allclose(p("tau"), [10, 0, 0], atol=1e-12)
    np.testing.assert_allclose(p("lep"), [0, 2, 3], atol=1e-12)
    np.testing.assert_allclose(p("met", "xy"), [-5, 0], atol=1e-12)
    np.testing.assert_allclose(p("jet_leading"), [0, -30, 0], atol=1e-12)
    assert p("jet_subleading") == [M, M, M]
    assert got["PRI_met_sumet"] == 1.0 and got["DER_mass_vis"] == 1.0


def test_cartesian_names_and_round_trip(X):
    Xc, names = to_cartesian(X, FEATURES)
    assert len(names) == len(set(names)) == Xc.shape[1] == 31
    at = names.index("PRI_tau_px")
    assert names[at:at + 3] == ("PRI_tau_px", "PRI_tau_py", "PRI_tau_pz")
    assert at == FEATURES.index("PRI_tau_pt")  # the new block takes the originals' place
    assert "PRI_met_px" in names and "PRI_met_pt" in names and "PRI_met" not in names and "PRI_tau_eta" not in names
    assert names.index("PRI_jet_all_pt") == len(names) - 1  # untouched columns keep their place
    for name in ("DER_mass_MMC", "PRI_jet_num", "PRI_met_sumet", "PRI_jet_all_pt"):
        np.testing.assert_array_equal(Xc[:, names.index(name)], X[:, I[name]])

    for obj in OBJECTS:
        px, py, pz = (Xc[:, names.index(f"PRI_{obj}_p{c}")] for c in "xyz")
        pt, eta, phi = (X[:, I[f"PRI_{obj}_{v}"]] for v in ("pt", "eta", "phi"))
        absent = pt == M
        for out in (px, py, pz):
            np.testing.assert_array_equal(out == M, absent)
        ok = ~absent
        np.testing.assert_allclose(np.hypot(px, py)[ok], pt[ok], rtol=1e-12)
        np.testing.assert_allclose(np.arcsinh(pz[ok] / pt[ok]), eta[ok], atol=1e-9)
        np.testing.assert_allclose(np.cos(np.arctan2(py, px)[ok] - phi[ok]), 1.0, atol=1e-9)
    mx, my = Xc[:, names.index("PRI_met_px")], Xc[:, names.index("PRI_met_py")]
    np.testing.assert_allclose(np.hypot(mx, my), X[:, I["PRI_met"]], rtol=1e-12)
    np.testing.assert_array_equal(Xc[:, names.index("PRI_met_pt")], X[:, I["PRI_met"]])


def test_transforms_compose(X):
    Xo, names = fix_orientation(X, FEATURES)
    Xc, cnames = to_cartesian(Xo, names)
    assert np.allclose(Xc[:, cnames.index("PRI_lep_py")], 0.0)
    assert (Xc[:, cnames.index("PRI_tau_py")] >= -1e-9).all()
    assert (Xc[:, cnames.index("PRI_lep_pz")] >= 0).all()


# The 31 inputs notebook 0 of GilesStrong/HiggsML_Lumin prints after its data_import
# (proc_event(use_cartesian=True, keep_feats=['PRI_met_pt'])), and the 30 of notebook 3,
# whose orientation fix leaves PRI_lep_py identically 0.
NOTEBOOK_0_INPUTS = {
    "DER_mass_MMC", "DER_mass_transverse_met_lep", "DER_mass_vis", "DER_pt_h", "DER_deltaeta_jet_jet",
    "DER_mass_jet_jet", "DER_prodeta_jet_jet", "DER_deltar_tau_lep", "DER_pt_tot", "DER_sum_pt",
    "DER_pt_ratio_lep_tau", "DER_met_phi_centrality", "DER_lep_eta_centrality", "PRI_met_sumet", "PRI_jet_num",
    "PRI_jet_all_pt", "PRI_jet_leading_px", "PRI_jet_leading_py", "PRI_jet_leading_pz", "PRI_lep_px", "PRI_lep_py",
    "PRI_lep_pz", "PRI_tau_px", "PRI_tau_py", "PRI_tau_pz", "PRI_jet_subleading_px", "PRI_jet_subleading_py",
    "PRI_jet_subleading_pz", "PRI_met_px", "PRI_met_py", "PRI_met_pt"}


def test_cartesian_inputs_are_the_notebooks():
    from datasets import load_dataset, make_splits
    from datasets.preprocess import PreprocessConfig, preprocess_splits

    raw = make_splits(load_dataset("higgsml-toy", n_events=600, seed=2), 0)
    plain = preprocess_splits(PreprocessConfig(missing="keep", cartesian=True, standardise=True), raw)
    assert len(plain.feature_names) == 31 and set(plain.feature_names) == NOTEBOOK_0_INPUTS
    fixed = preprocess_splits(PreprocessConfig(missing="keep", orientation=True, cartesian=True, standardise=True), raw)
    assert set(fixed.feature_names) == NOTEBOOK_0_INPUTS - {"PRI_lep_py"} and len(fixed.feature_names) == 30


# ---------------------------------------------------------------- not HiggsML


def test_non_higgsml_features_raise_config_error():
    names = ("sepal_length", "sepal_width", "petal_length", "petal_width")
    X = np.ones((3, 4))
    for fn in (fix_orientation, to_cartesian):
        with pytest.raises(ConfigError, match="HiggsML PRI_"):
            fn(X, names)


def test_partial_jet_columns_raise(X):
    keep = [i for i, n in enumerate(FEATURES) if n != "PRI_jet_leading_eta"]
    names = tuple(FEATURES[i] for i in keep)
    with pytest.raises(ConfigError, match="PRI_jet_leading_eta"):
        to_cartesian(X[:, keep], names)
    # without any jet columns the jets are simply not converted
    nojets = [i for i, n in enumerate(FEATURES) if "jet_leading" not in n and "jet_subleading" not in n]
    Xc, cn = to_cartesian(X[:, nojets], tuple(FEATURES[i] for i in nojets))
    assert "PRI_tau_pz" in cn and not any("jet_leading" in n for n in cn)
