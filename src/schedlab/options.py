"""The vocabulary: every closed set of option values, declared once.

Each is a ``StrEnum``, so a member equals its plain string (``Backfill.EASY == "easy"``), prints
as it, and serialises to JSON as it.  Library dataclasses convert their fields with ``Enum(value)``
(the one validation path; a bad value raises :class:`~schedlab.errors.OptionError` naming the
allowed ones) and the CLI uses the same classes as typer option types, so a value is spelt in one
place only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from schedlab.errors import OptionError

E = TypeVar("E", bound=StrEnum)


def choose(enum: type[E], value, what: str | None = None) -> E:
    """``value`` as a member of ``enum``; a clear :class:`OptionError` when it is not one."""
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise OptionError(f"unknown {what or enum.__name__.lower()} {value!r}; choose one of {allowed}") from None


# --- simulator ---------------------------------------------------------------------------------
class Backfill(StrEnum):
    """Backfilling: none; easy (EASY: only the head job holds a reservation); conservative (every
    waiting job holds one)."""

    NONE = "none"
    EASY = "easy"
    CONSERVATIVE = "conservative"


class Allocation(StrEnum):
    """How jobs hold nodes on a multi-resource machine: exclusive (whole nodes, as Slurm's
    select/linear or OverSubscribe=EXCLUSIVE) or shared (cons_tres: CPUs, GPUs and memory per node
    counted separately, several jobs per node)."""

    EXCLUSIVE = "exclusive"
    SHARED = "shared"


class NodeSelect(StrEnum):
    """Which nodes a job gets among those that fit: first-fit (lowest node index first) or best-fit
    (the nodes it leaves least free: GPUs, then CPUs, then memory)."""

    FIRST_FIT = "first-fit"
    BEST_FIT = "best-fit"


class FairShare(StrEnum):
    """Slurm's fair-share factor: classic (2^(-usage/shares) per account) or fair_tree (ranked
    accounts and users, Slurm's default since 19.05)."""

    CLASSIC = "classic"
    FAIR_TREE = "fair_tree"


class Preset(StrEnum):
    """Semantics bundle: textbook (schedlab's defaults), rlscheduler (RLScheduler's SchedGym, SC20),
    cqsim (CQSim's rules and EASY variant), slurm (Slurm 22.05's main and backfill cycles on a
    machine description: :mod:`schedlab.simulator.parity.slurm`)."""

    TEXTBOOK = "textbook"
    RLSCHEDULER = "rlscheduler"
    CQSIM = "cqsim"
    SLURM = "slurm"


class CapacityUnit(StrEnum):
    """What a job holds: its processor count, or whole nodes."""

    PROCS = "procs"
    NODES = "nodes"


class Estimates(StrEnum):
    """Runtime estimate used by reservations and backfilling: the user's request, the true runtime
    (perfect), or an online prediction (:mod:`schedlab.predict.online`)."""

    REQUESTED = "requested"
    ACTUAL = "actual"
    PREDICTED_LAST2 = "predicted:last2"
    PREDICTED_ML = "predicted:ml"

    @property
    def predicted(self) -> bool:
        return self.value.startswith("predicted:")


class Correction(StrEnum):
    """New estimate of a running job that outlived its predicted runtime."""

    REQTIME = "reqtime"
    DOUBLE = "double"
    TSAFRIR = "tsafrir"


class BackfillOrder(StrEnum):
    """Order in which EASY tries the waiting jobs behind the blocked head."""

    QUEUE = "queue"
    SHORTEST = "shortest"


class Overrun(StrEnum):
    """A job running past its requested time: killed at the request, or keeps running."""

    KILL = "kill"
    RUN_ON = "run-on"


# --- reinforcement learning ----------------------------------------------------------------------
class EnvBackfill(StrEnum):
    """Backfilling inside the RL environment: as the simulator's, plus ``agent`` (the agent picks
    its own backfill jobs, DRAS-style)."""

    NONE = "none"
    EASY = "easy"
    AGENT = "agent"


class Agent(StrEnum):
    """dras: DRAS's two-level agent; scorer: RLScheduler-style per-job scoring network."""

    DRAS = "dras"
    SCORER = "scorer"


class Reward(StrEnum):
    """What an agent is trained to optimise."""

    BSLD = "bsld"
    BSLD_DENSE = "bsld-dense"
    WAIT = "wait"
    UTIL = "util"
    DRAS = "dras"


