"""Every semantic choice of a simulation, named.  Peers hide these; schedlab makes them options.

Presets bundle the choices that reproduce a peer simulator:
  textbook     our defaults (below)
  rlscheduler  RLScheduler's SchedGym (SC20) semantics; see :mod:`schedlab.simulator.parity.rlscheduler`
  cqsim        CQSim's semantics; see :mod:`schedlab.simulator.parity.cqsim`
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

PRESETS = ("textbook", "rlscheduler", "cqsim")
BACKFILLS = ("none", "easy", "conservative")
CAPACITY_UNITS = ("procs", "nodes")
ESTIMATES = ("requested", "actual")


@dataclass(frozen=True)
class SimConfig:
    """Semantic choices of one simulation.

    policy         queue order: fcfs, sjf, ljf, saf, laf (largest area first), largest, smallest,
                   wfp3, unicep, f1..f4 (see :mod:`schedlab.policies`), or model:PATH, a trained
                   RL agent (see :mod:`schedlab.rl.evaluation`), or tree:PATH, a distilled
                   decision tree (see :mod:`schedlab.explain`)
    backfill       none | easy | conservative
    preset         textbook | rlscheduler | cqsim (peer semantics; overrides the choices below)
    capacity_unit  procs: a job holds its processor count; nodes: whole nodes,
                   ceil(procs / (MaxProcs / MaxNodes)) out of MaxNodes
    estimates      requested: reservations/backfilling plan with the requested time;
                   actual: with the true runtime ("perfect estimates")
    kill_at_request  a job running past its requested time is killed at the request (True)
                   or allowed to run on (False)
    """

    policy: str = "fcfs"
    backfill: str = "easy"
    preset: str = "textbook"
    capacity_unit: str = "procs"
    estimates: str = "requested"
    kill_at_request: bool = True

    def __post_init__(self) -> None:
        from schedlab.policies import POLICY_NAMES

        def check(value, allowed, what):
            if value not in allowed:
                raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")

        if not callable(self.policy) and not str(self.policy).startswith(("expr:", "model:", "tree:")):
            check(self.policy, POLICY_NAMES, "policy")
        check(self.backfill, BACKFILLS, "backfill mode")
        check(self.preset, PRESETS, "preset")
        check(self.capacity_unit, CAPACITY_UNITS, "capacity unit")
        check(self.estimates, ESTIMATES, "estimate source")

    def to_dict(self) -> dict:
        d = asdict(self)
        if callable(self.policy):
            d["policy"] = getattr(self.policy, "__name__", "user")
        return d
