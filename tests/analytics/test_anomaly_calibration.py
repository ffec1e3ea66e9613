"""The jobs x time anomaly detector (``fill_inactive`` + mrDMD + ``score_anomalies(active=...)``)
is quiet on clean synthetic job data and still finds injected anomalies.

Measured by ``benchmarks/anomaly_calibration.py`` (60 clean runs, three sizes x 20 seeds): 55 runs
fired (275 cells) with the one-pass fill and the Gaussian bar; 6 runs (10 cells, 1.6e-4 per cell)
with the alternating-median fill and the MAD-studentised t bar.  Here: 10 further clean runs of two
sizes, none of which fires, and a step and an oscillation of 6 noise units on every injected run."""

from __future__ import annotations

import numpy as np
import pytest

from schedlab.analytics.mrdmd import MrDMD, fill_inactive, score_anomalies
from schedlab.analytics.synthetic import Anomaly, make_job_telemetry, match_detections


def _scores(s):
    return score_anomalies(MrDMD(max_levels=4).fit(fill_inactive(s.values, s.active)), active=s.active)


CLEAN = [(80, 1024, 128, seed) for seed in range(500, 505)] + [(150, 2048, 256, seed) for seed in range(500, 505)]


def test_clean_job_seeds_flag_nothing():
    flagged = {}
    for n, m, ml, seed in CLEAN:
        sc = _scores(make_job_telemetry(n, m, min_length=ml, seed=seed))
        assert np.isfinite(sc["z"]).sum() > 100  # cells were scored
        assert (sc.loc[np.isfinite(sc["z"]), "threshold"] >= 3.5).all()
        flagged[(n, seed)] = int(sc["flagged"].sum())
    assert sum(flagged.values()) == 0, flagged


@pytest.mark.parametrize("seed", [600, 601])
def test_injected_job_anomalies_are_flagged(seed):
    s = make_job_telemetry(anomalies=[Anomaly("step", magnitude=6), Anomaly("oscillation", magnitude=6)], seed=seed)
    sc = _scores(s)
    r = match_detections(sc, s.anomalies, tolerance=128)
    assert r["recall"] == 1.0, r["found_each"]
    assert set(r["false_alarm_entities"]) <= s.anomalous_entities


def test_threshold_rule_is_reported():
    sc = _scores(make_job_telemetry(80, 1024, min_length=128, seed=1))
    assert sc.attrs["alpha"] == 0.05 and "Bonferroni" in sc.attrs["threshold_rule"]
    few, many = sc["n_reference"].min(), sc["n_reference"].max()
    bar = sc.set_index("n_reference")["threshold"]
    assert bar.loc[[few]].max() >= bar.loc[[many]].max()  # fewer references, higher bar
    fixed = score_anomalies(MrDMD(max_levels=2).fit(np.random.default_rng(0).normal(size=(8, 256))), threshold=5.0)
    assert (fixed["threshold"] == 5.0).all() and fixed.attrs["alpha"] is None
