"""``simulate``: one workload under one configuration (see :mod:`.engine` for the semantics).

The simulator knows policies only through the registry's interface (:mod:`schedlab.policies`):
a static policy gives scores, a dynamic one names a kernel formula, and an agent policy (an RL
model, a tree) drives the stepper itself.  Peer semantics come from the ``PARITY`` table.
"""

from __future__ import annotations

import importlib
import time

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.options import Backfill, CapacityUnit, Estimates, PolicyKind, Preset
from schedlab.policies import priority_ranks, resolve
from schedlab.simulator.config import SimConfig
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

KERNEL_BACKFILL = {Backfill.NONE: BF_NONE, Backfill.EASY: BF_EASY, Backfill.CONSERVATIVE: BF_CONSERVATIVE}
KERNEL_DYNAMIC = {"wfp3": DYN_WFP3, "unicep": DYN_UNICEP}

#: preset -> the module:function that simulates a workload under that peer's semantics
PARITY = {
    Preset.RLSCHEDULER: "schedlab.simulator.parity.rlscheduler:simulate_rlscheduler",
    Preset.CQSIM: "schedlab.simulator.parity.cqsim:simulate_cqsim",
}


def job_sizes(workload: Workload, capacity_unit: str) -> tuple[np.ndarray, int]:
    """Units each job holds and the machine's capacity in those units."""
    if capacity_unit == CapacityUnit.NODES:
        return workload.node_counts(), int(workload.max_nodes)
    return workload.procs.astype(np.int64), int(workload.max_procs)


def _parity(preset: Preset):
    module, _, name = PARITY[preset].partition(":")
    return getattr(importlib.import_module(module), name)


def simulate(workload: Workload, config: SimConfig | None = None, **options) -> SimResult:
    """Simulate ``workload`` under ``config`` (or keyword options of :class:`SimConfig`)."""
    config = config or SimConfig(**options)
    policy = resolve(config.policy)
    if policy.kind is PolicyKind.AGENT:
        return policy.simulate(workload, config)
    if config.preset in PARITY:
        return _parity(config.preset)(workload, config)
    size, capacity = job_sizes(workload, config.capacity_unit)
    if len(size) and size.max() > capacity:
        raise SchedlabError(f"a job needs {size.max()} {config.capacity_unit} but the machine has {capacity}")
    run = np.minimum(workload.run, workload.req_time) if config.kill_at_request else workload.run.copy()
    est = workload.req_time if config.estimates == Estimates.REQUESTED else run
    est = np.ascontiguousarray(est, dtype=np.float64)
    if policy.kind is PolicyKind.DYNAMIC:
        dyn, rank = KERNEL_DYNAMIC[policy.spec], np.zeros(len(size), dtype=np.int64)
    else:
        scores = policy.scores(workload.req_time, workload.procs, workload.submit, workload)
        dyn, rank = DYN_STATIC, priority_ranks(scores)
    t0 = time.perf_counter()
    start, resv, passes = simulate_kernel(
        np.ascontiguousarray(workload.submit, dtype=np.float64),
        np.ascontiguousarray(run, dtype=np.float64),
        est,
        size,
        capacity,
        KERNEL_BACKFILL[config.backfill],
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
