"""A machine as a site runs it: node types, partitions, QOS and the priority settings.

Every reader (TOML, ``slurm.conf``, the Alibaba node list) builds a :class:`Cluster` through
:func:`build_cluster`, which validates once: names, counts and sizes bounded, every partition
naming known nodes, QOS limits non-negative.  The simulator reads the per-node arrays
(``cpus``, ``gpus``, ``mem_mib``, ``gpu_type``) and each partition's node indices.

Units.  CPUs and GPUs are counted in whole units unless the description sets ``cpu_unit`` or
``gpu_unit`` (e.g. 1000: milli-CPUs and milli-GPUs, the Alibaba pod list's units); memory is MiB,
0 meaning "not modelled" on a node type (then jobs' memory requests are not checked there).
A single-resource SWF machine is :func:`single_resource`: one node type, one partition.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from schedlab.errors import ClusterError
from schedlab.options import Allocation, FairShare, NodeSelect, choose

#: bounds that keep a description's arrays small whatever a file says
MAX_NODES = 1_000_000
MAX_PER_NODE = 10**9  # CPUs, GPUs (in their units) or MiB on one node
MAX_NAME = 200
INF = math.inf


@dataclass(frozen=True)
class NodeType:
    """``count`` identical nodes.  ``names``: their host names (default ``NAME0001`` ...)."""

    name: str
    count: int
    cpus: int
    gpus: int = 0
    gpu_type: str = ""
    mem_mib: int = 0
    names: tuple[str, ...] = ()
    features: tuple[str, ...] = ()


@dataclass(frozen=True)
class Partition:
    """A set of nodes (indices into the cluster's node arrays) with its limits.

    ``max_time_s``: the longest time limit a job may have here (inf: none); ``max_nodes``: the
    most nodes one job may use (0: no limit); ``priority_tier`` / ``priority_job_factor`` as
    Slurm's PriorityTier and PriorityJobFactor; ``allow_qos``: QOS names allowed (empty: all);
    ``qos``: the partition QOS applied to every job (empty: none)."""

    name: str
    nodes: tuple[int, ...]
    max_time_s: float = INF
    max_nodes: int = 0
    default: bool = False
    priority_tier: int = 1
    priority_job_factor: int = 1
    allow_qos: tuple[str, ...] = ()
    qos: str = ""


@dataclass(frozen=True)
class QOS:
    """A quality of service: its priority (Slurm's QOS Priority, normalised by the largest) and
    per-user limits (0: no limit): running jobs, GPUs held, and the longest time limit."""

    name: str
    priority: int = 0
    max_jobs_per_user: int = 0
    max_gpus_per_user: int = 0
    max_wall_s: float = INF


@dataclass(frozen=True)
class PriorityConfig:
    """Slurm's multifactor priority settings (``PriorityWeight*``, ``PriorityDecayHalfLife``,
    ``PriorityMaxAge``, ``PriorityCalcPeriod``, ``PriorityFavorSmall``, fair-share algorithm and
    each account's shares; accounts not listed get 1 share)."""

    weight_age: float = 0.0
    weight_fairshare: float = 0.0
    weight_job_size: float = 0.0
    weight_partition: float = 0.0
    weight_qos: float = 0.0
    weight_assoc: float = 0.0
    decay_half_life_s: float = 7 * 86400.0
    max_age_s: float = 7 * 86400.0
    calc_period_s: float = 300.0
    favor_small: bool = False
    fairshare: FairShare = FairShare.FAIR_TREE
    shares: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, eq=False)
class Cluster:
    """A validated machine (build it with :func:`build_cluster`).

    Per-node arrays (one entry per node, in the order the node types list them): ``node_names``,
    ``node_type`` (index into ``node_types``), ``cpus``, ``gpus``, ``mem_mib`` (int64) and
    ``gpu_type`` (index into ``gpu_types``, -1 for none)."""

    name: str
    node_types: tuple[NodeType, ...]
    partitions: tuple[Partition, ...]
    qos: tuple[QOS, ...]
    priority: PriorityConfig
    allocation: Allocation
    select: NodeSelect
    cpu_unit: int
    gpu_unit: int
    node_names: tuple[str, ...] = field(repr=False)
    node_type: np.ndarray = field(repr=False)
    cpus: np.ndarray = field(repr=False)
    gpus: np.ndarray = field(repr=False)
    mem_mib: np.ndarray = field(repr=False)
    gpu_type: np.ndarray = field(repr=False)
    gpu_types: tuple[str, ...] = ()
    source: str = ""
    #: what the reader assumed or ignored (e.g. "QOS 'long' named by a partition: defined with
    #: priority 0"), shown by ``schedlab cluster show``
    notes: tuple[str, ...] = ()

    @property
    def n_nodes(self) -> int:
        return len(self.node_names)

    def partition(self, name: str) -> Partition:
        for p in self.partitions:
            if p.name == name:
                return p
        raise ClusterError(f"no partition {name!r} in {self.name} (partitions: {', '.join(self.partition_names)})")

    @property
    def partition_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.partitions)

    @property
    def default_partition(self) -> Partition:
        return next((p for p in self.partitions if p.default), self.partitions[0])

    def qos_named(self, name: str) -> QOS:
        for q in self.qos:
            if q.name == name:
                return q
        raise ClusterError(f"no QOS {name!r} in {self.name} (QOS: {', '.join(q.name for q in self.qos) or 'none'})")

    def totals(self) -> dict:
        """Whole-machine capacity: nodes, CPUs, GPUs (in whole units) and memory (MiB)."""
        return {
            "nodes": self.n_nodes,
            "cpus": int(self.cpus.sum()) / self.cpu_unit,
            "gpus": int(self.gpus.sum()) / self.gpu_unit,
            "mem_mib": int(self.mem_mib.sum()),
        }

    def partition_mask(self) -> np.ndarray:
        """(partitions, nodes) bool: which nodes each partition holds."""
        m = np.zeros((len(self.partitions), self.n_nodes), dtype=np.bool_)
        for i, p in enumerate(self.partitions):
            m[i, list(p.nodes)] = True
        return m


