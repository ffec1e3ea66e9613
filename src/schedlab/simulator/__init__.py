"""Discrete-event simulation of a batch scheduler on a trace (see :mod:`.engine` for semantics)."""

from __future__ import annotations

import time

import numpy as np

from schedlab.policies import is_dynamic, priority_ranks, static_scores
from schedlab.simulator.config import BACKFILLS, CAPACITY_UNITS, ESTIMATES, PRESETS, SimConfig
from schedlab.simulator.engine import (
    BF_CONSERVATIVE,
    BF_EASY,
    BF_NONE,
    DYN_STATIC,
    DYN_UNICEP,
    DYN_WFP3,
    simulate_kernel,
)
from schedlab.simulator.result import SimResult
from schedlab.workload.table import Workload

_BF = {"none": BF_NONE, "easy": BF_EASY, "conservative": BF_CONSERVATIVE}
_DYN = {"wfp3": DYN_WFP3, "unicep": DYN_UNICEP}


def job_sizes(workload: Workload, capacity_unit: str) -> tuple[np.ndarray, int]:
    """Units each job holds and the machine's capacity in those units."""
    if capacity_unit == "nodes":
        return workload.node_counts(), int(workload.max_nodes)
    return workload.procs.astype(np.int64), int(workload.max_procs)


def simulate(workload: Workload, config: SimConfig | None = None, **options) -> SimResult:
    """Simulate ``workload`` under ``config`` (or keyword options of :class:`SimConfig`)."""
    config = config or SimConfig(**options)
    if isinstance(config.policy, str) and config.policy.startswith("model:"):
        from schedlab.rl.evaluation import simulate_model  # torch only when a model is asked for

        return simulate_model(workload, config)
    if isinstance(config.policy, str) and config.policy.startswith("tree:"):
        from schedlab.explain.simulate import simulate_tree

        return simulate_tree(workload, config)
    if config.preset == "rlscheduler":
        from schedlab.simulator.parity.rlscheduler import simulate_rlscheduler

        return simulate_rlscheduler(workload, config)
    if config.preset == "cqsim":
        from schedlab.simulator.parity.cqsim import simulate_cqsim

        return simulate_cqsim(workload, config)
    size, capacity = job_sizes(workload, config.capacity_unit)
    if len(size) and size.max() > capacity:
        raise ValueError(f"a job needs {size.max()} {config.capacity_unit} but the machine has {capacity}")
    run = np.minimum(workload.run, workload.req_time) if config.kill_at_request else workload.run.copy()
    est = workload.req_time if config.estimates == "requested" else run
    est = np.ascontiguousarray(est, dtype=np.float64)
    if is_dynamic(config.policy):
        dyn, rank = _DYN[config.policy], np.zeros(len(size), dtype=np.int64)
    else:
        scores = static_scores(config.policy, workload.req_time, workload.procs, workload.submit, workload)
        dyn, rank = DYN_STATIC, priority_ranks(scores)
    t0 = time.perf_counter()
    start, resv, passes = simulate_kernel(
        np.ascontiguousarray(workload.submit, dtype=np.float64),
        np.ascontiguousarray(run, dtype=np.float64),
        est,
        size,
        capacity,
        _BF[config.backfill],
        rank,
        dyn,
    )
    elapsed = time.perf_counter() - t0
    return SimResult(
        workload=workload,
        config=config,
        start=start,
        end=start + run,
        run=run,
        size=size,
        capacity=capacity,
        reservation=resv,
        sim_seconds=elapsed,
        passes=int(passes),
    )


__all__ = ["BACKFILLS", "CAPACITY_UNITS", "ESTIMATES", "PRESETS", "SimConfig", "SimResult", "job_sizes", "simulate"]
