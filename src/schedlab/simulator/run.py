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
from schedlab.options import Backfill, BackfillOrder, CapacityUnit, Correction, Estimates, PolicyKind, Preset
from schedlab.policies import priority_ranks, resolve
from schedlab.predict.online import (
    CORR_DOUBLE,
    CORR_REQTIME,
    CORR_TSAFRIR,
    PRED_LAST2,
    PRED_ML,
    predictor_state,
)
from schedlab.predict.online import (
    PRED_NONE as PRED_OFF,
)
from schedlab.simulator.config import SimConfig
from schedlab.simulator.engine import (
    ARR_F1,
    ARR_F2,
    ARR_F3,
    ARR_F4,
    ARR_LAF,
    ARR_LJF,
    ARR_SAF,
    ARR_SJF,
    BF_CONSERVATIVE,
    BF_EASY,
    BF_NONE,
    BFO_QUEUE,
    BFO_SHORTEST,
    DYN_STATIC,
    DYN_UNICEP,
    DYN_WFP3,
    no_prediction,
    simulate_kernel_ex,
)
from schedlab.simulator.result import SimResult
from schedlab.workload.table import Workload

KERNEL_BACKFILL = {Backfill.NONE: BF_NONE, Backfill.EASY: BF_EASY, Backfill.CONSERVATIVE: BF_CONSERVATIVE}
KERNEL_DYNAMIC = {"wfp3": DYN_WFP3, "unicep": DYN_UNICEP}
KERNEL_BACKFILL_ORDER = {BackfillOrder.QUEUE: BFO_QUEUE, BackfillOrder.SHORTEST: BFO_SHORTEST}
KERNEL_CORRECTION = {Correction.REQTIME: CORR_REQTIME, Correction.DOUBLE: CORR_DOUBLE, Correction.TSAFRIR: CORR_TSAFRIR}
#: static heuristics that read the estimate: with a predictor they are scored on the prediction
KERNEL_ARRIVAL = {
    "sjf": ARR_SJF,
    "ljf": ARR_LJF,
    "saf": ARR_SAF,
    "laf": ARR_LAF,
    "f1": ARR_F1,
    "f2": ARR_F2,
    "f3": ARR_F3,
    "f4": ARR_F4,
}
PREDICTORS = {Estimates.PREDICTED_LAST2: PRED_LAST2, Estimates.PREDICTED_ML: PRED_ML}

#: preset -> the module:function that simulates a workload under that peer's semantics
PARITY = {
    Preset.RLSCHEDULER: "schedlab.simulator.parity.rlscheduler:simulate_rlscheduler",
    Preset.CQSIM: "schedlab.simulator.parity.cqsim:simulate_cqsim",
    Preset.SLURM: "schedlab.simulator.parity.slurm:simulate_slurm",
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
    if getattr(policy, "overrides", ()):  # a recipe (easy++) brings its estimates and backfill order
        config = config.replace(**dict(policy.overrides))
    if policy.kind is PolicyKind.AGENT:
        return policy.simulate(workload, config)
    if config.preset == Preset.SLURM:
        return _parity(config.preset)(workload, config)
    if config.cluster is not None or policy.kind is PolicyKind.PRIORITY or workload.resources is not None:
        if config.preset != Preset.TEXTBOOK:
            raise SchedlabError(f"multi-resource machines run under the textbook preset, not {str(config.preset)!r}")
        from schedlab.simulator.multires.run import simulate_multi

        return simulate_multi(workload, config, policy, config.cluster)
    if config.preset in PARITY:
        return _parity(config.preset)(workload, config)
    size, capacity = job_sizes(workload, config.capacity_unit)
    if len(size) and size.max() > capacity:
        raise SchedlabError(f"a job needs {size.max()} {config.capacity_unit} but the machine has {capacity}")
    run = np.minimum(workload.run, workload.req_time) if config.kill_at_request else workload.run.copy()
    est = workload.req_time if config.estimates in (Estimates.REQUESTED, *PREDICTORS) else run
    est = np.array(est, dtype=np.float64)  # a copy: a predictor writes its predictions into it
    pred, pstate, by_user = PRED_OFF, no_prediction(), None
    if config.estimates in PREDICTORS:
        pred = PREDICTORS[config.estimates]
        pstate, by_user = predictor_state(workload, pred)
    if policy.kind is PolicyKind.DYNAMIC:
        dyn, rank = KERNEL_DYNAMIC[policy.spec], np.zeros(len(size), dtype=np.int64)
    elif pred != PRED_OFF and policy.spec in KERNEL_ARRIVAL:  # scored on the prediction, at arrival
        dyn, rank = KERNEL_ARRIVAL[policy.spec], np.zeros(len(size), dtype=np.int64)
    else:
        scores = policy.scores(workload.req_time, workload.procs, workload.submit, workload)
        dyn, rank = DYN_STATIC, priority_ranks(scores)
    t0 = time.perf_counter()
    start, resv, passes = simulate_kernel_ex(
        np.ascontiguousarray(workload.submit, dtype=np.float64),
        np.ascontiguousarray(run, dtype=np.float64),
        est,
        size,
        capacity,
        KERNEL_BACKFILL[config.backfill],
        rank,
        dyn,
        KERNEL_BACKFILL_ORDER[config.backfill_order],
        pred,
        KERNEL_CORRECTION[config.correction],
        pstate,
    )
    elapsed = time.perf_counter() - t0
    extra = {"predicted": est, "predictor_by_user": by_user} if pred != PRED_OFF else {}
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
        extra=extra,
    )
