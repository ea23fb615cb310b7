"""Synthetic events with the exact schema of the CERN HiggsML file, for tests and offline demos.

A crude but self-consistent event model: a resonance (H at 125 GeV as signal; Z->tautau and
a "fake" W/ttbar-like continuum as background) recoils against the jets, decays to two
taus, one leptonic and one hadronic, whose visible fractions are collinear with them; the
neutrinos make up the missing momentum. Primitive (PRI_*) features come from that, and
derived (DER_*) features are computed from the primitives with the challenge's
definitions, so -999.0 appears exactly where the real data has it; DER_mass_MMC is a
collinear-mass estimate from the observed momenta, so it hides nothing the primitives do
not show. The classes overlap (a Drell-Yan continuum and W fakes under the Higgs mass
peak, a coarse MET), so a gradient-boosted tree reaches AUC about 0.9, much as on the real
sample. Physics it is not; it only has to exercise the pipeline the way the real file does.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.core import limits
from benchmarks.core.errors import ConfigError

from .base import Dataset
from .higgsml import (
    BACKGROUND_TOTAL, COLUMNS, FEATURES, KAGGLE_SETS, MISSING, SIGNAL_TOTAL, higgsml_dataset,
)
from .physics import wrap_phi
from .registry import register_dataset

# Events per KaggleSet in the real file (t, b, v, u), out of 818,238.
KAGGLE_SET_COUNTS = (250_000, 100_000, 450_000, 18_238)
FIRST_EVENT_ID = 100_000
MAX_TOY_EVENTS = 10_000_000  # ~12x the real file; a few GB while generating

H, Z, FAKE = 0, 1, 2
# Per process: P(jet_num = 0, 1, 2, >=3), tuned near the real sample's per-class rates.
_JET_PROBS = np.array([[0.30, 0.32, 0.30, 0.08], [0.56, 0.28, 0.10, 0.06], [0.36, 0.32, 0.20, 0.12]])
_LEAD_PT_SCALE = np.array([55.0, 35.0, 45.0])
_RAPIDITY_SIGMA = np.array([1.0, 1.2, 1.3])
_PEAK_MASS = np.array([125.0, 91.2, 80.4])
_PEAK_WIDTH = np.array([1.0, 2.5, 2.0])  # Gaussian stand-ins for the line shapes
_SIGNAL_WEIGHTS = np.array([0.000461025356734, 0.00081448039868, 0.00572068250088])
_BACKGROUND_WEIGHT_MEDIAN = np.array([1.35, 0.6, 0.25, 0.12])  # by jet_num
_EMBEDDED_WEIGHTS = np.array([0.0195327618805, 0.0217574936722, 0.0225325724501, 0.0254337596084])

_MET_RESOLUTION = 16.0  # GeV per component; hides the collinear mass a finer MET would give
_DY_CONTINUUM = 0.3
_W_VIA_TAU = 0.5
_MMC_RIDGE = 1600.0  # GeV^2
_MMC_FAIL = 0.3
_MMC_SCALE = 1.35  # calibrates the signal peak to 125 GeV, as the real MMC is
_X_LEP_BETA = (1.6, 2.4)
_ACCEPTANCE_GUESS = (0.25, 0.1, 0.45)  # H, Z, fake; refined as batches come in
_PT_TAU_MIN, _PT_LEP_MIN, _ETA_LEPTON_MAX, _ETA_JET_MAX = 20.0, 26.0, 2.5, 4.5


def _pt_eta_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pt, eta, phi) of 3-momenta stored as rows px, py, pz."""
    pt = np.hypot(p[0], p[1])
    return pt, np.arcsinh(p[2] / pt), np.arctan2(p[1], p[0])


def _mass(pt1, eta1, phi1, pt2, eta2, phi2) -> np.ndarray:
    """Invariant mass of two massless objects."""
    m2 = 2 * pt1 * pt2 * (np.cosh(eta1 - eta2) - np.cos(phi1 - phi2))
    return np.sqrt(np.maximum(m2, 0.0))


def _jet_eta(rng: np.random.Generator, m: int, sigma: float) -> np.ndarray:
    eta = rng.normal(0.0, sigma, m)
    # redraw outside the calorimeter instead of clipping, which would pile events at the edge
    out = np.abs(eta) >= _ETA_JET_MAX
    eta[out] = rng.uniform(-_ETA_JET_MAX + 0.01, _ETA_JET_MAX - 0.01, out.sum())
    return eta


