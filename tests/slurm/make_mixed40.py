"""Writes mixed40.csv, the 40-job trace of the replay-parity test: CPU and GPU jobs of five users in
two partitions (cpu: 1 or 2 nodes, 1-8 CPUs per node, limits 1 or 2 h; gpu: 1 node, 1-4 CPUs and
1-2 GPUs, limit 1 h), runtimes 5-25 min, submitted over 50 min.  Run: python make_mixed40.py OUT.csv"""

from __future__ import annotations

import csv
import sys

import numpy as np


def mixed_trace(path: str, n: int = 40, seed: int = 7, span_min: int = 50) -> None:
    rng = np.random.default_rng(seed)
    submits = np.sort(rng.uniform(0, span_min * 60, n))
    submits -= submits[0]
    rows = []
    for i in range(n):
        if rng.random() < 0.4:
            nodes, cpn, gpn = 1, int(rng.choice([1, 2, 4])), int(rng.choice([1, 2]))
            part, limit = "gpu", 3600
        else:
            nodes = 2 if rng.random() < 0.2 else 1
            cpn, gpn = int(rng.choice([1, 2, 4, 8])), 0
            part, limit = "cpu", int(rng.choice([3600, 7200]))
        run = int(rng.integers(5, 26)) * 60
        t = 1_700_000_000 + int(submits[i])
        rows.append({
            "job_id": 1000 + i, "user": f"u{int(rng.integers(1, 6))}", "partition": part, "submit": t, "start": t,
            "end": t + run, "nodes": nodes, "cpus": cpn * nodes, "gpus": gpn * nodes, "time_limit": limit,
            "state": "COMPLETED",
        })  # fmt: skip
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


if __name__ == "__main__":
    mixed_trace(sys.argv[1])
