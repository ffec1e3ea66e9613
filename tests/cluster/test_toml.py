"""The TOML reader: a hand-checked machine, every key, and typos and bad values as one-line errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from schedlab.cluster.model import ClusterError
from schedlab.cluster.toml_file import read_cluster_toml
from schedlab.options import Allocation, FairShare, NodeSelect

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cluster"


def test_small_machine_by_hand():
    c = read_cluster_toml(FIXTURES / "small.toml")
    assert c.name == "small" and c.allocation is Allocation.SHARED and c.select is NodeSelect.BEST_FIT
    assert c.node_names == ("c01", "c02", "c03", "c04", "gpu0001", "gpu0002")
    assert c.cpus.tolist() == [64] * 4 + [32] * 2 and c.gpus.tolist() == [0] * 4 + [4] * 2
    assert c.mem_mib.tolist() == [256000] * 4 + [512000] * 2
    assert c.gpu_types == ("a100",) and c.gpu_type.tolist() == [-1] * 4 + [0] * 2
    assert c.node_types[0].features == ("milan",)
    assert c.totals() == {"nodes": 6, "cpus": 320.0, "gpus": 8.0, "mem_mib": 2_048_000}
    batch, gpu, everything = c.partitions
    assert batch.nodes == (0, 1, 2, 3) and batch.max_time_s == 2 * 86400 and batch.max_nodes == 4
    assert batch.default and c.default_partition is batch and batch.allow_qos == ("normal", "high")
    assert gpu.nodes == (4, 5) and gpu.max_time_s == 7200.0 and gpu.priority_tier == 2
    assert gpu.priority_job_factor == 5 and gpu.qos == "high" and not gpu.default
    assert everything.nodes == tuple(range(6)) and everything.max_time_s == math.inf  # overlaps both
    assert c.partition_mask().sum(axis=0).tolist() == [2, 2, 2, 2, 2, 2]
    normal, high = c.qos
    assert (normal.priority, normal.max_jobs_per_user, normal.max_wall_s) == (10, 20, 86400.0)
    assert (high.priority, high.max_gpus_per_user, high.max_wall_s) == (100, 8, 3600.0)
    p = c.priority
    assert (p.weight_age, p.weight_fairshare, p.weight_qos, p.weight_job_size) == (1000, 10000, 2000, 0)
    assert p.decay_half_life_s == math.inf  # "0": no decay, as in Slurm
    assert p.max_age_s == 3 * 86400 and p.calc_period_s == 90 and p.favor_small
    assert p.fairshare is FairShare.CLASSIC and dict(p.shares) == {"acctA": 10, "acctB": 2.5}
    assert c.source.endswith("small.toml") and c.notes == ()


def test_defaults_count_from_hostlist_and_one_partition(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text('[[node_types]]\nname = "n"\ncpus = 8\nhostlist = "a[1-3]"\n')
    c = read_cluster_toml(f)
    assert c.name == "m" and c.node_names == ("a1", "a2", "a3")
    assert [p.name for p in c.partitions] == ["all"] and c.partitions[0].nodes == (0, 1, 2)
    assert c.allocation is Allocation.EXCLUSIVE and c.priority.decay_half_life_s == 7 * 86400


BASE = '[[node_types]]\nname = "n"\ncount = 2\ncpus = 8\n'


@pytest.mark.parametrize(
    "text, message",
    [
        (BASE + "nmae = 'x'\n", "unknown key 'nmae'"),
        ("nodetypes = []\n", "unknown key 'nodetypes'"),
        (BASE.replace("cpus", "cpu"), "node type 'n': unknown key 'cpu'"),
        (
            BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\nmax_tim = "1:00:00"\n',
            "partition 'p': unknown key 'max_tim'",
        ),
        (BASE + '[[qos]]\nname = "q"\nmax_jobs = 3\n', "QOS 'q': unknown key 'max_jobs'"),
        (BASE + "[priority]\nweight_ages = 3\n", "[priority]: unknown key 'weight_ages'"),
        (BASE.replace("count = 2", "count = 10000000000000"), "count must be a whole number"),
        (BASE.replace("count = 2", "count = -1"), "count must be a whole number"),
        (BASE.replace("cpus = 8", "cpus = -8"), "cpus must be a whole number"),
        (BASE.replace("cpus = 8", "cpus = 8.5"), "cpus must be a whole number"),
        (BASE.replace("cpus = 8", "cpus = 8\nhostlist = 'n[1-'"), "not closed"),
        (BASE.replace("cpus = 8", "cpus = 8\nhostlist = 'n[1-3]'"), "has 2 nodes but 3 host names"),
        (BASE.replace("cpus = 8", "cpus = 8\nhostlist = 'n[0-99999999]'"), "at most 1,000,000"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "n9"\n', "partition 'p' names unknown node(s) n9"),
        (BASE + '[[partitions]]\nname = "p"\nnode_types = ["x"]\n', "unknown node type 'x'"),
        (BASE + '[[partitions]]\nname = "p"\n', "give its nodes"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\nmax_time = "1 day"\n', "must be a Slurm time"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\nmax_time = 60\n', "Slurm time string"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\nmax_time_s = -5\n', "max_time_s must be"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\nmax_time_s = nan\n', "max_time_s must be"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\nmax_time = "1:00"\nmax_time_s = 5\n', "not both"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\nallow_qos = "normal"\n', "allow_qos must be a list"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\nqos = "gold"\n', "unknown QOS 'gold'"),
        (BASE + '[[partitions]]\nname = "p"\nnodes = "ALL"\ndefault = "yes"\n', "default must be true or false"),
        (BASE + '[[qos]]\nname = "q"\npriority = -1\n', "priority must be a whole number"),
        (BASE + "[priority]\nfairshare = 'fair'\n", "unknown fair-share algorithm 'fair'"),
        (BASE + "[priority]\nweight_age = -1\n", "weight_age must be a number"),
        (BASE + "[priority.shares]\nacct = 0\n", "shares of account 'acct'"),
        ('allocation = "half"\n' + BASE, "unknown allocation mode 'half'"),
        ("cpu_unit = 10\n" + BASE, "cpu_unit must be 1"),
        ("name = \n", "not valid TOML"),
        ("", "no nodes"),
    ],
)
def test_bad_descriptions_are_one_line_errors(tmp_path, text, message):
    f = tmp_path / "bad.toml"
    f.write_text(text)
    with pytest.raises(ClusterError) as err:
        read_cluster_toml(f)
    assert message in str(err.value) and str(f) in str(err.value)
    assert "\n" not in str(err.value)