def _jets(rng: np.random.Generator, proc: np.ndarray) -> dict[str, np.ndarray]:
    """Jet multiplicity and jets: pt above the 30 GeV threshold, leading >= subleading;
    jet_num "3" means three or more."""
    m = len(proc)
    cum = np.cumsum(_JET_PROBS, axis=1)[proc]
    jet_num = (rng.random(m)[:, None] > cum[:, :3]).sum(axis=1)
    a = 30.0 + rng.exponential(_LEAD_PT_SCALE[proc])
    b = 30.0 + rng.exponential(22.0, m)
    j1_pt, j2_pt = np.maximum(a, b), np.minimum(a, b)
    j3_pt = (30.0 + rng.exponential(15.0, m)) * np.where(rng.random(m) < 0.3, 2.0, 1.0)
    jet_all = j1_pt * (jet_num >= 1) + j2_pt * (jet_num >= 2) + j3_pt * (jet_num >= 3)
    j1_phi, j2_phi, j3_phi, fake_phi = rng.uniform(-np.pi, np.pi, (4, m))
    return dict(jet_num=jet_num, j1_pt=j1_pt, j2_pt=j2_pt, j3_pt=j3_pt, jet_all=jet_all,
                j1_phi=j1_phi, j2_phi=j2_phi, j3_phi=j3_phi, fake_phi=fake_phi)


def _boost(rng: np.random.Generator, proc: np.ndarray, jets: dict[str, np.ndarray], fake_pt: np.ndarray):
    """The resonance: recoil against the jets (and a fake tau) plus soft radiation, its
    mass, and the boost of its isotropic two-body decay. Returns (beta, p_star, k_common,
    k_extra): the lab momenta of the two taus are ``+-p_star + beta * (k_common +- k_extra)``."""
    m = len(proc)
    rx, ry = rng.normal(0.0, 10.0, (2, m))
    jet_num = jets["jet_num"]
    for pt, phi, present in ((jets["j1_pt"], jets["j1_phi"], jet_num >= 1), (jets["j2_pt"], jets["j2_phi"], jet_num >= 2),
                             (jets["j3_pt"], jets["j3_phi"], jet_num >= 3), (fake_pt, jets["fake_phi"], proc == FAKE)):
        idx = np.flatnonzero(present)
        rx[idx] -= pt[idx] * np.cos(phi[idx])
        ry[idx] -= pt[idx] * np.sin(phi[idx])
    # H at 125; Z peak plus a Drell-Yan continuum reaching under the Higgs peak; W at 80.4.
    peak = _PEAK_MASS[proc] + rng.normal(0.0, 1.0, m) * _PEAK_WIDTH[proc]
    dy = 50.0 + rng.exponential(45.0, m)
    mass = np.where((proc == Z) & (rng.random(m) < _DY_CONTINUUM), dy, peak)
    mt = np.sqrt(mass**2 + rx**2 + ry**2)
    rap = rng.normal(0.0, _RAPIDITY_SIGMA[proc])
    energy = mt * np.cosh(rap)
    beta = np.stack([rx, ry, mt * np.sinh(rap)]) / energy
    gamma = energy / mass
    # Isotropic two-body decay in the rest frame, boosted to the lab: p + beta*k.
    cos_t = rng.uniform(-1.0, 1.0, m)
    sin_t = np.sqrt(1.0 - cos_t**2)
    phi_s = rng.uniform(-np.pi, np.pi, m)
    p_star = (mass / 2) * np.stack([sin_t * np.cos(phi_s), sin_t * np.sin(phi_s), cos_t])
    return beta, p_star, gamma * mass / 2, gamma**2 / (gamma + 1) * (beta * p_star).sum(axis=0)


def _hadronic_side(rng: np.random.Generator, n: int, fake: np.ndarray, tau_had: np.ndarray,
                   fake_pt: np.ndarray, fake_phi: np.ndarray) -> tuple[np.ndarray, ...]:
    """(x_had, tau pt, eta, phi): the visible hadronic tau, or for fakes a jet faking one."""
    x_had = np.where(fake, 0.0, rng.beta(2.5, 2.0, n))
    with np.errstate(invalid="ignore", divide="ignore"):  # fakes' x_had = 0; replaced below
        tau_pt, tau_eta, tau_phi = _pt_eta_phi(tau_had * (x_had * rng.normal(1.0, 0.06, n)))
    tau_pt = np.where(fake, fake_pt, tau_pt)
    tau_eta = np.where(fake, rng.normal(0.0, 1.2, n), tau_eta)
    tau_phi = np.where(fake, fake_phi, tau_phi)
    return x_had, tau_pt, tau_eta, tau_phi


