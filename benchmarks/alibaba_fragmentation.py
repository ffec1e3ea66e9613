"""GPU fragmentation of first-fit against best-fit on the Alibaba GPU cluster's own pods and nodes.

    .venv/bin/python benchmarks/alibaba_fragmentation.py   # results/alibaba_fragmentation.{json,png}

The pod list (``../shared/data/alibaba_openb2023/openb_pod_list_default.csv.gz``) is a snapshot:
its pods were alive together on the 1,523-node cluster of ``openb_node_list_all_node.csv.gz``
(CPUs in milli, shared fractional GPUs).  Their recorded creation times span months and most pods
outlive the capture, so a replay on the recorded times never loads the machine (utilisation
<1%).  This study fills it instead, as Weng et al. (ATC'23, "Beware of Fragmentation") do: the
pods arrive one a millisecond in creation order (the machine fills before any ends), keep their
recorded runtimes, FCFS + EASY, shared (cons_tres-like) allocation, and the machine is sampled as
it fills.  Reported per node-selection
rule, at the moment the last pod has arrived: GPUs allocated, GPUs fragmented (idle on a node
that runs some pod, the per-node form of the paper's measure), pods still waiting, and the
mean wait of all pods; the plot shows fragmented GPUs against allocated GPUs as the machine fills.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from schedlab.cluster import load_cluster
from schedlab.report.figures import pyplot, save_figure
from schedlab.report.outputs import write_json
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "alibaba_openb2023"
OUT = ROOT / "benchmarks" / "results"
GAP = 0.001  # seconds between arrivals: the machine fills before pods end


def _sweep(res, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(GPUs allocated, GPUs idle on busy nodes) at each sample time, in cluster GPU units."""
    m = res.extra["multires"]
    prep, alloc, off, cluster = m["prepared"], m["alloc"], m["off"], m["cluster"]
    J = len(res.start)
    times = np.concatenate([res.start, res.end])
    sign = np.concatenate([np.ones(J, dtype=np.int64), -np.ones(J, dtype=np.int64)])
    order = np.lexsort((sign, times))
    node_gpus = cluster.gpus.astype(np.int64)
    busy, used = np.zeros(len(node_gpus), dtype=np.int64), np.zeros(len(node_gpus), dtype=np.int64)
    alloc_out, frag_out = np.zeros(len(samples)), np.zeros(len(samples))
    allocated, frag, s = 0, 0, 0
    for k in order:
        while s < len(samples) and samples[s] < times[k]:
            alloc_out[s], frag_out[s] = allocated, frag
            s += 1
        if s == len(samples):
            break
        j = k % J
        for q in range(off[j], off[j + 1]):
            n = alloc[q]
            before = node_gpus[n] - used[n] if busy[n] else 0
            busy[n] += sign[k]
            used[n] += sign[k] * prep.req[j, 1]
            allocated += sign[k] * prep.req[j, 1]
            frag += (node_gpus[n] - used[n] if busy[n] else 0) - before
    alloc_out[s:], frag_out[s:] = allocated, frag
    return alloc_out, frag_out


def main() -> None:
    cluster = load_cluster(DATA / "openb_node_list_all_node.csv.gz")
    pods = load_trace(DATA / "openb_pod_list_default.csv.gz")
    pods = replace(pods, submit=np.arange(len(pods)) * GAP, name=f"alibaba pods, one per {GAP} s")
    total = float(cluster.gpus.sum())
    last = float(pods.submit[-1])
    samples = np.linspace(0, last, 400)
    rows, curves = [], {}
    for sel in ("first-fit", "best-fit"):
        res = simulate(pods, SimConfig(cluster=cluster, node_select=sel, allocation="shared"))
        a, f = _sweep(res, np.append(samples, last + GAP / 2))
        waiting = int((res.start > last).sum())
        rows.append({
            "select": sel, "pods": len(res.start), "gpus_allocated_share": a[-1] / total,
            "gpus_fragmented_share": f[-1] / total, "fragmented_of_idle": f[-1] / max(total - a[-1], 1.0),
            "pods_waiting_after_arrivals": waiting, "mean_wait_s": float((res.start - res.workload.submit).mean()),
            "engine_seconds": res.sim_seconds,
        })  # fmt: skip
        curves[sel] = (a[:-1] / total, f[:-1] / total)
        print(f"{sel:<10} allocated {a[-1] / total:6.1%}  fragmented {f[-1] / total:6.1%}  "
              f"waiting {waiting:5,}  mean wait {rows[-1]['mean_wait_s']:9.1f} s")  # fmt: skip
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for sel, (a, f) in curves.items():
        ax.plot(a * 100, f * 100, label=sel)
    ax.set_xlabel("GPUs allocated (% of the cluster's)")
    ax.set_ylabel("GPUs fragmented (% idle on busy nodes)")
    ax.set_title("Alibaba GPU cluster filling with its own pods")
    ax.legend()
    save_figure(fig, OUT / "alibaba_fragmentation.png")
    write_json(OUT / "alibaba_fragmentation.json", {"rows": rows, "nodes": len(cluster.gpus), "gpus": total / 1000})
    print(f"wrote {OUT / 'alibaba_fragmentation.json'} and .png")


if __name__ == "__main__":
    main()
