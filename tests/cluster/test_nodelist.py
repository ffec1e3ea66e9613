"""The Alibaba GPU cluster's node list: the real file (when shared/data has it) and hand-made rows."""

from __future__ import annotations

import csv
import gzip

import pytest

from schedlab.cluster import load_cluster
from schedlab.cluster.model import ClusterError
from schedlab.cluster.nodelist import read_node_list
from schedlab.datasets import DataNotFound, find_dataset
from schedlab.options import Allocation

NODE_LIST = "openb_node_list_all_node.csv.gz"
try:
    ALIBABA = find_dataset("alibaba_openb2023", [NODE_LIST]) / NODE_LIST
except DataNotFound:
    ALIBABA = None
needs_data = pytest.mark.skipif(ALIBABA is None, reason="Alibaba node list (shared/data/alibaba_openb2023) not found")

HEADER = "sn,cpu_milli,memory_mib,gpu,model\n"


@needs_data
def test_the_real_node_list():
    c = load_cluster(ALIBABA)  # recognised by its header
    with gzip.open(ALIBABA, "rt") as f:
        rows = list(csv.DictReader(f))
    assert c.n_nodes == len(rows) == 1523
    assert c.cpu_unit == c.gpu_unit == 1000 and c.allocation is Allocation.SHARED
    assert sorted(c.node_names) == sorted(r["sn"] for r in rows)
    by_name = {r["sn"]: r for r in rows}
    for i in (0, 700, 1522):
        r = by_name[c.node_names[i]]
        assert c.cpus[i] == int(r["cpu_milli"]) and c.mem_mib[i] == int(r["memory_mib"])
        assert c.gpus[i] == 1000 * int(r["gpu"])
    assert c.totals()["gpus"] == sum(int(r["gpu"]) for r in rows)
    assert c.totals()["cpus"] == sum(int(r["cpu_milli"]) for r in rows) / 1000
    groups = {(r["cpu_milli"], r["memory_mib"], r["gpu"], r["model"]) for r in rows}
    assert len(c.node_types) == len(groups) == 27
    assert set(c.gpu_types) == {r["model"] for r in rows if r["gpu"] != "0"}
    assert [p.name for p in c.partitions] == ["all"] and len(c.partitions[0].nodes) == 1523


def test_small_list_by_hand(tmp_path):
    f = tmp_path / "nodes.csv"
    f.write_text(HEADER + "a0,32000,262144,0,\na1,96000,393216,8,G2\na2,32000,262144,0,\na3,96000,393216,8,G2\n")
    c = load_cluster(f)
    assert [(nt.count, nt.cpus, nt.gpus, nt.gpu_type, nt.mem_mib) for nt in c.node_types] == [
        (2, 32000, 0, "", 262144), (2, 96000, 8000, "G2", 393216),
    ]  # fmt: skip
    assert [nt.name for nt in c.node_types] == ["cpu-32c-256g", "G2x8-96c-384g"]
    assert c.node_names == ("a0", "a2", "a1", "a3")  # grouped by type, in order of first appearance
    assert c.totals() == {"nodes": 4, "cpus": 256.0, "gpus": 16.0, "mem_mib": 2 * 262144 + 2 * 393216}


@pytest.mark.parametrize(
    "rows, message",
    [
        ("a0,-1,100,0,\n", "line 2: cpu_milli must be a whole number"),
        ("a0,nan,100,0,\n", "cpu_milli must be a whole number"),
        ("a0,1000,inf,0,\n", "memory_mib must be a whole number"),
        ("a0,1000,100,1.5,T4\n", "gpu must be a whole number"),
        ("a0,1000,100,99999999,T4\n", "gpu must be a whole number in [0, 1,000,000]"),
        ("a0,1e300,100,0,\n", "cpu_milli must be a whole number"),
        ("a0,0,100,0,\n", "cpu_milli must be positive"),
        ("a0,1000,100,0\n", "4 fields, the header has 5"),
        (",1000,100,0,\n", "sn (the node's name) is empty"),
        ("a0,1000,100,0,\na0,1000,100,0,\n", "host 'a0' is defined twice"),
        ("", "has no rows"),
    ],
)
def test_bad_rows(tmp_path, rows, message):
    f = tmp_path / "nodes.csv"
    f.write_text(HEADER + rows)
    with pytest.raises(ClusterError) as err:
        read_node_list(f)
    assert message in str(err.value) and str(f) in str(err.value)


def test_not_a_node_list_and_broken_gzip(tmp_path):
    f = tmp_path / "other.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(ClusterError, match="not the Alibaba node list"):
        read_node_list(f)
    g = tmp_path / "nodes.csv.gz"
    g.write_bytes(gzip.compress((HEADER + "a0,1000,100,0,\n").encode())[:30])
    with pytest.raises(ClusterError, match="cannot be read"):
        read_node_list(g)


@needs_data
def test_pod_list_replays_on_its_own_cluster_first_and_best_fit():
    """Every scheduled pod runs on the 1,523 nodes with its QoS class kept; no node is overcommitted."""
    from dataclasses import replace

    import numpy as np

    from schedlab.metrics.resources import resource_metrics
    from schedlab.simulator import SimConfig, simulate
    from schedlab.workload import load_trace

    c = load_cluster(ALIBABA)
    assert [q.name for q in c.qos] == ["BE", "Burstable", "Guaranteed", "LS"]
    pods = load_trace(ALIBABA.parent / "openb_pod_list_default.csv.gz")
    pods = replace(pods, submit=np.arange(len(pods)) * 0.001)  # the machine fills before pods end
    for sel in ("first-fit", "best-fit"):
        res = simulate(pods, SimConfig(cluster=c, node_select=sel))
        assert res.workload.cleaning.kept == len(res.start) == 7255
        assert np.all(res.start >= res.workload.submit)
        m = res.extra["multires"]
        prep, alloc, off = m["prepared"], m["alloc"], m["off"]
        t = float(pods.submit[-1]) + 0.0005  # every pod has arrived: check the packing then
        live = np.flatnonzero((res.start <= t) & (res.start + res.run > t))
        held = np.zeros((c.n_nodes, 3), dtype=np.int64)
        for j in live:
            np.add.at(held, alloc[off[j] : off[j + 1]], prep.req[j])
        assert np.all(held <= prep.tot)
        assert held[:, 1].sum() > 0.8 * c.gpus.sum()  # the cluster is nearly full of GPU pods
        per_qos = resource_metrics(res)["per_qos"]
        assert set(per_qos) == {"BE", "Burstable", "Guaranteed", "LS"}