def _decay(rng: np.random.Generator, proc: np.ndarray) -> dict[str, np.ndarray]:
    """Stage one, for a batch of candidates: what decides acceptance (jets, boost, decay).

    Returns only the candidates whose lepton passes its cuts (most of the work is on the
    lepton side, so the hadronic side is only built for those), with ``accepted`` marking
    the ones whose tau passes too.
    """
    m = len(proc)
    jets = _jets(rng, proc)
    # Fakes (W+jets-like): the "hadronic tau" is a jet, the lepton and neutrino come from a W.
    fake = proc == FAKE
    fake_pt = 20.0 + rng.exponential(18.0, m)
    beta, p_star, k_common, k_extra = _boost(rng, proc, jets, fake_pt)
    tau_lep = p_star + beta * (k_common + k_extra)

    # Visible fractions: three-body leptonic decays keep less than hadronic ones. A W's
    # lepton is all visible and its neutrino all invisible, except that W -> tau nu ->
    # l nu nu nu leptons keep only part of the tau. Visible energies are smeared.
    x_lep = rng.beta(*_X_LEP_BETA, m)
    x_lep = np.where(fake & (rng.random(m) >= _W_VIA_TAU), 1.0, x_lep)
    lep = tau_lep * (x_lep * rng.normal(1.0, 0.02, m))
    lep_pt, lep_eta, lep_phi = _pt_eta_phi(lep)
    keep = np.flatnonzero((lep_pt > _PT_LEP_MIN) & (np.abs(lep_eta) < _ETA_LEPTON_MAX))

    # Hadronic side, for the candidates whose lepton passed.
    fake, beta, tau_lep, x_lep = fake[keep], beta[:, keep], tau_lep[:, keep], x_lep[keep]
    tau_had = -p_star[:, keep] + beta * (k_common - k_extra)[keep]
    x_had, tau_pt, tau_eta, tau_phi = _hadronic_side(rng, len(keep), fake, tau_had, fake_pt[keep],
                                                     jets["fake_phi"][keep])
    nu = (tau_lep * (1 - x_lep) + tau_had * (1 - x_had))[:2]
    accepted = (tau_pt > _PT_TAU_MIN) & (np.abs(tau_eta) < _ETA_LEPTON_MAX)
    kept = {k: jets[k][keep] for k in ("jet_num", "j1_pt", "j1_phi", "j2_pt", "j2_phi", "jet_all")}
    return dict(
        accepted=accepted, proc=proc[keep], tau_pt=tau_pt, tau_eta=tau_eta, tau_phi=tau_phi,
        lep_pt=lep_pt[keep], lep_eta=lep_eta[keep], lep_phi=lep_phi[keep], nu_px=nu[0], nu_py=nu[1], **kept,
    )


