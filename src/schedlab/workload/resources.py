"""Multi-resource job requests: the columns a ``Workload`` carries beside SWF's processors.

A job asks for ``nodes`` nodes, each with ``cpus_per_node`` CPUs, ``gpus_per_node`` GPUs
(optionally of one ``gpu_type``) and ``mem_per_node`` MiB, in a ``partition`` under a ``qos``,
charged to an ``account``.  String columns are codes into a tuple of names (``-1``: not given:
the default partition, no QOS, no account, any GPU type).  Values are in whole CPUs and GPUs
(fractions allowed: the Alibaba pod list shares GPUs); the simulator converts them to the
cluster's units (:attr:`schedlab.cluster.Cluster.cpu_unit`) rounding up.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from schedlab.errors import SchedlabError

NUMERIC = ("nodes", "cpus_per_node", "gpus_per_node", "mem_per_node", "nice")
CODED = ("partition", "qos", "account", "gpu_type")
COLUMNS = NUMERIC + CODED
#: per-node requests above this are refused (no node has 10^9 CPUs, GPUs or MiB)
MAX_REQUEST = 1e9


@dataclass(frozen=True, eq=False)
class JobResources:
    """One array per column (same length as the workload), plus the names behind each code column.

    nodes          nodes the job uses (int64, >= 1)
    cpus_per_node  CPUs on each of them (float64, > 0)
    gpus_per_node  GPUs on each (float64, >= 0; fractions share a GPU)
    mem_per_node   memory on each, MiB (float64, >= 0; 0: not stated)
    nice           Slurm nice value (int64; lowers priority)
    partition, qos, account, gpu_type   int64 codes into ``names[column]``; -1: not given
    """

    nodes: np.ndarray
    cpus_per_node: np.ndarray
    gpus_per_node: np.ndarray
    mem_per_node: np.ndarray
    nice: np.ndarray
    partition: np.ndarray
    qos: np.ndarray
    account: np.ndarray
    gpu_type: np.ndarray
    names: dict  # column -> tuple of names

    def __post_init__(self) -> None:
        n = len(self.nodes)
        for c in COLUMNS:
            if len(getattr(self, c)) != n:
                raise SchedlabError(f"job resource column {c} has {len(getattr(self, c))} rows, expected {n}")
        if n and (self.nodes.min() < 1 or (self.cpus_per_node <= 0).any()):
            raise SchedlabError("every job needs at least one node and more than 0 CPUs per node")
        for c in ("cpus_per_node", "gpus_per_node", "mem_per_node"):
            a = getattr(self, c)
            if n and (not np.isfinite(a).all() or (a < 0).any() or (a > MAX_REQUEST).any()):
                raise SchedlabError(f"job resource column {c} must hold finite values in [0, {MAX_REQUEST:g}]")
        for c in CODED:
            codes = getattr(self, c)
            k = len(self.names.get(c, ()))
            if n and (codes.min() < -1 or codes.max() >= k):
                raise SchedlabError(f"job resource column {c} holds codes outside its {k} names")

    def __len__(self) -> int:
        return len(self.nodes)

    def take(self, index) -> JobResources:
        """The rows ``index`` selects (a slice, an index array or a mask), names kept."""
        return replace(self, **{c: np.array(getattr(self, c)[index]) for c in COLUMNS})

    def label(self, column: str, code: int) -> str:
        """The name behind ``code`` in a coded column ('' for -1)."""
        return "" if code < 0 else self.names[column][code]

    def code(self, column: str, name: str) -> int:
        """The code of ``name`` in a coded column, -1 if the column does not hold it."""
        names = self.names.get(column, ())
        return names.index(name) if name in names else -1

    @classmethod
    def build(cls, n: int, **columns) -> JobResources:
        """Columns given as arrays (numeric) or sequences of strings (coded: '' or None means not
        given); missing columns take their defaults (1 node, 1 CPU, no GPU, no memory, nice 0)."""
        out: dict = {}
        names: dict = {}
        defaults = {"nodes": 1, "cpus_per_node": 1.0, "gpus_per_node": 0.0, "mem_per_node": 0.0, "nice": 0}
        for c in NUMERIC:
            dtype = np.int64 if c in ("nodes", "nice") else np.float64
            v = columns.pop(c, None)
            out[c] = np.full(n, defaults[c], dtype=dtype) if v is None else np.asarray(v, dtype=dtype)
        for c in CODED:
            v = columns.pop(c, None)
            if v is None:
                out[c], names[c] = np.full(n, -1, dtype=np.int64), ()
                continue
            strs = np.asarray(["" if x is None else str(x) for x in v], dtype=object)
            uniq = tuple(sorted({s for s in strs if s}))
            lookup = {s: i for i, s in enumerate(uniq)}
            out[c] = np.fromiter((lookup.get(s, -1) for s in strs), dtype=np.int64, count=n)
            names[c] = uniq
        if columns:
            raise SchedlabError(f"unknown job resource column(s) {', '.join(sorted(columns))}")
        return cls(**out, names=names)

    def to_columns(self) -> dict[str, np.ndarray]:
        """Plain columns for a table: numbers as they are, coded columns as strings."""
        cols = {c: getattr(self, c) for c in NUMERIC}
        for c in CODED:
            names = np.asarray(("", *self.names.get(c, ())), dtype=object)
            cols[c] = names[getattr(self, c) + 1]
        return cols


__all__ = ["CODED", "COLUMNS", "NUMERIC", "JobResources"]
