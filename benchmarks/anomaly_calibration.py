"""False alarms on clean synthetic job data and detection rate vs injected magnitude of the jobs x time
anomaly detector (``fill_inactive`` + ``MrDMD(max_levels=4)`` + ``score_anomalies(active=...)``).

    python benchmarks/anomaly_calibration.py [--quick]   # writes results/anomaly_calibration.json

Clean runs: :func:`schedlab.analytics.synthetic.make_job_telemetry` with no anomalies, 20 seeds at
each of three sizes (80 jobs x 1,024 samples, 150 x 2,048, 300 x 4,096).  Each run is scored four
ways: the fill before (one median pass, ``iterations=1``) or after (alternating medians, the
default) and the threshold before (Gaussian Bonferroni, ``max(3.5, Phi^-1(1 - alpha / 2N))``) or
after (the default :data:`schedlab.analytics.mrdmd.scoring.THRESHOLD_RULE`), alpha = 0.05.  A run
"fires" when any cell is flagged; the target is a family-wise rate <= alpha.

Detection: 150 x 2,048 runs with one drift, one step and one oscillation (on distinct long jobs,
from a third into the run) at a common magnitude in noise units; an anomaly is found when a
flagged cell of its job overlaps it (tolerance 128 samples).  Seeds differ from the clean ones.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from scipy.stats import norm

from schedlab.analytics.mrdmd import MrDMD, fill_inactive, score_anomalies
from schedlab.analytics.mrdmd.scoring import THRESHOLD_RULE
from schedlab.analytics.synthetic import Anomaly, make_job_telemetry, match_detections

ALPHA = 0.05
SIZES = [(80, 1024, 128), (150, 2048, 256), (300, 4096, 512)]
KINDS = ("drift", "step", "oscillation")


def _scores(s, iterations: int):
    model = MrDMD(max_levels=4).fit(fill_inactive(s.values, s.active, iterations=iterations))
    return score_anomalies(model, active=s.active, alpha=ALPHA)


def _gaussian(sc):
    z = np.abs(sc["z"].to_numpy())
    n = max(1, int(np.isfinite(z).sum()))
    return z > max(3.5, float(norm.isf(ALPHA / (2 * n))))


def clean_run(args) -> dict:
    (n, m, ml), seed = args
    s = make_job_telemetry(n, m, min_length=ml, seed=seed)
    out = {"jobs": n, "samples": m, "seed": seed}
    for fill, it in (("one_pass", 1), ("alternating", 3)):
        sc = _scores(s, it)
        out[f"cells_{fill}"] = int(np.isfinite(sc["z"]).sum())
        out[f"flagged_{fill}_gaussian"] = int(_gaussian(sc).sum())
        out[f"flagged_{fill}_calibrated"] = int(sc["flagged"].sum())
    return out


def detect_run(args) -> dict:
    mag, seed = args
    s = make_job_telemetry(anomalies=[Anomaly(k, magnitude=mag) for k in KINDS], seed=seed)
    sc = _scores(s, 3)
    out = {"magnitude": mag, "seed": seed}
    for rule, flags in (("gaussian", _gaussian(sc)), ("calibrated", sc["flagged"].to_numpy())):
        r = match_detections(sc.assign(flagged=flags), s.anomalies, tolerance=128)
        out[rule] = dict(zip(s.anomalies["kind"], r["found_each"], strict=True))
        out[f"{rule}_false_alarm_jobs"] = len(set(r["false_alarm_entities"]) - s.anomalous_entities)
    return out


def main(quick: bool = False) -> dict:
    seeds = range(10_000, 10_000 + (5 if quick else 20))
    mags = (2, 3, 4, 6, 8, 12) if not quick else (4, 8)
    dseeds = range(20_000, 20_000 + (3 if quick else 8))
    t0 = time.perf_counter()
    with ProcessPoolExecutor(2) as ex:
        clean = list(ex.map(clean_run, [(sz, s) for sz in SIZES for s in seeds]))
        det = list(ex.map(detect_run, [(mg, s) for mg in mags for s in dseeds]))
    runs = len(clean)
    summary = {}
    for fill in ("one_pass", "alternating"):
        cells = sum(r[f"cells_{fill}"] for r in clean)
        for rule in ("gaussian", "calibrated"):
            k = f"flagged_{fill}_{rule}"
            summary[f"{fill}+{rule}"] = {
                "runs_firing": sum(r[k] > 0 for r in clean),
                "runs": runs,
                "flagged_cells": sum(r[k] for r in clean),
                "max_cells_one_run": max(r[k] for r in clean),
                "per_cell_rate": sum(r[k] for r in clean) / max(1, cells),
            }
    print(f"clean synthetic job runs ({runs}: 3 sizes x {len(seeds)} seeds), alpha = {ALPHA}:")
    for k, v in summary.items():
        print(
            f"  fill {k:<24} runs firing {v['runs_firing']:>2}/{v['runs']}  cells {v['flagged_cells']:>4} "
            f"(max {v['max_cells_one_run']} in one run, {v['per_cell_rate']:.1e} per cell)"
        )
    table = []
    for mg in mags:
        rows = [r for r in det if r["magnitude"] == mg]
        row = {"magnitude": mg}
        for rule in ("gaussian", "calibrated"):
            for kd in KINDS:
                row[f"{rule}_{kd}"] = float(np.mean([r[rule][kd] for r in rows]))
            row[f"{rule}_false_alarm_jobs_mean"] = float(np.mean([r[f"{rule}_false_alarm_jobs"] for r in rows]))
        table.append(row)
    print(f"detection rate vs magnitude (noise units), {len(dseeds)} runs each, calibrated (gaussian):")
    print("  mag  " + "  ".join(f"{k:>16}" for k in KINDS) + "  healthy jobs flagged")
    for row in table:
        cells = "  ".join(f"{row[f'calibrated_{k}']:>7.2f} ({row[f'gaussian_{k}']:.2f})" for k in KINDS)
        print(
            f"  {row['magnitude']:>3}  {cells}  {row['calibrated_false_alarm_jobs_mean']:.2f} "
            f"({row['gaussian_false_alarm_jobs_mean']:.2f})"
        )
    res = {
        "alpha": ALPHA,
        "threshold_rule": THRESHOLD_RULE,
        "clean": summary,
        "clean_runs": clean,
        "detection": table,
        "wall_s": time.perf_counter() - t0,
    }
    if not quick:
        out = Path(__file__).parent / "results" / "anomaly_calibration.json"
        out.write_text(json.dumps(res, indent=1))
        print(f"wrote {out}")
    return res


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