def _complete(rng: np.random.Generator, ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Stage two, for accepted events only: jet etas, MET, sum E_T, visible and MMC masses."""
    m, proc, jet_num = len(ev["proc"]), ev["proc"], ev["jet_num"]
    j1_eta, j2_eta = _jet_eta(rng, m, 1.7), _jet_eta(rng, m, 1.8)
    # VBF-like signal: forward jets in opposite hemispheres (large deta, negative prodeta)
    vbf = (proc == H) & (jet_num >= 2) & (rng.random(m) < 0.5)
    side = np.where(rng.random(m) < 0.5, 1.0, -1.0)
    j1_eta = np.where(vbf, side * np.clip(rng.normal(2.2, 0.8, m), 0.1, 4.4), j1_eta)
    j2_eta = np.where(vbf, -side * np.clip(rng.normal(2.2, 0.8, m), 0.1, 4.4), j2_eta)

    met = np.stack([ev["nu_px"], ev["nu_py"]]) + rng.normal(0.0, _MET_RESOLUTION, (2, m))
    sumet = ev["tau_pt"] + ev["lep_pt"] + ev["jet_all"] + rng.gamma(2.5, 25.0, m)
    mass_vis = _mass(ev["tau_pt"], ev["tau_eta"], ev["tau_phi"], ev["lep_pt"], ev["lep_eta"], ev["lep_phi"])
    lep = np.stack([ev["lep_pt"] * np.cos(ev["lep_phi"]), ev["lep_pt"] * np.sin(ev["lep_phi"])])
    had = np.stack([ev["tau_pt"] * np.cos(ev["tau_phi"]), ev["tau_pt"] * np.sin(ev["tau_phi"])])
    return dict(
        ev, j1_eta=j1_eta, j2_eta=j2_eta, met_px=met[0], met_py=met[1], sumet=sumet,
        mass_vis=mass_vis, mmc=_mmc(lep, had, met, mass_vis, rng),
    )


def _mmc(lep: np.ndarray, had: np.ndarray, met: np.ndarray, mass_vis: np.ndarray,
         rng: np.random.Generator) -> np.ndarray:
    """A stand-in for the MMC mass: a regularised collinear-approximation mass.

    It is a function of the observed momenta only (plus a little noise), as the real MMC
    is, so it carries no hidden knowledge of the true resonance mass. MET (2, n) is split
    into non-negative multiples of the lepton and tau transverse momenta (ridge-regularised
    so back-to-back pairs stay stable); where MET points well outside the pair the estimate
    fails and is -999, as the real MMC does for many fake-tau events.
    """
    ll, tt, lt = (lep * lep).sum(0) + _MMC_RIDGE, (had * had).sum(0) + _MMC_RIDGE, (lep * had).sum(0)
    lm, tm = (lep * met).sum(0), (had * met).sum(0)
    det = ll * tt - lt**2
    a = (tt * lm - lt * tm) / det
    b = (ll * tm - lt * lm) / det
    failed = (a < -_MMC_FAIL) | (b < -_MMC_FAIL)
    a, b = np.maximum(a, 0.0), np.maximum(b, 0.0)
    mmc = _MMC_SCALE * mass_vis * np.sqrt((1 + a) * (1 + b)) * rng.normal(1.0, 0.05, len(a))
    return np.where(failed, MISSING, mmc)


def _accepted_events(rng: np.random.Generator, counts: np.ndarray) -> dict[str, np.ndarray]:
    """Rejection-sample until each process has its count of accepted events."""
    got: list[dict[str, np.ndarray]] = []
    have = np.zeros(len(counts), dtype=np.int64)
    drawn = np.zeros(len(counts), dtype=np.int64)
    passed_total = np.zeros(len(counts), dtype=np.int64)
    efficiency = np.array(_ACCEPTANCE_GUESS)
    while (short := counts - have).any():
        # draw a little more than the acceptance so far says is needed, in one batch
        n_draw = np.where(short > 0, np.ceil(short / efficiency * 1.1).astype(np.int64) + 32, 0)
        proc = np.repeat(np.arange(len(counts)), n_draw)
        ev = _decay(rng, proc)
        keep = np.zeros(len(ev["proc"]), dtype=bool)
        for k in np.flatnonzero(short):
            passed = np.flatnonzero(ev["accepted"] & (ev["proc"] == k))
            keep[passed[: short[k]]] = True
            have[k] += min(len(passed), short[k])
            drawn[k] += n_draw[k]
            passed_total[k] += len(passed)
            efficiency[k] = max(0.01, passed_total[k] / drawn[k])
        got.append({key: val[keep] for key, val in ev.items() if key != "accepted"})
    ev = {key: np.concatenate([g[key] for g in got]) for key in got[0]}
    return _complete(rng, ev)


def _derived(ev: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The DER_* features from the primitives, with the challenge's definitions."""
    jn = ev["jet_num"]
    tau = (ev["tau_pt"], ev["tau_eta"], ev["tau_phi"])
    lep = (ev["lep_pt"], ev["lep_eta"], ev["lep_phi"])
    met_px, met_py = ev["met_px"], ev["met_py"]
    met, met_phi = np.hypot(met_px, met_py), np.arctan2(met_py, met_px)

    def px(pt, phi):
        return pt * np.cos(phi)

    def py(pt, phi):
        return pt * np.sin(phi)

    hx = px(tau[0], tau[2]) + px(lep[0], lep[2]) + met_px
    hy = py(tau[0], tau[2]) + py(lep[0], lep[2]) + met_py
    has1, has2 = jn >= 1, jn >= 2
    # pt_tot counts the leading and subleading jets only, not any further ones
    j1 = (ev["j1_pt"] * has1, ev["j1_phi"])
    j2 = (ev["j2_pt"] * has2, ev["j2_phi"])
    tx = hx + px(*j1) + px(*j2)
    ty = hy + py(*j1) + py(*j2)

    deta_jj = np.abs(ev["j1_eta"] - ev["j2_eta"])
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = (ev["j1_eta"] + ev["j2_eta"]) / 2
        lep_cent = np.where(deta_jj > 0, np.exp(-4.0 / deta_jj**2 * (lep[1] - centre) ** 2), 0.0)
        sign = np.sign(np.sin(tau[2] - lep[2]))
        A = np.sin(met_phi - lep[2]) * sign
        B = np.sin(tau[2] - met_phi) * sign
        norm = np.sqrt(A**2 + B**2)
        met_cent = np.where(norm > 0, (A + B) / norm, 0.0)
    dphi_tl = wrap_phi(tau[2] - lep[2])
    only2 = lambda v: np.where(has2, v, MISSING)  # noqa: E731
    return {
        "DER_mass_MMC": ev["mmc"],
        "DER_mass_transverse_met_lep": np.sqrt(
            np.maximum(2 * lep[0] * met * (1 - np.cos(met_phi - lep[2])), 0.0)
        ),
        "DER_mass_vis": ev["mass_vis"],
        "DER_pt_h": np.hypot(hx, hy),
        "DER_deltaeta_jet_jet": only2(deta_jj),
        "DER_mass_jet_jet": only2(_mass(
            ev["j1_pt"], ev["j1_eta"], ev["j1_phi"], ev["j2_pt"], ev["j2_eta"], ev["j2_phi"]
        )),
        "DER_prodeta_jet_jet": only2(ev["j1_eta"] * ev["j2_eta"]),
        "DER_deltar_tau_lep": np.hypot(tau[1] - lep[1], dphi_tl),
        "DER_pt_tot": np.hypot(tx, ty),
        "DER_sum_pt": tau[0] + lep[0] + ev["jet_all"],
        "DER_pt_ratio_lep_tau": lep[0] / tau[0],
        "DER_met_phi_centrality": met_cent,
        "DER_lep_eta_centrality": only2(lep_cent),
        "PRI_met": met,
        "PRI_met_phi": met_phi,
    }


def _split_counts(n: int, shares) -> np.ndarray:
    """Largest-remainder apportionment of n events to the given shares."""
    exact = n * np.asarray(shares, dtype=np.float64) / np.sum(shares)
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(counts - exact)[: n - counts.sum()]] += 1
    return counts


