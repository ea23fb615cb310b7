"""Published figures a report prints next to its own (never mixed into them).

``LUMIN_LADDER``: Strong (2020), "On the impact of modern deep-learning techniques to the
performance and time-requirements of classification models in experimental high-energy
physics", Mach. Learn.: Sci. Technol. 1 045006 (arXiv:2002.01427), as published in the
paper's repository (GilesStrong/HiggsML_Lumin, ``paper_results/results/*.json``): per
experiment, the mean over its six computing setups (laptop CPUs to a GPU) of the public and
private AMS and the training time, the standard deviation of the private AMS over the
setups, and the training time relative to the ReLU baseline (experiment 0) on the same
setup, averaged. Full ATLAS data: 200k training events, public = KaggleSet b, private = v.
"""
from __future__ import annotations

from dataclasses import dataclass

LITERATURE = [
    ("HiggsML challenge winner (Melis), private leaderboard", "HiggsML", "AMS 3.80581"),
    ("SuperTML paper (Sun et al., 2019), claimed", "HiggsML", "AMS 3.979"),
    ("SuperTML paper (Sun et al., 2019)", "Iris", "accuracy 93.33%"),
    ("SuperTML paper (Sun et al., 2019)", "Wine", "accuracy 97.30%"),
    ("Strong (2019) SuperTML reproduction, public/private", "HiggsML", "AMS about 2.8-3.5"),
    ("Strong (2020) 4-layer ReLU baseline, private", "HiggsML", "AMS 3.40"),
    ("Strong (2020) final ensemble, private", "HiggsML", "AMS about 3.79"),
]


@dataclass(frozen=True)
class PaperRung:
    public: float
    private: float
    private_sd: float  # over the six computing setups
    train_s: float  # mean over the setups
    time_ratio: float  # training time / the baseline's on the same setup, mean over setups
    setups: int


LUMIN_LADDER: dict[int, PaperRung] = {
    0: PaperRung(3.425, 3.381, 0.046, 58, 1.0, 6),
    1: PaperRung(3.649, 3.637, 0.016, 670, 11.4, 6),
    4: PaperRung(3.683, 3.637, 0.016, 735, 12.7, 6),
    6: PaperRung(3.730, 3.721, 0.017, 764, 13.2, 6),
    7: PaperRung(3.772, 3.772, 0.024, 1585, 27.5, 6),
    8: PaperRung(3.787, 3.789, 0.023, 2036, 35.2, 6),
    9: PaperRung(3.789, 3.798, 0.028, 2171, 37.6, 6),
    14: PaperRung(3.783, 3.767, 0.018, 2463, 42.8, 6),
    15: PaperRung(3.779, 3.768, 0.021, 1930, 33.0, 6),
    11: PaperRung(3.797, 3.764, 0.028, 1970, 34.1, 6),
    12: PaperRung(3.789, 3.787, 0.020, 2671, 45.8, 6),
    13: PaperRung(3.788, 3.779, 0.022, 2771, 47.5, 6),
    18: PaperRung(3.786, 3.788, 0.019, 1080, 18.7, 6),
    28: PaperRung(3.799, 3.803, 0.012, 1158, 20.2, 6),
    29: PaperRung(3.576, 3.572, 0.011, 1183, 20.8, 6),
    30: PaperRung(3.634, 3.628, 0.022, 1314, 23.1, 6),
    32: PaperRung(3.797, 3.799, 0.017, 1275, 22.6, 6),
    38: PaperRung(3.449, 3.436, 0.040, 67, 1.2, 6),
    39: PaperRung(3.472, 3.456, 0.034, 59, 1.0, 6),
    40: PaperRung(3.496, 3.516, 0.023, 82, 1.4, 6),
    41: PaperRung(3.425, 3.423, 0.050, 71, 1.3, 6),
    42: PaperRung(3.692, 3.658, 0.040, 158, 2.6, 7),
}
