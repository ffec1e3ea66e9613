"""load_cluster: the shipped examples, how a file's kind is recognised, describe(), and hostile inputs."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from schedlab.cluster import describe, load_cluster, shipped_clusters
from schedlab.cluster.fields import MAX_FILE_BYTES
from schedlab.cluster.load import cluster_kind
from schedlab.cluster.model import ClusterError
from schedlab.errors import SchedlabError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cluster"


def test_polaris():
    c = load_cluster("polaris")
    assert c.n_nodes == 560 and c.totals() == {"nodes": 560, "cpus": 17920.0, "gpus": 2240.0, "mem_mib": 560 * 524288}
    assert c.gpu_types == ("a100",) and c.default_partition.name == "prod"
    limits = {p.name: (len(p.nodes), p.max_nodes, p.max_time_s) for p in c.partitions}
    assert limits == {
        "debug": (24, 2, 3600.0),
        "debug-scaling": (552, 10, 3600.0),
        "prod": (552, 496, 86400.0),
        "preemptable": (552, 10, 3 * 86400.0),
        "demand": (552, 56, 3600.0),
    }
    mask = c.partition_mask()
    assert mask[:, :8].sum(axis=0).tolist() == [1] * 8  # the 8 dedicated debug nodes
    assert mask[:, 8:24].sum(axis=0).tolist() == [5] * 16  # overlapping partitions


def test_marconi100():
    c = load_cluster("marconi100")
    assert c.totals() == {"nodes": 980, "cpus": 980 * 128.0, "gpus": 3920.0, "mem_mib": 980 * 247808}
    assert c.gpu_types == ("v100",) and c.default_partition.name == "m100_usr_prod"
    assert {q.name: q.max_wall_s for q in c.qos} == {
        "normal": 86400.0, "m100_qos_dbg": 7200.0, "m100_qos_bprod": 86400.0,
    }  # fmt: skip
    assert c.partition("m100_all_serial").max_nodes == 1


def test_shipped_examples_say_where_they_come_from():
    assert set(shipped_clusters()) >= {"polaris", "marconi100"}
    for path in shipped_clusters().values():
        head = path.read_text().splitlines()[:3]
        assert "shaped like" in " ".join(head)


def test_kinds_are_recognised(tmp_path):
    assert cluster_kind(FIXTURES / "small.toml") == "toml"
    assert cluster_kind(FIXTURES / "slurm.conf") == "slurm.conf"
    renamed = tmp_path / "site-a.txt"  # not named slurm.conf: its NodeName= lines tell
    renamed.write_text((FIXTURES / "slurm.conf").read_text())
    assert cluster_kind(renamed) == "slurm.conf" and load_cluster(renamed).name == "tinkerbell"
    nodes = tmp_path / "nodes.csv.gz"
    nodes.write_bytes(gzip.compress(b"sn,cpu_milli,memory_mib,gpu,model\nn1,1000,10,1,T4\n"))
    assert cluster_kind(nodes) == "nodelist" and load_cluster(nodes).totals()["gpus"] == 1


def test_reading_through_a_link_is_fine(tmp_path):
    link = tmp_path / "machine.toml"
    os.symlink(FIXTURES / "small.toml", link)
    assert load_cluster(link).name == "small"


def test_describe_is_json_ready():
    d = describe(load_cluster(FIXTURES / "small.toml"))
    back = json.loads(json.dumps(d, allow_nan=False))
    assert back["totals"] == {"nodes": 6, "cpus": 320, "gpus": 8, "mem_mib": 2_048_000}
    assert [p["hostlist"] for p in back["partitions"]] == ["c[01-04]", "gpu[0001-0002]", "c[01-04],gpu[0001-0002]"]
    assert back["partitions"][2]["max_time_s"] is None and back["partitions"][2]["max_time"] == "UNLIMITED"
    assert back["priority"]["decay_half_life_s"] is None and back["priority"]["shares"] == {"acctA": 10, "acctB": 2.5}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not a machine description schedlab can read"),
        (b"NodeName=n1 CPUs=1\n\xff\xfe\n", "not UTF-8 text"),
        (bytes(range(1, 120)) * 10, "not a machine description schedlab can read"),
        (b"NodeName=a\x00b CPUs=1\n", "holds NUL bytes"),
        (b"hello world\n", "not a machine description schedlab can read"),
    ],
)
def test_garbage_files(tmp_path, content, message):
    f = tmp_path / "machine.dat"
    f.write_bytes(content)
    with pytest.raises(ClusterError, match=message):
        load_cluster(f)


@pytest.mark.parametrize("name", ["big.toml", "slurm.conf"])
def test_files_over_16_mib_are_refused(tmp_path, name):
    f = tmp_path / name
    f.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 2**20 // 10))  # 17 MiB
    assert f.stat().st_size > MAX_FILE_BYTES
    with pytest.raises(ClusterError, match="larger than 16 MiB"):
        load_cluster(f)


def test_garbage_toml_and_conf(tmp_path):
    f = tmp_path / "x.toml"
    f.write_bytes(b"\xfe\xed\xfa\xce garbage")
    with pytest.raises(ClusterError, match="not UTF-8"):
        load_cluster(f)
    f.write_text("[[node_types]\nname=")
    with pytest.raises(ClusterError, match="not valid TOML"):
        load_cluster(f)
    g = tmp_path / "slurm.conf"
    g.write_text("NodeName=n1 CPUs=1\n\x01\x02\x03=4\n")
    with pytest.raises(ClusterError, match="expected KEY=VALUE"):
        load_cluster(g)


@pytest.mark.parametrize("spec", ["polarisx", "no/such/file.toml", "a\x00b", "x" * 5000])
def test_unknown_specs_list_the_shipped_machines(spec):
    with pytest.raises(ClusterError) as err:
        load_cluster(spec)
    assert "polaris" in str(err.value) and "marconi100" in str(err.value)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(ClusterError, match="is a folder"):
        load_cluster(tmp_path)


def test_errors_are_schedlab_errors():
    assert issubclass(ClusterError, SchedlabError)
