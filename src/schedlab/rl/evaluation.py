"""A trained model as a scheduling policy (``--policy model:PATH``) and ``schedlab evaluate``:
the model and the heuristics on the same windows, same semantics."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from schedlab.rl.agents import TrainedPolicy, load_policy
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import eval_window_starts, split_bounds
from schedlab.simulator.config import SimConfig
from schedlab.simulator.result import SimResult
from schedlab.simulator.stepper import I_DECISIONS
from schedlab.workload.table import Workload

HEURISTICS = ("fcfs", "sjf", "saf", "wfp3", "unicep", "f1")
MODEL_PREFIX = "model:"


def model_env_options(policy: TrainedPolicy, config: SimConfig) -> dict:
    """Environment options for running ``policy`` under ``config``.  A DRAS model trained to pick
    its own backfill jobs keeps doing so; other models backfill as ``config.backfill`` says."""
    kw = policy.env_kwargs
    if config.backfill == "conservative":
        raise ValueError(
            "an RL model schedules with backfill none or easy (or its own, for DRAS models), not conservative"
        )
    backfill = "agent" if kw["backfill"] == "agent" else config.backfill
    return {
        "visible": kw["visible"],
        "backfill": backfill,
        "queue_order": kw.get("queue_order", "fcfs"),
        "backfill_order": kw.get("backfill_order", "fcfs"),
        "capacity_unit": config.capacity_unit,
        "estimates": config.estimates,
        "kill_at_request": config.kill_at_request,
    }


def run_policy(env: SchedulingEnv, policy: TrainedPolicy, start: int) -> dict:
    """One greedy episode from window ``start``; the episode's metrics."""
    obs, info = env.reset(options={"start": start})
    while True:
        obs, _, done, _, info = env.step(policy.act(obs, info["action_mask"]))
        if done:
            return info["episode_metrics"]


def simulate_model(workload: Workload, config: SimConfig) -> SimResult:
    """The whole workload scheduled by the model named in ``config.policy`` (``model:PATH``)."""
    path = str(config.policy)[len(MODEL_PREFIX) :]
    policy = load_policy(path)
    if config.preset == "rlscheduler":
        from schedlab.rl.rlscheduler_protocol import simulate_rlscheduler_agent

        return simulate_rlscheduler_agent(workload, policy, backfill=config.backfill != "none", config=config)
    if config.preset != "textbook":
        raise ValueError(f"RL models run under the textbook or rlscheduler preset, not {config.preset!r}")
    env = SchedulingEnv(workload, window_len=None, split="all", **model_env_options(policy, config))
    t0 = time.perf_counter()
    run_policy(env, policy, 0)
    return env_result(env, config, time.perf_counter() - t0, {"model": path, "agent": policy.agent})


def env_result(env: SchedulingEnv, config: SimConfig, seconds: float, extra: dict) -> SimResult:
    """The schedule an episode over a whole workload (``window_len=None``) produced, as a SimResult."""
    return SimResult(
        workload=env.workload,
        config=config,
        start=env.start.copy(),
        end=env.start + env.run,
        run=env.run.copy(),
        size=env.size.copy(),
        capacity=env.capacity,
        reservation=np.full(env.L, np.inf),
        sim_seconds=seconds,
        passes=int(env.ist[I_DECISIONS]),
        extra=extra,
    )


def evaluation_windows(
    workload: Workload, split: str, windows: int, window_len: int, seed: int, train_split: float = 0.7
) -> list[int]:
    lo, hi = split_bounds(len(workload), train_split, split)
    return eval_window_starts(lo, hi, window_len, windows, seed).tolist()


def evaluate(
    model: str | Path,
    workload: Workload,
    starts: list[int],
    window_len: int,
    backfill: str = "easy",
    preset: str = "textbook",
    heuristics=HEURISTICS,
    tau: float = 10.0,
) -> dict:
    """Mean and per-window metrics of the model and each heuristic on the same windows."""
    from schedlab.experiments import compare, metrics_of

    policy = load_policy(model)
    opts = dict(backfill=backfill, preset=preset)
    if preset == "rlscheduler":
        opts.update(capacity_unit="nodes", kill_at_request=False)
    config = SimConfig(policy="fcfs", **opts)
    label = f"{policy.agent} ({Path(model).name})"
    per = []
    t0 = time.perf_counter()
    for s in starts:
        part = workload.window(int(s), window_len)
        res = simulate_model(part, SimConfig(**{**config.__dict__, "policy": f"{MODEL_PREFIX}{model}"}))
        per.append({k: v for k, v in metrics_of(res, tau).items()})
    agent_seconds = time.perf_counter() - t0
    rows = [{"policy": label, "agent": policy.agent, "windows": per}]
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
        "agent": policy.agent,
        "trace": workload.name,
        "window_len": window_len,
        "window_starts": [int(s) for s in starts],
        "backfill": backfill,
        "preset": preset,
        "model_backfill": model_env_options(policy, config)["backfill"] if preset == "textbook" else backfill,
        "results": rows,
        "best_heuristic": best["policy"],
        "bsld_vs_best_heuristic": rows[0]["mean_bsld"] / best["mean_bsld"] - 1.0,
        "bsld_vs_fcfs": rows[0]["mean_bsld"] / fcfs["mean_bsld"] - 1.0 if fcfs else None,
        "agent_seconds": agent_seconds,
    }
