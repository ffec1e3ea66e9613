"""Small workloads built from arrays, for hand-computed and property tests."""

from __future__ import annotations

import numpy as np

from schedlab.workload.table import Workload


def make_workload(submit, run, procs, req_time=None, capacity=10, nodes=None, user=None, name="test") -> Workload:
    n = len(submit)
    submit = np.asarray(submit, dtype=np.float64)
    order = np.argsort(submit, kind="stable")
    req = np.asarray(run if req_time is None else req_time, dtype=np.float64)
    return Workload(
        name=name,
        job_id=np.arange(1, n + 1, dtype=np.int64)[order],
        submit=submit[order],
        run=np.asarray(run, dtype=np.float64)[order],
        req_time=req[order],
        procs=np.asarray(procs, dtype=np.int64)[order],
        user=(np.zeros(n, dtype=np.int64) if user is None else np.asarray(user, dtype=np.int64))[order],
        raw_submit=submit[order],
        status=np.ones(n, dtype=np.int64),
        max_procs=capacity,
        max_nodes=capacity if nodes is None else nodes,
    )


def two_partition_cluster(draw, types, n_cpu, n_gpu):
    """A hypothesis-drawn machine of ``types`` (CPU nodes, then GPU nodes when ``n_gpu``): partition
    ``all`` (default) over every node, ``gpu`` over the GPU nodes; allocation and selection drawn."""
    from hypothesis import strategies as st

    from schedlab.cluster import build_cluster

    names = [f"c{i + 1:04d}" for i in range(n_cpu)] + [f"g{i + 1:04d}" for i in range(n_gpu)]
    parts = [{"name": "all", "nodes": "ALL", "default": True}]
    if n_gpu:
        parts.append({"name": "gpu", "nodes": names[n_cpu:]})
    return build_cluster("rand", types, parts, allocation=draw(st.sampled_from(["shared", "exclusive"])),
                         select=draw(st.sampled_from(["first-fit", "best-fit"])))  # fmt: skip
