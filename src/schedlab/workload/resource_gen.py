"""A documented, seeded generator of multi-resource requests for a single-resource trace.

``with_resources(workload, seed)`` gives each job of an SWF trace (processors only) a partition,
nodes, CPUs, GPUs and memory per node, and an account, for benchmarks and studies on machines
shaped like :file:`curie3.toml` (thin CPU nodes, fat large-memory nodes, hybrid GPU nodes).  The
job's processor count is kept: it decides the node count in the partition drawn for it.

Per job, with one ``numpy.random.default_rng(seed)`` stream:

* partition wanted: ``hybrid`` with probability ``gpu_share`` if the job fits on the hybrid nodes
  (procs <= hybrid nodes x 8), else ``fat`` with probability ``bigmem_share`` if it fits on the fat
  nodes (procs <= fat nodes x 128), else ``thin``;
* nodes = ceil(procs / CPUs per node of the partition) (16 thin, 128 fat, 8 hybrid), CPUs per node
  = ceil(procs / nodes);
* memory per node: thin CPUs x {1000, 2000, 4000} MiB, fat {128, 256, 500} GiB, hybrid {8, 16,
  22} GiB (each value equally likely); GPUs per node: hybrid {1, 2}, else 0;
* load balance: a job's footprint is nodes x its largest share of a node (CPUs, GPUs or memory)
  x its runtime.  Taken in submit order, a job wanting ``hybrid`` or ``fat`` goes to ``thin``
  instead when its partition's recent footprint (submitted in about the last day: decayed by
  ``exp(-gap / DECAY_S)``), with it, would exceed ``HEADROOM`` (0.6) times the machine's recent
  footprint per node times the partition's node count: so no small partition is offered more
  load than the machine as a whole (drawing 10% of Curie's jobs onto its 144 GPU nodes would offer them
  120% load and grow an endless queue);
* account ``a<user mod 16>`` (``a0`` for unknown users).

With the defaults about 9% of CEA-Curie's jobs become GPU jobs and 5% large-memory jobs.
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
    pick = rng.integers(0, 3, size=n)
    ngpu = rng.integers(1, 3, size=n)
    want = np.where((u < gpu_share) & (procs <= 144 * 8), 2, 0)
    want[(want == 0) & (u >= gpu_share) & (u < gpu_share + bigmem_share) & (procs <= 90 * 128)] = 1
    code = _balance(want, procs, pick, ngpu, workload.run.astype(np.float64), workload.submit.astype(np.float64))
    part = np.array(["thin", "fat", "hybrid"], dtype=object)[code]
    nodes, cpus, mem, gpus = _shape(code, procs, pick, ngpu)
    user = workload.user
    account = np.array([f"a{x % 16}" if x >= 0 else "a0" for x in user], dtype=object)
    res = JobResources.build(
        n, nodes=nodes, cpus_per_node=cpus, gpus_per_node=gpus, mem_per_node=mem, partition=part, account=account
    )
    return replace(workload, resources=res, name=f"{workload.name}+resources(seed={seed})")


#: the load balance weighs the footprint of the last day or so (exponential decay, seconds)
DECAY_S = 86400.0
#: a small partition is offered at most this share of the machine's load per node (its queue is
#: short of nodes to absorb a burst: at the machine's load, CEA-Curie's GPU jobs waited ~6 h)
HEADROOM = 0.6
_CPN = np.array([16, 128, 8])  # CPUs per node: thin, fat, hybrid
_MEM = np.array([65536.0, 524288.0, 24576.0])  # MiB per node
_COUNT = np.array([5040, 90, 144])
_MEM_CHOICE = {c: np.array(PARTITIONS[name][2], dtype=np.float64) for c, name in ((1, "fat"), (2, "hybrid"))}


def _shape(code, procs, pick, ngpu):
    """Nodes, CPUs, memory and GPUs per node for partition codes (0 thin, 1 fat, 2 hybrid)."""
    per = _CPN[code]
    nodes = np.maximum(np.ceil(procs / per - 1e-9).astype(np.int64), 1)
    cpus = np.ceil(procs / nodes - 1e-9)
    mem = cpus * np.array([1000.0, 2000.0, 4000.0])[pick]
    for c, choice in _MEM_CHOICE.items():
        mem[code == c] = choice[pick[code == c]]
    gpus = np.where(code == 2, ngpu, 0).astype(np.float64)
    return nodes, cpus, mem, gpus


def _footprint(code, procs, pick, ngpu, run):
    nodes, cpus, mem, gpus = _shape(code, procs, pick, ngpu)
    share = np.maximum(np.maximum(cpus / _CPN[code], mem / _MEM[code]), gpus / 2.0)
    return nodes * np.minimum(share, 1.0) * np.maximum(run, 0.0)


def _balance(want, procs, pick, ngpu, run, submit):
    """Partition codes after the load balance of the module docstring (submit order)."""
    fp_want = _footprint(want, procs, pick, ngpu, run)
    fp_thin = _footprint(np.zeros_like(want), procs, pick, ngpu, run)
    code = want.copy()
    used = np.zeros(3)
    per_node = _COUNT.sum()
    for j in range(len(want)):
        if j:
            used *= np.exp(-max(submit[j] - submit[j - 1], 0.0) / DECAY_S)
        c = want[j]
        if c and (used[c] + fp_want[j]) / _COUNT[c] > HEADROOM * (used.sum() + fp_want[j]) / per_node:
            c = code[j] = 0
        used[c] += fp_want[j] if c else fp_thin[j]
    return code


__all__ = ["PARTITIONS", "with_resources"]
