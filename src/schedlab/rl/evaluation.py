"""``schedlab evaluate``: a trained model and the heuristics on the same windows, same semantics.

(A model as a scheduling policy, ``--policy model:PATH``, is :mod:`schedlab.rl.policy`.)
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from schedlab.rl.episodes import eval_window_starts, split_bounds
from schedlab.rl.policy import ModelPolicy, model_policy
from schedlab.simulator.config import SimConfig
from schedlab.workload.table import Workload

HEURISTICS = ("fcfs", "sjf", "saf", "wfp3", "unicep", "f1")


def evaluation_windows(
    workload: Workload, split: str, windows: int, window_len: int, seed: int, train_split: float = 0.7
) -> list[int]:
    lo, hi = split_bounds(len(workload), train_split, split)
    return eval_window_starts(lo, hi, window_len, windows, seed).tolist()


def evaluate(
    model: str | Path | ModelPolicy,
    workload: Workload,
    starts: list[int],
    window_len: int,
    backfill: str = "easy",
    preset: str = "textbook",
    heuristics=HEURISTICS,
    tau: float = 10.0,
) -> dict:
    """Mean and per-window metrics of the model and each heuristic on the same windows.  ``model``
    is a model file or run folder (or a shipped model's name, or an already loaded
    :class:`ModelPolicy`); it is loaded once."""
    from schedlab.simulator.compare import compare, metrics_of

    policy = model if isinstance(model, ModelPolicy) else model_policy(str(model))
    model = policy.path if isinstance(model, ModelPolicy) else model
    opts = dict(backfill=backfill, preset=preset)
    if preset == "rlscheduler":
        opts.update(capacity_unit="nodes", kill_at_request=False)
    config = SimConfig(policy=policy, **opts)
    agent = policy.model.agent
    per = []
    t0 = time.perf_counter()
    for s in starts:
        res = policy.simulate(workload.window(int(s), window_len), config)
        per.append({k: v for k, v in metrics_of(res, tau).items()})
    agent_seconds = time.perf_counter() - t0
    rows = [{"policy": f"{agent} ({Path(model).name})", "agent": agent, "windows": per}]
    for r in compare(
        workload,
        list(heuristics),
        [backfill],
        window_starts=starts,
        window_len=window_len,
        tau=tau,
        **{k: v for k, v in opts.items() if k != "backfill"},
    ):
        rows.append({"policy": r.policy, "windows": r.windows})
    for r in rows:
        r["mean_bsld"] = float(np.mean([w["mean_bsld"] for w in r["windows"]]))
        r["mean_wait"] = float(np.mean([w["mean_wait"] for w in r["windows"]]))
        r["utilization"] = float(np.mean([w["utilization"] for w in r["windows"]]))
    best = min(rows[1:], key=lambda r: r["mean_bsld"])
    fcfs = next((r for r in rows if r["policy"] == "fcfs"), None)
    return {
        "model": str(model),
        "agent": agent,
        "trace": workload.name,
        "window_len": window_len,
        "window_starts": [int(s) for s in starts],
        "backfill": backfill,
        "preset": preset,
        "model_backfill": policy.env_options(config).backfill.value if preset == "textbook" else backfill,
        "results": rows,
        "best_heuristic": best["policy"],
        "bsld_vs_best_heuristic": rows[0]["mean_bsld"] / best["mean_bsld"] - 1.0,
        "bsld_vs_fcfs": rows[0]["mean_bsld"] / fcfs["mean_bsld"] - 1.0 if fcfs else None,
        "agent_seconds": agent_seconds,
    }


__all__ = ["HEURISTICS", "evaluate", "evaluation_windows"]
