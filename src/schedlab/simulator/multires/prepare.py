"""A workload on a machine description, as the arrays the multi-resource kernel reads.

Each job's requests are converted to the machine's units (rounded up), its partition (the
default partition when it names none) and GPU type select its *pool* of nodes.  Jobs the machine
would refuse at submit are dropped and counted in the workload's cleaning report, never run
silently: an unknown partition, GPU type or QOS, more nodes than the partition's MaxNodes, a time
limit above the partition's MaxTime or the QOS's MaxWall, or a request no set of the pool's
nodes can hold even when the machine is empty.

A workload without multi-resource columns (an SWF trace) asks for ``procs`` processors: on a
cluster it is spread over ``ceil(procs / c)`` nodes of ``c`` CPUs (the smallest node of its
partition), ``ceil(procs / nodes)`` CPUs on each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from schedlab.cluster.model import Cluster
from schedlab.errors import SchedlabError
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload

#: memory of a node type that does not model it: any request fits
UNLIMITED_MEM = 2**50


@dataclass
class Prepared:
    """The kept jobs (``workload``) and the kernel's arrays (one row per kept job)."""

    workload: Workload
    nodes: np.ndarray  # int64
    req: np.ndarray  # (J, 3) int64 per node: CPU, GPU (cluster units), memory MiB
    pool: np.ndarray  # int64 pool of each job
    partition: np.ndarray  # int64 index into cluster.partitions
    qos: np.ndarray  # int64 index into cluster.qos, -1 none
    pool_ptr: np.ndarray
    pool_idx: np.ndarray
    np_ptr: np.ndarray
    np_idx: np.ndarray
    tot: np.ndarray  # (N, 3) int64


def _requests(wl: Workload, cluster: Cluster) -> JobResources:
    if wl.resources is not None:
        return wl.resources
    part = cluster.default_partition
    per = int(cluster.cpus[list(part.nodes)].min()) // cluster.cpu_unit or 1
    nodes = np.maximum(np.ceil(wl.procs / per - 1e-9).astype(np.int64), 1)
    return JobResources.build(len(wl), nodes=nodes, cpus_per_node=np.ceil(wl.procs / nodes - 1e-9))


