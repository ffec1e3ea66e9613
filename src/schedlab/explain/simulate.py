"""A distilled tree as a scheduling policy: ``--policy tree:PATH`` in simulate and compare."""

from __future__ import annotations

import time

from schedlab.explain.tree import TREE_PREFIX, Tree, load_tree
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.evaluation import env_result
from schedlab.simulator.config import SimConfig
from schedlab.simulator.result import SimResult
from schedlab.workload.table import Workload


def tree_env_options(tree: Tree, config: SimConfig) -> dict:
    """How the tree schedules under ``config``: its own backfill mode when it picks backfill jobs
    (distilled from a DRAS agent), else the configured one."""
    kw = tree.env_kwargs
    if config.preset != "textbook":
        raise ValueError(f"a distilled tree runs under the textbook preset, not {config.preset!r}")
    if config.backfill == "conservative":
        raise ValueError("a distilled tree schedules with backfill none or easy (or its own), not conservative")
    backfill = "agent" if kw.get("backfill") == "agent" else config.backfill
    return {
        "visible": int(kw.get("visible", 128)),
        "backfill": backfill,
        "queue_order": kw.get("queue_order", "fcfs"),
        "backfill_order": kw.get("backfill_order", "sjf"),
        "capacity_unit": config.capacity_unit,
        "estimates": config.estimates,
        "kill_at_request": config.kill_at_request,
    }


def run_tree(env: SchedulingEnv, tree: Tree, start: int) -> dict:
    env.reset(options={"start": int(start)})
    while True:
        _, _, done, _, info = env.step(tree.act(env))
        if done:
            return info["episode_metrics"]


def simulate_tree(workload: Workload, config: SimConfig) -> SimResult:
    path = str(config.policy)[len(TREE_PREFIX) :]
    tree = load_tree(path)
    env = SchedulingEnv(workload, window_len=None, split="all", **tree_env_options(tree, config))
    t0 = time.perf_counter()
    run_tree(env, tree, 0)
    return env_result(env, config, time.perf_counter() - t0, {"tree": path, "leaves": tree.n_leaves})
