"""Per-decision latency of the shipped theta_2022 DRAS model and of the tree distilled from it.

    .venv/bin/python benchmarks/bench_explain.py      # writes benchmarks/results/explain.{txt,json}

Each policy schedules the same held-out window (10 x 1,024-job protocol, first window) on its own;
the time of its decision calls is summed and divided by its decisions.  Repeated 5 times in one
run; medians and their ratio are reported.  The teacher's time is the network's greedy action
from the environment's observation (torch, one thread); the tree's is its feature rows and the
descent (one compiled call).  The environment's own stepping is excluded from both.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from schedlab.explain.dagger import ModelTeacher, decision_latency
from schedlab.explain.tree import load_tree
from schedlab.policies import resolve
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.evaluation import evaluation_windows
from schedlab.simulator.config import SimConfig
from schedlab.workload import load_trace

REPEATS = 5


def main() -> None:
    torch.set_num_threads(1)
    wl = load_trace("theta_2022")
    model = resolve("model:theta_2022-dras")
    policy = model.model
    tree = load_tree("theta_2022-dras")
    options = model.env_options(SimConfig(policy="fcfs")).replace(window_len=1024, split="all")
    env = SchedulingEnv(wl, options)
    start = evaluation_windows(wl, "test", 10, 1024, 0)[0]
    env.reset(options={"start": int(start)})
    tree.act(env)  # compile the tree's decision before timing it
    runs = decision_latency(ModelTeacher(policy), tree, env, int(start), repeats=REPEATS)
    t, s = runs["teacher"], runs["tree"]
    rec = {
        "teacher_us": t * 1e6,
        "tree_us": s * 1e6,
        "speedup": t / s,
        "decisions": runs["decisions"],
        "repeats": REPEATS,
        "tree_leaves": tree.n_leaves,
        "window_start": int(start),
    }
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "explain.json").write_text(json.dumps(rec, indent=2))
    line = (
        f"per decision (median of {REPEATS}, {rec['decisions']} decisions): teacher {rec['teacher_us']:.1f} us, "
        f"tree ({tree.n_leaves} leaves) {rec['tree_us']:.2f} us, {rec['speedup']:.0f}x faster"
    )
    (out / "explain.txt").write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
