"""The slurm.conf reader: a realistic file checked by hand, every time format, the GRES forms,
DEFAULT lines, continuations, and bad files as one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from schedlab.cluster.fields import format_slurm_time, slurm_seconds
from schedlab.cluster.model import ClusterError
from schedlab.cluster.slurmconf import read_slurm_conf
from schedlab.options import Allocation, FairShare

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cluster"


def conf(tmp_path, text: str, name: str = "slurm.conf"):
    f = tmp_path / name
    f.write_text(text)
    return read_slurm_conf(f)


def test_site_conf_by_hand():
    c = read_slurm_conf(FIXTURES / "slurm.conf")
    assert c.name == "tinkerbell" and c.allocation is Allocation.SHARED  # ClusterName lower-cased
    cn, gpu, big = c.node_types
    # cn[001-100] and cn[101-120] describe the same hardware: one type; 2 sockets x 16 cores x 2 threads
    assert (cn.name, cn.count, cn.cpus, cn.gpus, cn.mem_mib) == ("cn", 120, 64, 0, 257000)
    assert cn.features == ("cpu", "milan") and cn.names[0] == "cn001" and cn.names[-1] == "cn120"
    # CPUs= wins over the DEFAULT sockets; Gres with a socket binding and another GRES; continued line
    assert (gpu.count, gpu.cpus, gpu.gpus, gpu.gpu_type, gpu.mem_mib) == (8, 64, 4, "a100", 515000)
    assert gpu.features == ("gpu", "a100")
    # Boards=2 x SocketsPerBoard=2 x 8 cores x 1 thread; untyped gpu:2
    assert (big.count, big.cpus, big.gpus, big.gpu_type, big.mem_mib) == (1, 32, 2, "", 2_000_000)
    assert c.totals() == {"nodes": 129, "cpus": 120 * 64 + 8 * 64 + 32.0, "gpus": 34.0, "mem_mib": 36_960_000}
    batch, gpup, debug, long = c.partitions  # "empty" has no nodes: left out (noted)
    assert batch.nodes == tuple(range(120)) and batch.max_time_s == 86400  # from PartitionName=DEFAULT
    assert batch.default and batch.max_nodes == 64 and batch.allow_qos == ("normal", "long")
    assert gpup.nodes == tuple(range(120, 128))  # NodeSet=gpuset Feature=gpu
    assert gpup.max_time_s == 2 * 86400 + 12 * 3600 and gpup.max_nodes == 0 and gpup.priority_job_factor == 5
    assert gpup.qos == "gpu_part"
    assert debug.nodes == (0, 1, 2, 3, 120) and debug.max_time_s == 30 * 60 and debug.priority_tier == 10
    assert long.nodes == tuple(range(129)) and long.max_time_s == math.inf
    assert (long.priority_tier, long.priority_job_factor) == (3, 3)  # the older Priority= sets both
    assert [q.name for q in c.qos] == ["normal", "long", "gpu_part"] and all(q.priority == 0 for q in c.qos)
    p = c.priority
    assert (p.weight_age, p.weight_fairshare, p.weight_job_size, p.weight_partition, p.weight_qos) == (
        1000, 10000, 500, 2000, 3000,
    )  # fmt: skip
    assert p.decay_half_life_s == 14 * 86400 and p.max_age_s == 36 * 3600 and p.calc_period_s == 120
    assert p.favor_small and p.fairshare is FairShare.CLASSIC
    notes = " | ".join(c.notes)
    assert "Include /etc/slurm/site-local.conf not followed" in notes
    assert "partition 'empty' lists no nodes" in notes
    assert "QOS normal, long, gpu_part named by partitions" in notes
    assert "SMALL_RELATIVE_TO_TIME" in notes
    assert "9 settings not modelled were ignored: State (2), SlurmctldHost" in notes


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("UNLIMITED", math.inf),
        ("infinite", math.inf),
        ("90", 90 * 60),  # minutes
        ("5:30", 5 * 60 + 30),  # MM:SS
        ("1:02:03", 3723),  # HH:MM:SS
        ("2-0", 2 * 86400),  # D-HH
        ("2-5", 2 * 86400 + 5 * 3600),
        ("1-02:30", 86400 + 2 * 3600 + 30 * 60),  # D-HH:MM
        ("1-02:30:15", 86400 + 2 * 3600 + 30 * 60 + 15),  # D-HH:MM:SS
        ("0", 0),
    ],
)
def test_every_slurm_time_format(text, seconds):
    assert slurm_seconds(text, "MaxTime", "here") == seconds


@pytest.mark.parametrize("text", ["", "1h", "-5", "1:2:3:4", "1-", "1--2", "9999999999", 5, None, "1.5"])
def test_bad_times_are_errors(text):
    with pytest.raises(ClusterError, match="here: MaxTime must be a Slurm time"):
        slurm_seconds(text, "MaxTime", "here")


def test_time_format_round_trips():
    for s in (60, 3600, 86400 + 61, 30 * 86400, math.inf):
        assert slurm_seconds(format_slurm_time(s), "t", "w") == s
    assert format_slurm_time(3600) == "1:00:00" and format_slurm_time(90061) == "1-01:01:01"


@pytest.mark.parametrize(
    "gres, gpus, kind",
    [
        ("gpu:4", 4, ""),
        ("gpu:a100:4", 4, "a100"),
        ("gpu", 1, ""),
        ("gpu:v100", 1, "v100"),
        ("gpu:a100:no_consume:2", 2, "a100"),
        ("mps:400,gpu:h100:8(S:0-1),nvme:1", 8, "h100"),
        ("gpu:1K", 1024, ""),
        ("gpu:a100:2,gpu:a100:2", 4, "a100"),
        ("gpu:a100:2,gpu:v100:2", 4, ""),  # several types: counted together, untyped (noted)
        ("gpu:a100:0", 0, ""),
        ("bandwidth:lustre:no_consume:4G", 0, ""),
    ],
)
def test_gres_forms(tmp_path, gres, gpus, kind):
    c = conf(tmp_path, f"NodeName=n[1-2] CPUs=8 Gres={gres}\n")
    assert (c.node_types[0].gpus, c.node_types[0].gpu_type) == (gpus, kind)
    assert any("several types" in n for n in c.notes) == (gres == "gpu:a100:2,gpu:v100:2")


def test_defaults_continuations_case_and_select(tmp_path):
    c = conf(
        tmp_path,
        "# comment only\n"
        "clustername=Alpha selecttype=select/linear   # two settings on one line\n"
        "NODENAME=DEFAULT CPUs=16 \\\n"
        "   RealMemory=1000\n"
        "NodeName=a[1-2]\n"
        "NodeName=DEFAULT CPUs=32\n"
        "NodeName=b1 RealMemory=2000\n"
        'NodeName=c1 Features="x,y"\n'
        "partitionname=DEFAULT maxtime=10 MaxNodes=1\n"
        "PartitionName=p1 Nodes=a[1-2],b1 Default=yes\n"
        "PartitionName=p2 Nodes=ALL MaxTime=20\n"
        "PartitionName = p3 Nodes = c1\n",
    )
    assert c.name == "alpha" and c.allocation is Allocation.EXCLUSIVE
    assert [(nt.name, nt.count, nt.cpus, nt.mem_mib) for nt in c.node_types] == [
        ("a", 2, 16, 1000), ("b", 1, 32, 2000), ("c", 1, 32, 1000),
    ]  # fmt: skip
    assert c.node_types[2].features == ("x", "y")
    assert [(p.name, p.max_time_s, p.max_nodes, p.default) for p in c.partitions] == [
        ("p1", 600, 1, True), ("p2", 1200, 1, False), ("p3", 600, 1, False),
    ]  # fmt: skip
    assert c.priority.fairshare is FairShare.FAIR_TREE and c.priority.decay_half_life_s == 7 * 86400


def test_priority_basic_zero_decay_and_defaults(tmp_path):
    c = conf(
        tmp_path,
        "PriorityType=priority/basic\nPriorityWeightAge=500\nPriorityDecayHalfLife=0\n"
        "NodeName=n1 Sockets=2 CoresPerSocket=4\n",
        name="site.conf",
    )
    assert c.name == "site" and c.priority.weight_age == 0 and c.priority.decay_half_life_s == math.inf
    assert c.node_types[0].cpus == 8 and c.node_types[0].mem_mib == 0
    assert [p.name for p in c.partitions] == ["all"] and c.allocation is Allocation.SHARED  # Slurm's default
    assert any("priority/basic" in n for n in c.notes) and any("no PartitionName lines" in n for n in c.notes)


def test_many_unknown_keys_are_counted_not_listed(tmp_path):
    lines = "".join(f"Unknown{i}=1\n" for i in range(40)) + "NodeName=n1 CPUs=1\n"
    c = conf(tmp_path, lines)
    (note,) = [n for n in c.notes if "ignored" in n]
    assert note.startswith("40 settings not modelled were ignored") and "and 30 more keys" in note


@pytest.mark.parametrize(
    "text, message",
    [
        ("ClusterName=x\n", "no NodeName lines"),
        ("NodeName=n1 CPUs=lots\n", "line 1 (NodeName=n1): cpus must be a whole number"),
        ("NodeName=n1 CPUs=-4\n", "cpus must be a whole number"),
        ("NodeName=n1 CPUs=99999999999\n", "cpus must be a whole number in [1, 1,000,000,000]"),
        ("NodeName=n1 CPUs=4 RealMemory=1e6\n", "realmemory must be a whole number"),
        ("NodeName=n[1-\n", "not closed"),
        ("NodeName=n[0-999999999] CPUs=1\n", "at most 1,000,000"),
        ("NodeName=n1 CPUs=1 Gres=gpu:a100:x\n", "cannot read the GPUs"),
        ("NodeName=n1 CPUs=1\nPartitionName=p Nodes=n2\n", "partition 'p' names unknown node(s) n2"),
        ("NodeName=n1 CPUs=1\nPartitionName=p Nodes=n1 MaxTime=1h\n", "MaxTime must be a Slurm time"),
        ("NodeName=n1 CPUs=1\nPartitionName=p Nodes=n1 MaxTime=0\n", "max time must be a positive number"),
        ("NodeName=n1 CPUs=1\nPartitionName=p Nodes=n1 Default=maybe\n", "default must be YES or NO"),
        (
            "NodeName=n1 CPUs=1\nPartitionName=p Nodes=n1 Default=YES\nPartitionName=q Nodes=n1 Default=YES\n",
            "more than one default partition",
        ),
        ("NodeName=n1 CPUs=1\nNodeName=n1 CPUs=2\n", "host 'n1' is defined twice"),
        ("NodeName=n1 CPUs=1\nNodeSet=s\n", "a NodeSet needs Nodes= or Feature="),
        ('NodeName=n1 CPUs=1 Feature="a\n', "is not closed"),
        ("just some words\n", "expected KEY=VALUE, got 'just'"),
        ("NodeName=n1 CPUs=1\nPriorityWeightAge=high\n", "priorityweightage must be a whole number"),
        ("NodeName=n1 CPUs=1\nPriorityWeightAge=99999999999\n", "weight_age must be a number in [0, 2^32]"),
        ("NodeName=n1 CPUs=1\nPriorityDecayHalfLife=1w\n", "must be a Slurm time"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, text, message):
    with pytest.raises(ClusterError) as err:
        conf(tmp_path, text)
    assert message in str(err.value) and "slurm.conf" in str(err.value) and "\n" not in str(err.value)
