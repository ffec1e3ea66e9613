"""OPEN leave-one-app-out accuracy and EcoShift gains on the measured A100 dual-cap matrix, and the
DP's speed on large clusters.

    python benchmarks/energy_power.py            # prints the tables, writes results/energy_power.json

Part 1: OPEN, every app predicted as new (fit on the other 27), both profiling modes, 20 % and 10 %
of pairs profiled (always including the max-cap anchor), 3 random profiled sets per app; 100 - MAPE
on the unprofiled pairs and on all pairs; ours vs the authors' predictions on their 10 ECP/ML apps.
The counters-mode MLP ensemble of each held-out app is trained once and reused for both fractions
(it depends only on the 27 training apps), so the 10 % run costs no MLP training.
Part 2: EcoShift on the 28-app cluster (one node per app) at 70-90 % of peak, deciding on OPEN's
leave-one-app-out predictions (each mode) or on measured performance (oracle), always scored on
measured performance; gain over uniform fair share per policy.
Part 3: random mixes, 8 / 16 / 64 nodes drawn with replacement, 30 seeds x 5 cap fractions.
Part 4: DP wall time for 1,000-4,000 nodes at 80 % of peak (hundreds of kW).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from schedlab.energy import ecoshift as es
from schedlab.energy import open as op


def part1(data):
    authors = op.load_authors_predictions(data)
    out, surfaces, mlps = {}, None, {}  # one MLP ensemble per held-out app, shared by both fractions
    for frac in (0.2, 0.1):
        per_app, summary, surf = op.leave_one_out(
            data, op.MODES, frac, repeats=3, seed=0, authors=authors, mlp_cache=mlps
        )
        if frac == 0.2:
            surfaces = surf
            per_app.to_csv(Path(__file__).parent / "results" / "energy_power_open_per_app.csv", index=False)
        out[str(frac)] = summary
        for m, s in summary["modes"].items():
            u, a = s["acc_unprofiled"], s["acc_all"]
            va = s.get("vs_authors", {})
            print(
                f"OPEN {m:8s} {frac:.0%} profiled (<= {s['profiled_pairs_max']} pairs): unprofiled median "
                f"{u['median']:.2f} mean {u['mean']:.2f} min {u['min']:.2f} ({u['min_app']}); all pairs median "
                f"{a['median']:.2f} mean {a['mean']:.2f}; 10 ECP apps ours "
                f"{va.get('ours_acc_all_mean', float('nan')):.2f}"
                f" vs authors {va.get('authors_acc_all_mean', float('nan')):.2f} (ours better on "
                f"{va.get('ours_better_apps')}/{va.get('apps')})"
            )
        print(f"  ({summary['seconds']:.0f} s)")
    return out, surfaces


def part2(data, surfaces):
    out = {}
    for name, pred in [
        ("open-counters", surfaces["counters"]),
        ("open-runtime", surfaces["runtime"]),
        ("oracle", data.perf),
    ]:
        df = es.evaluate_fractions(data.pairs, pred, data.perf, apps=data.apps)
        piv = df.pivot(index="fraction", columns="policy", values="gain_vs_fair_pct")[list(es.POLICIES)]
        print(f"\nEcoShift, 28 nodes, decided on {name}, measured gain over fair share (%):")
        print(piv.round(2).to_string())
        mean = piv.mean()
        print(
            "mean 70-90%: "
            + ", ".join(f"{p} {mean[p]:+.2f}" for p in es.POLICIES)
            + f"; cap violations {int(df['violation'].sum())}"
        )
        out[name] = {
            "per_fraction": {str(f): {p: float(piv.loc[f, p]) for p in es.POLICIES} for f in piv.index},
            "mean_over_fractions": {p: float(mean[p]) for p in es.POLICIES},
            "violations": int(df["violation"].sum()),
            "gain_vs_fair_best_pct": {
                p: float(
                    100
                    * (
                        df[df.policy == p].measured_mean.to_numpy()
                        / df[df.policy == "fair-best"].measured_mean.to_numpy()
                        - 1
                    ).mean()
                )
                for p in ("ecoshift", "global-dp", "greedy")
            },
        }
    return out


def part3(data, surfaces):
    out = {}
    for name, pred in [
        ("open-counters", surfaces["counters"]),
        ("open-runtime", surfaces["runtime"]),
        ("oracle", data.perf),
    ]:
        df = es.evaluate_mixes(data.pairs, pred, data.perf, sizes=(8, 16, 64), seeds=range(30))
        med = df.groupby(["nodes", "policy"])["gain_vs_fair_pct"].median().unstack()[list(es.POLICIES)]
        print(f"\nrandom mixes decided on {name}: median measured gain over fair share (%), 30 seeds x 5 caps")
        print(med.round(2).to_string())
        out[name] = {
            "median_gain": {str(n): {p: float(med.loc[n, p]) for p in es.POLICIES} for n in med.index},
            "instances_per_size": int(len(df) / len(es.POLICIES) / 3),
            "violations": int(df["violation"].sum()),
        }
    return out


def part4(data):
    out = {}
    rng = np.random.default_rng(0)
    for n in (1000, 2000, 4000):
        pred = data.perf[rng.integers(0, len(data.apps), n)]
        prob = es.PowerProblem(data.pairs, pred, 0.8 * n * 450)
        times = {}
        for pol in ("ecoshift", "global-dp"):
            ts = []
            for _ in range(3):
                t0 = time.perf_counter()
                a = es.allocate(prob, pol)
                ts.append(time.perf_counter() - t0)
            times[pol] = float(np.median(ts))
            assert a.total_w <= prob.cap_w
        out[str(n)] = {"cap_kw": prob.cap_w / 1e3, **{f"{p}_s": t for p, t in times.items()}}
        print(
            f"DP, {n} nodes, cap {prob.cap_w / 1e3:.0f} kW: ecoshift {times['ecoshift'] * 1e3:.0f} ms, "
            f"global-dp {times['global-dp'] * 1e3:.0f} ms (median of 3)"
        )
    return out


if __name__ == "__main__":
    import torch

    torch.set_num_threads(1)
    data = op.load_dual_cap()
    t0 = time.perf_counter()
    p4 = part4(data)
    p1, surfaces = part1(data)
    result = {
        "open": p1,
        "ecoshift_28": part2(data, surfaces),
        "mixes": part3(data, surfaces),
        "dp_speed": p4,
        "seconds": time.perf_counter() - t0,
    }
    path = Path(__file__).parent / "results" / "energy_power.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")
