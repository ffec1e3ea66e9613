"""A documented, seeded generator of multi-resource requests for a single-resource trace.

``with_resources(workload, seed)`` gives each job of an SWF trace (processors only) a partition,
nodes, CPUs, GPUs and memory per node, and an account, for benchmarks and studies on machines
shaped like :file:`curie3.toml` (thin CPU nodes, fat large-memory nodes, hybrid GPU nodes).  The
job's processor count is kept: it decides the node count in the partition drawn for it.

Per job, with one ``numpy.random.default_rng(seed)`` stream:

* partition: ``hybrid`` with probability ``gpu_share`` if the job fits on the hybrid nodes
  (procs <= hybrid nodes x 8), else ``fat`` with probability ``bigmem_share`` if it fits on the
  fat nodes (procs <= fat nodes x 128), else ``thin``;
* nodes = ceil(procs / CPUs per node of the partition) (16 thin, 128 fat, 8 hybrid), CPUs per node
  = ceil(procs / nodes);
* memory per node: thin CPUs x {1000, 2000, 4000} MiB, fat {128, 256, 500} GiB, hybrid {8, 16,
  22} GiB (each value equally likely); GPUs per node: hybrid {1, 2}, else 0;
* account ``a<user mod 16>`` (``a0`` for unknown users).

The defaults give ~10% GPU jobs and ~5% large-memory jobs.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload

#: (name, CPUs per node, node count, memory choices in MiB, GPU choices): curie3.toml's partitions
PARTITIONS = {
    "thin": (16, 5040, None, (0,)),
    "fat": (128, 90, (131072, 262144, 512000), (0,)),
    "hybrid": (8, 144, (8192, 16384, 22528), (1, 2)),
}


def with_resources(workload: Workload, seed: int = 0, gpu_share: float = 0.10, bigmem_share: float = 0.05) -> Workload:
    """``workload`` with multi-resource requests drawn as the module docstring says."""
    if not (0 <= gpu_share <= 1 and 0 <= bigmem_share <= 1 and gpu_share + bigmem_share <= 1):
        raise SchedlabError("gpu_share and bigmem_share must be fractions summing to at most 1")
    rng = np.random.default_rng(seed)
    n = len(workload)
    procs = workload.procs.astype(np.int64)
    u = rng.random(n)
    part = np.full(n, "thin", dtype=object)
    gpu = (u < gpu_share) & (procs <= 144 * 8)
    fat = ~gpu & (u >= gpu_share) & (u < gpu_share + bigmem_share) & (procs <= 90 * 128)
    part[gpu], part[fat] = "hybrid", "fat"
    per = np.where(gpu, 8, np.where(fat, 128, 16))
    nodes = np.maximum(np.ceil(procs / per - 1e-9).astype(np.int64), 1)
    cpus = np.ceil(procs / nodes - 1e-9)
    pick = rng.integers(0, 3, size=n)
    mem = cpus * np.array([1000.0, 2000.0, 4000.0])[pick]
    mem[fat] = np.array(PARTITIONS["fat"][2], dtype=np.float64)[pick[fat]]
    mem[gpu] = np.array(PARTITIONS["hybrid"][2], dtype=np.float64)[pick[gpu]]
    gpus = np.where(gpu, rng.integers(1, 3, size=n), 0).astype(np.float64)
    user = workload.user
    account = np.array([f"a{x % 16}" if x >= 0 else "a0" for x in user], dtype=object)
    res = JobResources.build(
        n, nodes=nodes, cpus_per_node=cpus, gpus_per_node=gpus, mem_per_node=mem, partition=part, account=account
    )
    return replace(workload, resources=res, name=f"{workload.name}+resources(seed={seed})")


__all__ = ["PARTITIONS", "with_resources"]