def default_host_names(type_name: str, count: int) -> list[str]:
    """Host names of a node type that lists none: ``NAME0001``, ``NAME0002``, ..."""
    return [f"{type_name}{i + 1:04d}" for i in range(count)]


def _name(what: str, value, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME or not value.isprintable():
        raise ClusterError(f"{where}: {what} must be a printable name of 1..{MAX_NAME} characters, got {value!r}")
    return value


def _count(what: str, value, where: str, lo: int = 0, hi: int = MAX_PER_NODE) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not lo <= int(value) <= hi:
        raise ClusterError(f"{where}: {what} must be a whole number in [{lo}, {hi:,}], got {value!r}")
    return int(value)


def _seconds(what: str, value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (value > 0) or math.isnan(value):
        raise ClusterError(f"{where}: {what} must be a positive number of seconds (or unlimited), got {value!r}")
    return float(value)


def _node_arrays(node_types: list[NodeType], where: str) -> dict:
    """The per-node arrays of ``node_types`` (checked), as :class:`Cluster` fields."""
    names: list[str] = []
    kinds, cpus, gpus, mem, gtype = [], [], [], [], []
    gpu_types: list[str] = []
    seen_types: set[str] = set()
    for k, nt in enumerate(node_types):
        w = f"{where}: node type {nt.name!r}"
        _name("node type name", nt.name, where)
        if nt.name in seen_types:
            raise ClusterError(f"{w} is defined twice")
        seen_types.add(nt.name)
        count = _count("count", nt.count, w, 1, MAX_NODES)
        if len(names) + count > MAX_NODES:
            raise ClusterError(f"{where}: more than {MAX_NODES:,} nodes")
        c = _count("cpus", nt.cpus, w, 1)
        g = _count("gpus", nt.gpus, w)
        m = _count("memory (MiB)", nt.mem_mib, w)
        if nt.gpu_type and g == 0:
            raise ClusterError(f"{w} names a GPU type but has no GPUs")
        if nt.gpu_type:
            _name("GPU type", nt.gpu_type, w)
            if nt.gpu_type not in gpu_types:
                gpu_types.append(nt.gpu_type)
        hosts = list(nt.names) or default_host_names(nt.name, count)
        if len(hosts) != count:
            raise ClusterError(f"{w} has {count} nodes but {len(hosts)} host names")
        names.extend(_name("host name", h, w) for h in hosts)
        kinds += [k] * count
        cpus += [c] * count
        gpus += [g] * count
        mem += [m] * count
        gtype += [gpu_types.index(nt.gpu_type) if nt.gpu_type else -1] * count
    if len(set(names)) != len(names):
        seen: set[str] = set()
        dup = next(h for h in names if h in seen or seen.add(h))  # linear: a late duplicate is cheap
        raise ClusterError(f"{where}: host {dup!r} is defined twice")
    return {
        "node_names": tuple(names),
        "node_type": np.asarray(kinds, dtype=np.int64),
        "cpus": np.asarray(cpus, dtype=np.int64),
        "gpus": np.asarray(gpus, dtype=np.int64),
        "mem_mib": np.asarray(mem, dtype=np.int64),
        "gpu_type": np.asarray(gtype, dtype=np.int64),
        "gpu_types": tuple(gpu_types),
    }


def _check_qos(qos: list[QOS], where: str) -> list[str]:
    """The QOS names, each QOS checked."""
    qnames = [_name("QOS name", q.name, where) for q in qos]
    if len(set(qnames)) != len(qnames):
        raise ClusterError(f"{where}: a QOS is defined twice")
    for q in qos:
        w = f"{where}: QOS {q.name!r}"
        _count("priority", q.priority, w, 0, 2**32)
        _count("max jobs per user", q.max_jobs_per_user, w, 0, MAX_NODES * 1000)
        _count("max GPUs per user", q.max_gpus_per_user, w, 0, MAX_PER_NODE)
        if q.max_wall_s != INF:
            _seconds("max wall time", q.max_wall_s, w)
    return qnames


_PARTITION_SETTINGS = {"max_time_s", "max_nodes", "default", "priority_tier", "priority_job_factor", "allow_qos", "qos"}


def _partition(d: dict, index: dict[str, int], qnames: list[str], where: str) -> Partition:
    """One partition dict (see :func:`build_cluster`) as a checked :class:`Partition`."""
    d = dict(d)
    pname = _name("partition name", d.pop("name", None), where)
    w = f"{where}: partition {pname!r}"
    hosts = d.pop("nodes", None)
    if hosts == "ALL":
        idx = tuple(range(len(index)))
    elif isinstance(hosts, list | tuple) and hosts:
        missing = [h for h in hosts if h not in index]
        if missing:
            raise ClusterError(f"{w} names unknown node(s) {', '.join(map(str, missing[:3]))}")
        idx = tuple(sorted({index[h] for h in hosts}))
    else:
        raise ClusterError(f"{w} must list its nodes")
    unknown = set(d) - _PARTITION_SETTINGS
    if unknown:
        raise ClusterError(f"{w}: unknown setting(s) {', '.join(sorted(unknown))}")
    part = Partition(name=pname, nodes=idx, **d)
    if part.max_time_s != INF:
        _seconds("max time", part.max_time_s, w)
    _count("max nodes", part.max_nodes, w, 0, MAX_NODES)
    _count("priority tier", part.priority_tier, w, 0, 65533)
    _count("priority job factor", part.priority_job_factor, w, 0, 65533)
    for q in (*part.allow_qos, *([part.qos] if part.qos else [])):
        if q not in qnames:
            raise ClusterError(f"{w} names unknown QOS {q!r}")
    if not isinstance(part.default, bool):
        raise ClusterError(f"{w}: default must be true or false")
    return part


def _check_priority(prio: PriorityConfig, where: str) -> PriorityConfig:
    for f in ("weight_age", "weight_fairshare", "weight_job_size", "weight_partition", "weight_qos", "weight_assoc"):
        v = getattr(prio, f)
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 2**32:
            raise ClusterError(f"{where}: priority {f} must be a number in [0, 2^32], got {v!r}")
    for f in ("decay_half_life_s", "max_age_s", "calc_period_s"):
        _seconds(f"priority {f}", getattr(prio, f), where)
    prio = PriorityConfig(**{**prio.__dict__, "fairshare": choose(FairShare, prio.fairshare, "fair-share algorithm")})
    for acct, sh in prio.shares:
        _name("account", acct, where)
        if isinstance(sh, bool) or not isinstance(sh, int | float) or not 0 < sh < 2**32:
            raise ClusterError(f"{where}: shares of account {acct!r} must be a positive number, got {sh!r}")
    return prio


def build_cluster(
    name: str,
    node_types: list[NodeType],
    partitions: list[dict],
    qos: list[QOS] | None = None,
    priority: PriorityConfig | None = None,
    allocation: str = "exclusive",
    select: str = "first-fit",
    cpu_unit: int = 1,
    gpu_unit: int = 1,
    source: str = "",
    notes: tuple[str, ...] = (),
) -> Cluster:
    """A validated :class:`Cluster`.

    ``partitions``: dicts with ``name`` and ``nodes`` (host names, or ``"ALL"``) and optional
    Partition fields (``max_time_s``, ``max_nodes``, ``default``, ``priority_tier``,
    ``priority_job_factor``, ``allow_qos``, ``qos``).  No partition given: one partition ``all``
    holding every node.  Errors name ``source`` (the file) and the entry."""
    where = source or name
    _name("cluster name", name, where)
    if not node_types:
        raise ClusterError(f"{where}: no nodes")
    arrays = _node_arrays(node_types, where)
    index = {h: i for i, h in enumerate(arrays["node_names"])}
    qos = list(qos or [])
    qnames = _check_qos(qos, where)
    parts = [
        _partition(d, index, qnames, where) for d in partitions or [{"name": "all", "nodes": "ALL", "default": True}]
    ]
    if len({p.name for p in parts}) != len(parts):
        raise ClusterError(f"{where}: a partition is defined twice")
    if sum(p.default for p in parts) > 1:
        raise ClusterError(f"{where}: more than one default partition")
    prio = _check_priority(priority or PriorityConfig(), where)
    for unit, what in ((cpu_unit, "cpu_unit"), (gpu_unit, "gpu_unit")):
        if unit not in (1, 1000):
            raise ClusterError(f"{where}: {what} must be 1 (whole units) or 1000 (milli-units), got {unit!r}")
    return Cluster(
        name=name,
        node_types=tuple(node_types),
        partitions=tuple(parts),
        qos=tuple(qos),
        priority=prio,
        allocation=choose(Allocation, allocation, "allocation mode"),
        select=choose(NodeSelect, select, "node selection"),
        cpu_unit=cpu_unit,
        gpu_unit=gpu_unit,
        source=source,
        notes=tuple(notes),
        **arrays,
    )


def single_resource(max_procs: int, max_nodes: int, name: str = "swf") -> Cluster:
    """The degenerate machine of an SWF trace: ``max_nodes`` nodes of ``max_procs / max_nodes``
    processors (at least 1), one partition."""
    nodes = max(1, int(max_nodes))
    per = max(1, int(max_procs) // nodes)
    return build_cluster(name, [NodeType("node", nodes, per)], [])


__all__ = [
    "QOS",
    "Cluster",
    "ClusterError",
    "NodeType",
    "Partition",
    "PriorityConfig",
    "build_cluster",
    "default_host_names",
    "single_resource",
]