def _weights(rng: np.random.Generator, proc: np.ndarray, jet_num: np.ndarray) -> np.ndarray:
    m = len(proc)
    signal = rng.choice(_SIGNAL_WEIGHTS, size=m, p=[0.52, 0.10, 0.38])
    embedded = rng.choice(_EMBEDDED_WEIGHTS, size=m)
    continuum = np.clip(_BACKGROUND_WEIGHT_MEDIAN[jet_num] * np.exp(rng.normal(0.0, 0.35, m)), 0.01, 2.4)
    w = np.where(proc == H, signal, np.where((proc == Z) & (rng.random(m) < 0.4), embedded, continuum))
    return w


def _kaggle_sets(rng: np.random.Generator, n_events: int, is_sig: np.ndarray, weight: np.ndarray,
                 with_test_sets: bool) -> tuple[np.ndarray, np.ndarray]:
    """KaggleSet letters (apportioned as in the real file, or all 't') and KaggleWeight: the
    weights rescaled per set and class to the full-data totals, as in the real file."""
    if with_test_sets:
        sets = np.repeat(np.array(KAGGLE_SETS), _split_counts(n_events, KAGGLE_SET_COUNTS))
        sets = sets[rng.permutation(n_events)]
    else:
        sets = np.full(n_events, "t")
    kaggle_weight = weight.copy()
    for letter in KAGGLE_SETS:
        for mask, total in ((is_sig, SIGNAL_TOTAL), (~is_sig, BACKGROUND_TOTAL)):
            sel = mask & (sets == letter)
            if sel.any():
                kaggle_weight[sel] *= total / weight[sel].sum()
    return sets, kaggle_weight


