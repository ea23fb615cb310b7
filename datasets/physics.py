"""HiggsML physics feature transforms: pure functions on (X, feature_names) -> (X, names).

Missing entries (-999.0, the data's own marker for jets that are not there) stay missing.
Only PRI_* columns are touched; the DER_* features are invariant under these symmetries.
"""
from __future__ import annotations

import numpy as np

from benchmarks.core.errors import ConfigError

from .higgsml import MISSING

OBJECTS = ("tau", "lep", "jet_leading", "jet_subleading")  # objects with (pt, eta, phi)


def wrap_phi(phi: np.ndarray) -> np.ndarray:
    """Wrap angles into [-pi, pi)."""
    return (phi + np.pi) % (2 * np.pi) - np.pi


def _require(names: tuple[str, ...], needed: list[str], what: str) -> dict[str, int]:
    index = {n: i for i, n in enumerate(names)}
    absent = [n for n in needed if n not in index]
    if absent:
        raise ConfigError(
            f"{what} needs the HiggsML PRI_* features; missing {', '.join(absent)} "
            "(is this the HiggsML dataset, with its original feature names?)"
        )
    return index


def fix_orientation(
    X: np.ndarray, names: tuple[str, ...], missing: float = MISSING
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Rotate, then reflect, each event into a canonical orientation.

    The physics is symmetric under rotations about the beam and reflections in y and z, so
    a model need not learn those symmetries: every PRI_*_phi is rotated so the lepton sits
    at phi = 0, phi -> -phi for events whose tau has py < 0 (so the tau has py >= 0), and
    eta -> -eta for events whose lepton has pz < 0 (so the lepton has eta >= 0).
    """
    names = tuple(names)
    index = _require(names, ["PRI_lep_phi", "PRI_tau_phi", "PRI_lep_eta"], "fix_orientation")
    phi_cols = [index[n] for n in names if n.startswith("PRI_") and n.endswith("_phi")]
    eta_cols = [index[n] for n in names if n.startswith("PRI_") and n.endswith("_eta")]
    X = np.array(X, dtype=np.float64, copy=True)
    phi = X[:, phi_cols]
    phi_ok = phi != missing
    lep_phi = X[:, [index["PRI_lep_phi"]]]
    phi = np.where(phi_ok, wrap_phi(phi - lep_phi), missing)
    tau_phi = phi[:, phi_cols.index(index["PRI_tau_phi"])]
    flip_y = (tau_phi < 0)[:, None]
    # + 0.0 turns -0.0 into 0.0; the wrap keeps pi (from -(-pi)) at -pi
    phi = np.where(phi_ok & flip_y, wrap_phi(-phi), phi) + 0.0
    phi[:, phi_cols.index(index["PRI_lep_phi"])] = 0.0
    X[:, phi_cols] = phi

    eta = X[:, eta_cols]
    flip_z = (X[:, [index["PRI_lep_eta"]]] < 0)
    X[:, eta_cols] = np.where((eta != missing) & flip_z, -eta, eta) + 0.0
    return X, names


def to_cartesian(
    X: np.ndarray, names: tuple[str, ...], missing: float = MISSING
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Replace each (pt, eta, phi) with (px, py, pz), and MET (PRI_met, PRI_met_phi) with
    (px, py) beside its magnitude, PRI_met_pt.

    New columns take the place of the originals (PRI_tau_px, PRI_tau_py, PRI_tau_pz, ...,
    PRI_met_px, PRI_met_py, PRI_met_pt); pz = pt * sinh(eta). Objects that are absent (-999)
    are -999 in every output. Tau, lepton and MET are required; a jet is converted when its
    three columns are present. The MET magnitude stays an input because Strong (2020)'s
    notebooks keep it (``proc_event(..., keep_feats=['PRI_met_pt'])``: 31 inputs from the
    30 raw features), and it is invariant under the beam symmetries.
    """
    names = tuple(names)
    required = [f"PRI_{o}_{v}" for o in ("tau", "lep") for v in ("pt", "eta", "phi")]
    index = _require(names, required + ["PRI_met", "PRI_met_phi"], "to_cartesian")
    for jet in OBJECTS[2:]:
        cols = [f"PRI_{jet}_{v}" for v in ("pt", "eta", "phi")]
        present = [c in index for c in cols]
        if any(present) and not all(present):
            _require(names, cols, "to_cartesian")

    X = np.asarray(X, dtype=np.float64)
    replaced: dict[str, tuple[list[str], np.ndarray]] = {}  # first original column -> new block
    consumed: set[str] = set()
    for obj in OBJECTS:
        pt_n, eta_n, phi_n = (f"PRI_{obj}_{v}" for v in ("pt", "eta", "phi"))
        if pt_n not in index:
            continue
        pt, eta, phi = (X[:, index[n]] for n in (pt_n, eta_n, phi_n))
        absent = (pt == missing) | (eta == missing) | (phi == missing)
        eta = np.where(absent, 0.0, eta)  # sinh(-999) would overflow before being masked
        block = np.column_stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)])
        block[absent] = missing
        replaced[pt_n] = ([f"PRI_{obj}_px", f"PRI_{obj}_py", f"PRI_{obj}_pz"], block)
        consumed.update((pt_n, eta_n, phi_n))
    met, met_phi = X[:, index["PRI_met"]], X[:, index["PRI_met_phi"]]
    replaced["PRI_met"] = (
        ["PRI_met_px", "PRI_met_py", "PRI_met_pt"],
        np.column_stack([met * np.cos(met_phi), met * np.sin(met_phi), met]),
    )
    consumed.update(("PRI_met", "PRI_met_phi"))

    out_names: list[str] = []
    blocks: list[np.ndarray] = []
    for i, name in enumerate(names):
        if name in replaced:
            new_names, block = replaced[name]
            out_names.extend(new_names)
            blocks.append(block)
        elif name not in consumed:
            out_names.append(name)
            blocks.append(X[:, i : i + 1])
    return np.hstack(blocks), tuple(out_names)
