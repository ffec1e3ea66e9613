"""Every semantic choice of a simulation, named.  Peers hide these; schedlab makes them options.

Presets bundle the choices that reproduce a peer simulator:
  textbook     our defaults (below)
  rlscheduler  RLScheduler's SchedGym (SC20) semantics; see :mod:`schedlab.simulator.parity.rlscheduler`
  cqsim        CQSim's semantics; see :mod:`schedlab.simulator.parity.cqsim`
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from schedlab.options import (
    Allocation,
    Backfill,
    BackfillOrder,
    CapacityUnit,
    Correction,
    Estimates,
    NodeSelect,
    Preset,
    choose,
)

PRESETS = tuple(Preset)
BACKFILLS = tuple(Backfill)
CAPACITY_UNITS = tuple(CapacityUnit)
ESTIMATES = tuple(Estimates)


@dataclass(frozen=True)
class SimConfig:
    """Semantic choices of one simulation.

    policy         queue order: fcfs, sjf, ljf, saf, laf (largest area first), largest, smallest,
                   wfp3, unicep, f1..f4 (see :mod:`schedlab.policies`), expr:EXPRESSION, or any
                   spelling the policy registry knows (model:PATH, a trained RL agent; tree:PATH, a
                   distilled decision tree; see :mod:`schedlab.policies.registry`), or a policy object
                   it resolved (pass that to avoid loading a model again), or a Python callable
    backfill       none | easy | conservative
    preset         textbook | rlscheduler | cqsim (peer semantics; overrides the choices below)
    capacity_unit  procs: a job holds its processor count; nodes: whole nodes,
                   ceil(procs / (MaxProcs / MaxNodes)) out of MaxNodes
    estimates      requested: reservations/backfilling plan with the requested time;
                   actual: with the true runtime ("perfect estimates");
                   predicted:last2 | predicted:ml: with an online prediction made when the job
                   arrives from jobs completed before (:mod:`schedlab.predict.online`)
    correction     with predictions: the new estimate of a job that outlives its prediction
                   (reqtime: its request; double; tsafrir: the next usual walltime)
    backfill_order queue: EASY tries waiting jobs in queue order; shortest: shortest estimate first
    kill_at_request  a job running past its requested time is killed at the request (True)
                   or allowed to run on (False)
    cluster        None: the trace's own single-resource machine (today's engine); or a
                   :class:`~schedlab.cluster.Cluster` (nodes with CPUs, GPUs, memory, partitions,
                   QOS): the multi-resource engine (:mod:`schedlab.simulator.multires`)
    allocation     exclusive | shared: overrides the cluster's allocation mode (None: keep it)
    node_select    first-fit | best-fit: overrides the cluster's node selection (None: keep it)

    Values are validated once, here: the enum fields become :mod:`schedlab.options` members
    (equal to their strings) and a bad value raises :class:`~schedlab.errors.OptionError`.
    """

    policy: Any = "fcfs"
    backfill: Backfill = Backfill.EASY
    preset: Preset = Preset.TEXTBOOK
    capacity_unit: CapacityUnit = CapacityUnit.PROCS
    estimates: Estimates = Estimates.REQUESTED
    kill_at_request: bool = True
    correction: Correction = Correction.REQTIME
    backfill_order: BackfillOrder = BackfillOrder.QUEUE
    cluster: Any = None
    allocation: Allocation | None = None
    node_select: NodeSelect | None = None

    def __post_init__(self) -> None:
        from schedlab.policies.registry import check_spec

        check_spec(self.policy)
        for name, enum, what in (
            ("backfill", Backfill, "backfill mode"),
            ("preset", Preset, "preset"),
            ("capacity_unit", CapacityUnit, "capacity unit"),
            ("estimates", Estimates, "estimate source"),
            ("correction", Correction, "correction rule"),
            ("backfill_order", BackfillOrder, "backfill order"),
        ):
            object.__setattr__(self, name, choose(enum, getattr(self, name), what))
        object.__setattr__(self, "kill_at_request", bool(self.kill_at_request))
        for name, enum, what in (
            ("allocation", Allocation, "allocation mode"),
            ("node_select", NodeSelect, "node selection"),
        ):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, choose(enum, getattr(self, name), what))
        if self.cluster is not None and not hasattr(self.cluster, "partitions"):
            from schedlab.cluster import load_cluster

            object.__setattr__(self, "cluster", load_cluster(self.cluster))

    @property
    def policy_label(self) -> str:
        """The policy as a string for tables and JSON (its spec, or a callable's name)."""
        if isinstance(self.policy, str):
            return self.policy
        if getattr(self.policy, "fn", None) is not None:  # a resolved Python function: its name
            return self.policy.label
        if hasattr(self.policy, "spec") and not callable(self.policy):
            return self.policy.spec
        return getattr(self.policy, "__name__", "user")

    def to_dict(self) -> dict:
        return {
            "policy": self.policy_label,
            "backfill": str(self.backfill),
            "preset": str(self.preset),
            "capacity_unit": str(self.capacity_unit),
            "estimates": str(self.estimates),
            "kill_at_request": self.kill_at_request,
            "correction": str(self.correction),
            "backfill_order": str(self.backfill_order),
            **({"cluster": self.cluster.name} if self.cluster is not None else {}),
            **({"allocation": str(self.allocation)} if self.allocation is not None else {}),
            **({"node_select": str(self.node_select)} if self.node_select is not None else {}),
        }

    def replace(self, **changes) -> SimConfig:
        return replace(self, **changes)