class Split(StrEnum):
    """Which jobs of a trace: the first (train), the held-out rest (test), or all."""

    TRAIN = "train"
    TEST = "test"
    ALL = "all"


class TrainPreset(StrEnum):
    """Semantics an agent is trained under (a subset of :class:`Preset`)."""

    TEXTBOOK = "textbook"
    RLSCHEDULER = "rlscheduler"


class Curriculum(StrEnum):
    DRAS = "dras"
    NONE = "none"


class ValMetric(StrEnum):
    """How the best checkpoint is chosen: mean bsld, or mean of bsld / the baseline's per window."""

    BSLD = "bsld"
    RELATIVE = "relative"


class TreeForm(StrEnum):
    """What a distilled tree's leaves predict."""

    REGRESSION = "regression"
    CLASSIFICATION = "classification"


# --- elastic training (BFTrainer) ----------------------------------------------------------------
class Solver(StrEnum):
    """dp: exact dynamic program; milp: BFTrainer's MILP (HiGHS); equal: equal-share baseline."""

    DP = "dp"
    MILP = "milp"
    EQUAL = "equal"


class ElasticObjective(StrEnum):
    THROUGHPUT = "throughput"
    FAIRNESS = "fairness"


class CostRate(StrEnum):
    CURRENT = "current"
    STALL = "stall"


class NodeChoice(StrEnum):
    LOWEST = "lowest"
    LONGEST = "longest"


# --- energy --------------------------------------------------------------------------------------
class GPUModel(StrEnum):
    V100 = "V100"
    A100 = "A100"
    H100 = "H100"


class EnergyMetric(StrEnum):
    ENERGY = "energy"
    EDP = "edp"


class EnergyEstimate(StrEnum):
    COUNTERS = "counters"
    PROFILE = "profile"


class PowerSource(StrEnum):
    RUN = "run"
    WINDOW = "window"


class ProfilingMode(StrEnum):
    """What profiling a pair yields in OPEN: counters (a short run) or runtime (full runs)."""

    COUNTERS = "counters"
    RUNTIME = "runtime"


class PowerPredictor(StrEnum):
    """What EcoShift's policies decide on: OPEN's predictions (each app new) or the measured performance."""

    OPEN = "open"
    ORACLE = "oracle"


# --- analytics -----------------------------------------------------------------------------------
class JobFormat(StrEnum):
    """Format of a job table for ``analyze``; auto guesses from the name and content."""

    AUTO = "auto"
    SACCT = "sacct"
    SACCT_JSON = "sacct_json"
    CSV = "csv"
    PARQUET = "parquet"
    SWF = "swf"
    OPENDC = "opendc"
    SCHEDLAB = "schedlab"
    ALIBABA_PODS = "alibaba_pods"


class AttributionMethod(StrEnum):
    """How a slot's measured power is split among running jobs (auto: usage with per-job usage, else equal)."""

    AUTO = "auto"
    USAGE = "usage"
    EQUAL = "equal"
    CORES = "cores"
    GPUS = "gpus"


__all__ = [
    "Agent",
    "AttributionMethod",
    "Backfill",
    "BackfillOrder",
    "CapacityUnit",
    "Correction",
    "CostRate",
    "Curriculum",
    "ElasticObjective",
    "EnergyEstimate",
    "EnergyMetric",
    "EnvBackfill",
    "Estimates",
    "GPUModel",
    "JobFormat",
    "NodeChoice",
    "Overrun",
    "PolicyKind",
    "PowerPredictor",
    "PowerSource",
    "Preset",
    "ProfilingMode",
    "Reward",
    "Solver",
    "Split",
    "TrainPreset",
    "TreeForm",
    "ValMetric",
    "choose",
]


# --- policies ------------------------------------------------------------------------------------
class PolicyKind(StrEnum):
    """How a policy reaches the engine: static (one score per job, fixed at submit), dynamic
    (re-sorted by the kernel at every pass: wfp3, unicep), agent (drives the decision stepper
    itself: an RL model or a distilled tree), priority (Slurm's multifactor priority, recomputed
    every PriorityCalcPeriod from the machine's settings; runs on the multi-resource engine)."""

    STATIC = "static"
    DYNAMIC = "dynamic"
    AGENT = "agent"
    PRIORITY = "priority"
