"""Learned hole life vs BFTrainer's fixed look-ahead Tfwd, on the real node-state trace.

Week 1 of the trace (days 0-7) is the history: the hole-life predictor is fitted on its holes,
and every knob is chosen on it (the best fixed Tfwd, and the scale of the learned Tfwd).  Week 2
(days 7-14) is the evaluation.  The ImageNet job set (1,001 trainers, max 10 running) is shifted
to start at each week's start.  Runs:

* fixed Tfwd, lowest-index nodes: BFTrainer;
* fixed Tfwd, longest-predicted nodes (``--predict-holes``): the predictions in node choice only;
* scaled learned Tfwd (``--tfwd-from-holes A``): Tfwd at each event = A x the median predicted
  remaining life of the free idle nodes, plus longest-predicted nodes: the predictions in the
  objective too, with a scale A to choose;
* learned Tfwd, no knob (``--tfwd-learned``): Tfwd at each event = the predicted time until the next
  idle node is taken back, plus longest-predicted nodes.

"Best" = the highest efficiency (vs same scales) among runs that finish as many trainers as any,
chosen on week 1.

    python benchmarks/bftrainer_tfwd.py     # ~16 min on 2 cores; prints rows, writes results/bftrainer_tfwd.json
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from schedlab.elastic.horizon import HoleLifePredictor
from schedlab.elastic.idle import read_node_states
from schedlab.elastic.replay import ReplayConfig, replay
from schedlab.elastic.trainers import load_job_set

WEEK = 7 * 86400
GRID = (1.0, 3.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
NODE_GRID = (1.0, 3.0, 10.0, 30.0, 60.0)
SCALES = (0.003, 0.01, 0.03, 0.1, 0.3)
KEYS = (
    "efficiency_vs_same_scales",
    "efficiency_vs_dedicated",
    "samples",
    "trainers_finished",
    "mean_completion_hours",
    "idle_used_fraction",
    "preemptions",
    "starts",
    "scale_ups",
    "scale_downs",
    "tfwd_median",
)


def best_of(runs: dict) -> float:
    most = max(s["trainers_finished"] for s in runs.values())
    return max(
        (k for k, s in runs.items() if s["trainers_finished"] == most),
        key=lambda k: runs[k]["efficiency_vs_same_scales"],
    )


def _runs(model) -> list[tuple[str, str, ReplayConfig]]:
    """Every configuration run on each week: (family, label, config)."""
    runs = [("fixed", f"fixed Tfwd={tf:g}", ReplayConfig(tfwd=tf)) for tf in GRID]
    runs += [
        (
            "fixed, learned nodes",
            f"fixed Tfwd={tf:g}, learned nodes",
            ReplayConfig(tfwd=tf, horizon=model, node_choice="longest"),
        )
        for tf in NODE_GRID
    ]
    runs += [
        (
            "scaled",
            f"learned Tfwd={a:g} x life, learned nodes",
            ReplayConfig(horizon=model, node_choice="longest", tfwd_scale=a),
        )
        for a in SCALES
    ]
    runs.append(
        (
            "learned",
            "learned Tfwd (no knob), learned nodes",
            ReplayConfig(horizon=model, node_choice="longest", tfwd_learned=True),
        )
    )
    return runs


def _replay_week(args) -> list[dict]:
    week, runs = args
    trace = read_node_states()
    idle = trace.window(week * WEEK, (week + 1) * WEEK)
    jobs = load_job_set("imagenet")
    trainers = jobs.shift_submit(idle.start - jobs.submit.min())
    rows = []
    for family, tag, cfg in runs:
        s = replay(idle, trainers, cfg).summary
        rows.append(
            {
                "week": week + 1,
                "family": family,
                "run": tag,
                "tfwd": cfg.tfwd,
                "tfwd_scale": cfg.tfwd_scale,
                "tfwd_learned": cfg.tfwd_learned,
                **{k: s[k] for k in KEYS},
            }
        )
        print(
            f"week {week + 1}  {tag:<38} eff(same) {s['efficiency_vs_same_scales']:.4f}  eff(dedicated) "
            f"{s['efficiency_vs_dedicated']:.4f}  finished {s['trainers_finished']:>4}  "
            f"mean JCT {s['mean_completion_hours']:6.2f} h  pre-emptions {s['preemptions']:>5}  "
            f"median Tfwd {s['tfwd_median']:7.1f} s",
            flush=True,
        )
    return rows


def main() -> None:
    trace = read_node_states()
    t0 = time.perf_counter()
    model = HoleLifePredictor().fit(trace.window(0, WEEK))
    fit_s = time.perf_counter() - t0
    runs = _runs(model)
    with ProcessPoolExecutor(2) as pool:  # the two weeks side by side
        week1, week2 = pool.map(_replay_week, [(0, runs), (1, runs)])
    fixed = {r["tfwd"]: r for r in week1 if r["family"] == "fixed"}
    nodes = {r["tfwd"]: r for r in week1 if r["family"] == "fixed, learned nodes"}
    learned = {r["tfwd_scale"]: r for r in week1 if r["family"] == "scaled"}
    best_fixed, best_nodes, best_scale = best_of(fixed), best_of(nodes), best_of(learned)
    print(
        f"chosen on week 1: fixed Tfwd {best_fixed:g} s; with learned nodes {best_nodes:g} s; "
        f"learned Tfwd scale {best_scale:g}"
    )
    risk = _replay_week(
        (
            1,
            [
                (
                    "risk",
                    f"fixed Tfwd={best_fixed:g}, learned nodes + risk",
                    ReplayConfig(tfwd=best_fixed, horizon=model, node_choice="longest", risk=True),
                )
            ],
        )
    )
    out = Path(__file__).parent / "results" / "bftrainer_tfwd.json"
    out.write_text(
        json.dumps(
            {
                "chosen_on_week1": {
                    "fixed_tfwd": best_fixed,
                    "fixed_tfwd_learned_nodes": best_nodes,
                    "learned_tfwd_scale": best_scale,
                },
                "predictor_fit_seconds": fit_s,
                "predictor_holes": model.n_holes_,
                "rows": week1 + week2 + risk,
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
