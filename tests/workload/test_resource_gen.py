"""The seeded multi-resource request generator of the benchmarks (schedlab.workload.resource_gen)."""

import numpy as np
import pytest

from schedlab.cluster import load_cluster
from schedlab.errors import SchedlabError
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace
from schedlab.workload.resource_gen import with_resources


@pytest.fixture(scope="module")
def theta():
    return load_trace("theta_2022").subset(slice(0, 3000))


def _footprint_share(wl):
    r = wl.resources
    names = r.names["partition"]
    out = {}
    for p, count in {"thin": 5040, "fat": 90, "hybrid": 144}.items():
        m = r.partition == names.index(p) if p in names else np.zeros(len(wl), bool)
        out[p] = (r.nodes[m] * wl.run[m]).sum() / count
    return out


def test_same_seed_same_requests_other_seed_other(theta):
    a, b, c = with_resources(theta, seed=1), with_resources(theta, seed=1), with_resources(theta, seed=2)
    for col in ("nodes", "cpus_per_node", "gpus_per_node", "mem_per_node", "partition"):
        assert np.array_equal(getattr(a.resources, col), getattr(b.resources, col))
    assert not np.array_equal(a.resources.mem_per_node, c.resources.mem_per_node)


def test_requests_keep_processors_and_fit_their_partition(theta):
    wl = with_resources(theta, seed=0)
    r = wl.resources
    assert np.all(r.nodes * r.cpus_per_node >= wl.procs)  # every processor asked for is granted
    names = np.array(r.names["partition"], dtype=object)[r.partition]
    assert set(names) <= {"thin", "fat", "hybrid"}
    assert np.all(r.gpus_per_node[names != "hybrid"] == 0) and np.all(r.gpus_per_node[names == "hybrid"] >= 1)
    assert np.all(r.mem_per_node[names == "thin"] <= 65536)


def test_small_partitions_are_not_offered_more_load_than_the_machine(theta):
    """The load balance: per node, no small partition gets more footprint than the whole machine."""
    wl = with_resources(theta, seed=0, gpu_share=0.5)
    share = _footprint_share(wl)
    r = wl.resources
    whole = (r.nodes * wl.run).sum() / (5040 + 90 + 144)
    assert share["hybrid"] <= whole * 1.0001 + 1e-9
    assert (np.array(r.names["partition"], dtype=object)[r.partition] == "hybrid").any()
    res = simulate(wl, SimConfig(cluster=load_cluster("curie3")))  # every job runs on curie3
    assert np.all(res.start >= wl.submit)


def test_bad_shares_are_refused(theta):
    with pytest.raises(SchedlabError, match="fractions"):
        with_resources(theta, gpu_share=0.8, bigmem_share=0.5)