def make_higgsml_toy(
    n_events: int = 5000,
    seed: int = 0,
    with_test_sets: bool = True,
    signal_fraction: float = 0.34,
) -> pd.DataFrame:
    """Synthetic events with the CERN file's 35 columns, dtypes and value conventions.

    Deterministic for a seed. With `with_test_sets`, KaggleSet letters t/b/v/u are
    apportioned as in the real file (else all 't'); KaggleWeight is Weight rescaled per
    set and class to the full-data totals, as in the real file.
    """
    n_events = limits.integer(n_events, "higgsml-toy: n_events", 1, MAX_TOY_EVENTS)
    seed = limits.integer(seed, "higgsml-toy: seed", 0, limits.MAX_SEED)
    if not 0.0 < signal_fraction < 1.0:
        raise ConfigError(f"higgsml-toy: signal_fraction must be in (0, 1), got {signal_fraction}")
    rng = np.random.default_rng(seed)
    n_sig = int(round(n_events * signal_fraction))
    n_bkg = n_events - n_sig
    n_z = int(round(n_bkg * 0.45))
    ev = _accepted_events(rng, np.array([n_sig, n_z, n_bkg - n_z]))
    order = rng.permutation(n_events)
    ev = {k: v[order] for k, v in ev.items()}

    jn = ev["jet_num"]
    has1, has2 = jn >= 1, jn >= 2
    cols: dict[str, np.ndarray] = {
        "PRI_tau_pt": ev["tau_pt"], "PRI_tau_eta": ev["tau_eta"], "PRI_tau_phi": ev["tau_phi"],
        "PRI_lep_pt": ev["lep_pt"], "PRI_lep_eta": ev["lep_eta"], "PRI_lep_phi": ev["lep_phi"],
        "PRI_met_sumet": ev["sumet"],
        "PRI_jet_leading_pt": np.where(has1, ev["j1_pt"], MISSING),
        "PRI_jet_leading_eta": np.where(has1, ev["j1_eta"], MISSING),
        "PRI_jet_leading_phi": np.where(has1, ev["j1_phi"], MISSING),
        "PRI_jet_subleading_pt": np.where(has2, ev["j2_pt"], MISSING),
        "PRI_jet_subleading_eta": np.where(has2, ev["j2_eta"], MISSING),
        "PRI_jet_subleading_phi": np.where(has2, ev["j2_phi"], MISSING),
        # the real file writes -0.0 for events without jets
        "PRI_jet_all_pt": np.where(has1, ev["jet_all"], -0.0),
        **_derived(ev),
    }
    # three decimals, as in the file
    df = pd.DataFrame({name: np.round(cols[name], 3) for name in FEATURES if name != "PRI_jet_num"})
    df.insert(FEATURES.index("PRI_jet_num"), "PRI_jet_num", jn.astype(np.int64))
    df.insert(0, "EventId", FIRST_EVENT_ID + np.arange(n_events, dtype=np.int64))

    is_sig = ev["proc"] == H
    weight = _weights(rng, ev["proc"], jn)
    sets, kaggle_weight = _kaggle_sets(rng, n_events, is_sig, weight, with_test_sets)
    df["Weight"] = weight
    df["Label"] = np.where(is_sig, "s", "b")
    df["KaggleSet"] = sets
    df["KaggleWeight"] = kaggle_weight
    return df.loc[:, list(COLUMNS)]


def write_higgsml_toy(path: str | os.PathLike, **kw) -> Path:
    """Write toy events as a CSV in the CERN file's format (gzipped if `path` ends in .gz)."""
    return write_csv(make_higgsml_toy(**kw), path)


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Events made by ``make_higgsml_toy`` as a CSV in the CERN file's format (gzipped if `path` ends in .gz)."""
    path = Path(path)
    out = df.astype({"Weight": object, "KaggleWeight": object})
    # the file prints weights with 12 significant digits and features as shortest repr
    for col in ("Weight", "KaggleWeight"):
        out[col] = [f"{v:.12g}" for v in df[col].to_numpy()]
    out.to_csv(path, index=False, compression="infer", lineterminator="\n")
    return path


@register_dataset("higgsml-toy")
def higgsml_toy(n_events: int = 5000, seed: int = 0, with_test_sets: bool = True) -> Dataset:
    """Synthetic events with the HiggsML schema (offline stand-in for tests and demos)."""
    df = make_higgsml_toy(n_events=n_events, seed=seed, with_test_sets=with_test_sets)
    return higgsml_dataset(
        df, "higgsml-toy",
        source=f"synthetic HiggsML-schema generator (seed={seed}, n_events={n_events})",
        synthetic=True,
    )