def _codes(res: JobResources, column: str, known: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(index into ``known`` per job, -1 where not given; mask of jobs naming an unknown value)."""
    names = res.names.get(column, ())
    lookup = np.array([known.index(n) if n in known else -2 for n in names] + [-1], dtype=np.int64)
    idx = lookup[getattr(res, column)]  # code -1 reads the trailing -1
    return idx, idx == -2


def _pools(cluster: Cluster, part: np.ndarray, gtype: np.ndarray):
    """Pool per job for each (partition, GPU type) pair, and the CSR node lists both ways."""
    pairs, pool = np.unique(np.stack([part, gtype], axis=1), axis=0, return_inverse=True)
    members: list[np.ndarray] = []
    for p, g in pairs:
        nodes = np.asarray(cluster.partitions[p].nodes, dtype=np.int64)
        if g >= 0:
            nodes = nodes[cluster.gpu_type[nodes] == g]
        members.append(np.sort(nodes))
    pool_ptr = np.zeros(len(members) + 1, dtype=np.int64)
    pool_ptr[1:] = np.cumsum([len(m) for m in members])
    pool_idx = np.concatenate(members) if members else np.empty(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(members)), [len(m) for m in members])
    order = np.argsort(pool_idx, kind="stable")
    np_ptr = np.zeros(cluster.n_nodes + 1, dtype=np.int64)
    np.add.at(np_ptr, pool_idx + 1, 1)
    return np.asarray(pool, dtype=np.int64).ravel(), pool_ptr, pool_idx, np.cumsum(np_ptr), owner[order]


def _fits_empty(req, nodes, pool, pool_ptr, pool_idx, tot) -> np.ndarray:
    """Whether each job fits its pool on an empty machine (enough nodes each holding its share):
    counted once per distinct request of a pool."""
    ok = np.zeros(len(nodes), dtype=bool)
    for p in range(len(pool_ptr) - 1):
        jobs = np.flatnonzero(pool == p)
        if not len(jobs):
            continue
        cap = tot[pool_idx[pool_ptr[p] : pool_ptr[p + 1]]]  # (nodes of pool, 3)
        distinct, inverse = np.unique(req[jobs], axis=0, return_inverse=True)
        holding = np.empty(len(distinct), dtype=np.int64)
        for start in range(0, len(distinct), 256):  # bounded memory: 256 requests x pool nodes
            chunk = distinct[start : start + 256]
            holding[start : start + len(chunk)] = (cap[None, :, :] >= chunk[:, None, :]).all(axis=2).sum(axis=1)
        ok[jobs] = holding[inverse.reshape(-1)] >= nodes[jobs]
    return ok


def prepare(workload: Workload, cluster: Cluster) -> Prepared:
    """Validate and convert ``workload`` for ``cluster`` (dropped jobs counted, see the module)."""
    res = _requests(workload, cluster)
    report = replace(workload.cleaning, dropped=dict(workload.cleaning.dropped), notes=list(workload.cleaning.notes))
    keep = np.ones(len(workload), dtype=bool)
    part, bad = _codes(res, "partition", cluster.partition_names)
    report.drop_where(keep, bad, "in a partition the machine does not have")
    part[part < 0] = cluster.partitions.index(cluster.default_partition)
    gtype, bad = _codes(res, "gpu_type", cluster.gpu_types)
    report.drop_where(keep, bad, "asking for a GPU type the machine does not have")
    qos, bad = _codes(res, "qos", tuple(q.name for q in cluster.qos))
    report.drop_where(keep, bad, "in a QOS the machine does not define")
    max_nodes = np.array([p.max_nodes or np.iinfo(np.int64).max for p in cluster.partitions])
    report.drop_where(keep, res.nodes > max_nodes[part], "asking for more nodes than the partition's MaxNodes")
    max_time = np.array([p.max_time_s for p in cluster.partitions])
    report.drop_where(keep, workload.req_time > max_time[part], "with a time limit above the partition's MaxTime")
    if cluster.qos:
        wall = np.array([q.max_wall_s for q in cluster.qos] + [math.inf])
        report.drop_where(keep, workload.req_time > wall[qos], "with a time limit above the QOS's MaxWall")
    req = np.stack(
        [
            np.ceil(res.cpus_per_node * cluster.cpu_unit - 1e-9),
            np.ceil(res.gpus_per_node * cluster.gpu_unit - 1e-9),
            np.ceil(res.mem_per_node - 1e-9),
        ],
        axis=1,
    ).astype(np.int64)
    tot = np.stack([cluster.cpus, cluster.gpus, np.where(cluster.mem_mib > 0, cluster.mem_mib, UNLIMITED_MEM)], axis=1)
    tot = np.ascontiguousarray(tot, dtype=np.int64)
    pool, pool_ptr, pool_idx, np_ptr, np_idx = _pools(cluster, part, gtype)
    fits = _fits_empty(req, res.nodes, pool, pool_ptr, pool_idx, tot)
    report.drop_where(keep, ~fits, "asking for more than the partition's nodes can hold")
    kept = np.flatnonzero(keep)
    if not len(kept):
        why = "; ".join(f"{n:,} {reason}" for reason, n in report.dropped.items() if n)
        raise SchedlabError(f"no job of {workload.name} can run on {cluster.name}: dropped {why}")
    report.kept = len(kept)
    wl = workload.subset(kept, rebase=False) if len(kept) < len(workload) else workload
    wl = replace(wl, cleaning=report, resources=res.take(kept) if len(kept) < len(workload) else res)
    pool, pool_ptr, pool_idx, np_ptr, np_idx = _pools(cluster, part[kept], gtype[kept])  # only used pools
    return Prepared(
        workload=wl,
        nodes=np.ascontiguousarray(res.nodes[kept], dtype=np.int64),
        req=np.ascontiguousarray(req[kept]),
        pool=pool,
        partition=part[kept],
        qos=qos[kept],
        pool_ptr=pool_ptr,
        pool_idx=pool_idx,
        np_ptr=np_ptr,
        np_idx=np.asarray(np_idx, dtype=np.int64),
        tot=tot,
    )


__all__ = ["UNLIMITED_MEM", "Prepared", "prepare"]
