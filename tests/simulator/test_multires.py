"""The multi-resource engine: hand-worked schedules (the reasoning in comments), the degenerate
single-resource case against today's engine, and invariants over random machines (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.cluster import QOS, NodeType, PriorityConfig, build_cluster
from schedlab.policies import resolve
from schedlab.simulator import SimConfig, simulate
from schedlab.simulator.multires.run import simulate_multi
from schedlab.workload import load_trace
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload
from tests.helpers import two_partition_cluster


def jobs(submit, run, req=None, user=None, **res) -> Workload:
    n = len(submit)
    req = run if req is None else req
    return Workload(
        name="hand",
        job_id=np.arange(1, n + 1),
        submit=np.asarray(submit, dtype=float),
        run=np.asarray(run, dtype=float),
        req_time=np.asarray(req, dtype=float),
        procs=np.ones(n, dtype=np.int64),
        user=np.asarray(user if user is not None else np.arange(n), dtype=np.int64),
        raw_submit=np.asarray(submit, dtype=float),
        status=np.ones(n, dtype=np.int64),
        max_procs=1,
        max_nodes=1,
        resources=JobResources.build(n, **res),
    )


def gpu_machine(**kw):
    """2 CPU nodes (8 CPUs, 100 MiB) in partition cpu (default), 1 GPU node (8 CPUs, 2 A100) in gpu."""
    return build_cluster(
        "hand",
        [NodeType("cpu", 2, 8, mem_mib=100), NodeType("gpu", 1, 8, gpus=2, gpu_type="a100", mem_mib=100)],
        kw.pop(
            "partitions",
            [{"name": "cpu", "nodes": ["cpu0001", "cpu0002"], "default": True}, {"name": "gpu", "nodes": ["gpu0001"]}],
        ),
        allocation=kw.pop("allocation", "shared"),
        **kw,
    )


def run(w, cluster, **cfg):
    return simulate(w, SimConfig(cluster=cluster, **{"policy": "fcfs", "backfill": "easy", **cfg}))


def nodes_of(r, j):
    m = r.extra["multires"]
    return list(m["alloc"][m["off"][j] : m["off"][j + 1]])


def test_gpu_job_waits_while_cpus_are_free():
    # job 0 takes both GPUs for 100 s; job 1 (1 GPU) must wait for them although 6 CPUs of the GPU
    # node and both CPU nodes are free; job 2 (CPUs only, default partition) starts at once
    w = jobs([0, 1, 2], [100, 50, 30], nodes=[1, 1, 1], cpus_per_node=[2, 2, 4], gpus_per_node=[2, 1, 0],
             partition=["gpu", "gpu", ""])  # fmt: skip
    r = run(w, gpu_machine())
    assert list(r.start) == [0, 100, 2]
    assert nodes_of(r, 1) == [2] and nodes_of(r, 2) == [0]


def test_memory_blocks_a_fit_and_first_fit_moves_on():
    # job 0 holds 90 of cpu0001's 100 MiB; job 1 (20 MiB, 4 CPUs) does not fit there although 4
    # CPUs are free, so first-fit puts it on cpu0002; job 2 (60 MiB) fits nowhere until job 0 ends
    w = jobs([0, 1, 2], [30, 40, 10], nodes=[1, 1, 1], cpus_per_node=[4, 4, 1], mem_per_node=[90, 20, 90])
    r = run(w, gpu_machine())
    assert nodes_of(r, 0) == [0] and nodes_of(r, 1) == [1]
    assert r.start[2] == 30 and nodes_of(r, 2) == [0]


def test_best_fit_packs_where_first_fit_spreads():
    # job 0 leaves cpu0001 with 2 CPUs; job 1 (2 CPUs) goes to cpu0001 under best-fit (0 left),
    # to cpu0001 too under first-fit (lowest index); job 2 (2 CPUs) arrives when job 0 ended:
    # both nodes fit; first-fit takes cpu0001, best-fit takes cpu0001 as well (6 free vs 8)
    w = jobs([0, 1], [100, 100], nodes=[1, 1], cpus_per_node=[6, 2])
    assert nodes_of(run(w, gpu_machine(select="best-fit")), 1) == [0]
    w = jobs([0, 1, 2], [100, 100, 10], nodes=[1, 1, 1], cpus_per_node=[7, 2, 1])
    # first-fit: job 1 cannot go to cpu0001 (1 free) -> cpu0002; job 2 (1 CPU) -> cpu0001 (first)
    r = run(w, gpu_machine())
    assert nodes_of(r, 1) == [1] and nodes_of(r, 2) == [0]
    # best-fit: job 2 goes where the fewest CPUs remain: cpu0001 (1 free -> 0) as well; with 3
    # free on cpu0001 instead it would still pick it over cpu0002 (6 free)
    w = jobs([0, 1, 2], [100, 100, 10], nodes=[1, 1, 1], cpus_per_node=[5, 2, 1])
    assert nodes_of(run(w, gpu_machine(select="best-fit")), 2) == [0]
    assert nodes_of(run(w, gpu_machine()), 1) == [0]


def test_exclusive_allocation_holds_whole_nodes():
    # exclusive: job 0 (1 CPU) holds cpu0001 entirely; job 1 (1 CPU) gets cpu0002; job 2 waits
    w = jobs([0, 1, 2], [50, 60, 10], nodes=[1, 1, 1], cpus_per_node=[1, 1, 1])
    r = run(w, gpu_machine(allocation="exclusive"))
    assert list(r.start) == [0, 1, 50] and list(r.size) == [8, 8, 8]


def test_overlapping_partitions_share_nodes():
    # partition all = every node; partition gpu = the GPU node only. A 3-node job in "all" must
    # wait for the GPU job in "gpu" to end, since it needs the GPU node too
    parts = [{"name": "all", "nodes": "ALL", "default": True}, {"name": "gpu", "nodes": ["gpu0001"]}]
    w = jobs([0, 1], [100, 10], nodes=[1, 3], cpus_per_node=[8, 1], gpus_per_node=[1, 0], partition=["gpu", "all"])
    r = run(w, gpu_machine(partitions=parts))
    assert r.start[1] == 100 and sorted(nodes_of(r, 1)) == [0, 1, 2]


def test_qos_per_user_job_limit_holds_a_job_but_blocks_no_one():
    # QOS "small" lets a user run one job at a time: user 7's second job waits for the first;
    # user 8's job behind it starts at once (Slurm: pending with a QOS reason, not a blocker)
    c = gpu_machine(qos=[QOS("small", max_jobs_per_user=1)])
    w = jobs([0, 1, 2], [50, 50, 50], user=[7, 7, 8], nodes=[1, 1, 1], cpus_per_node=[1, 1, 1], qos=["small"] * 3)
    r = run(w, c)
    assert list(r.start) == [0, 50, 2]


def test_easy_reserves_the_resources_not_a_count():
    # job 0 takes 6 CPUs of cpu0001 and 8 of cpu0002 until 100 (2 jobs); the head job 2 needs one
    # whole node (8 CPUs): its reservation is cpu0001 at t = 50 (job 0 ends first). Job 3 (2
    # CPUs, 1000 s) fits now on cpu0001 but would take what job 2 needs there at 50: it may not
    # start on cpu0001 and cpu0002 is full, so it waits; job 4 (2 CPUs, 40 s) ends before 50: it runs
    w = jobs([0, 0, 1, 2, 3], [50, 100, 10, 1000, 40], nodes=[1] * 5, cpus_per_node=[6, 8, 8, 2, 2])
    r = run(w, gpu_machine())
    assert r.start[2] == 50 and nodes_of(r, 2) == [0]
    assert r.start[4] == 3 and r.start[3] >= 60
    assert r.reservation[2] == 50


def test_single_resource_machine_reproduces_todays_engine():
    w = load_trace("theta_2022").window(3000, 3000)
    for pol in ("fcfs", "sjf", "wfp3"):
        for bf in ("easy", "none"):
            cfg = SimConfig(policy=pol, backfill=bf)
            a = simulate(w, cfg)
            b = simulate_multi(w, cfg, resolve(pol), None)
            assert np.array_equal(a.start, b.start), (pol, bf)


# -- multifactor -----------------------------------------------------------------------------------
def test_fair_share_reorders_the_queue():
    # account-less users 1 and 2; user 1 runs a 1,100 s job on the whole node. At t = 1000 and
    # 1001 both submit; user 1's job was submitted first, but user 2 has no usage: Fair Tree ranks
    # user 2 first (Level FS infinite: factor 2/2 against user 1's 1/2), so when the node frees
    # at 1100 user 2's job starts first.
    c = build_cluster("one", [NodeType("n", 1, 4)], [], allocation="shared",
                      priority=PriorityConfig(weight_fairshare=1000, calc_period_s=60.0))  # fmt: skip
    w = jobs([0, 1000, 1001], [1100, 100, 100], user=[1, 1, 2], nodes=[1, 1, 1], cpus_per_node=[4, 4, 4])
    r = simulate(w, SimConfig(policy="multifactor", cluster=c))
    assert r.start[2] == 1100 and r.start[1] == 1200
    r = simulate(w, SimConfig(policy="fcfs", cluster=c))  # without fair-share: submit order
    assert r.start[1] == 1100 and r.start[2] == 1200


# -- invariants over random machines ---------------------------------------------------------------
@st.composite
def machines_and_jobs(draw):
    n_cpu, n_gpu = draw(st.integers(1, 4)), draw(st.integers(0, 3))
    types = [NodeType("c", n_cpu, draw(st.integers(1, 8)), mem_mib=draw(st.sampled_from([0, 64])))]
    if n_gpu:
        types.append(NodeType("g", n_gpu, draw(st.integers(1, 8)), gpus=draw(st.integers(1, 4)), mem_mib=64))
    c = two_partition_cluster(draw, types, n_cpu, n_gpu)
    n = draw(st.integers(1, 30))
    sub = np.cumsum(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)))
    run = draw(st.lists(st.integers(1, 100), min_size=n, max_size=n))
    w = jobs(
        sub, run, user=draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)),
        nodes=draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)),
        cpus_per_node=draw(st.lists(st.integers(1, 8), min_size=n, max_size=n)),
        gpus_per_node=draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)) if n_gpu else None,
        mem_per_node=draw(st.lists(st.integers(0, 64), min_size=n, max_size=n)),
        partition=draw(st.lists(st.sampled_from(["", "gpu"]), min_size=n, max_size=n)) if n_gpu else None,
    )  # fmt: skip
    return c, w


def check_invariants(r, cluster):
    m = r.extra["multires"]
    prep, alloc, off = m["prepared"], m["alloc"], m["off"]
    wl = r.workload
    assert np.all(r.start >= wl.submit)
    excl = cluster.allocation == "exclusive"
    events = sorted({*r.start, *r.end})
    for t in events:  # usage on every node at every instant: within its capacity
        used = np.zeros((cluster.n_nodes, 3), dtype=np.int64)
        for j in np.flatnonzero((r.start <= t) & (r.end > t)):
            nodes = alloc[off[j] : off[j + 1]]
            assert len(set(nodes)) == len(nodes) == prep.nodes[j]
            assert set(nodes) <= set(cluster.partitions[prep.partition[j]].nodes)  # inside its partition
            used[nodes] += prep.tot[nodes] if excl else prep.req[j]
        assert np.all(used <= prep.tot), t


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines_and_jobs(), st.sampled_from(["fcfs", "sjf", "wfp3", "multifactor"]), st.sampled_from(["easy", "none"]))
def test_no_overcommit_no_early_start_jobs_inside_their_partition(case, policy, backfill):
    cluster, w = case
    try:
        r = simulate(w, SimConfig(policy=policy, backfill=backfill, cluster=cluster))
    except ValueError as exc:  # every job refused by this machine: said clearly
        assert "can run" in str(exc)
        return
    check_invariants(r, cluster)
    assert r.workload.cleaning.kept == len(r.workload)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines_and_jobs())
def test_easy_reservation_is_kept_with_exact_estimates(case):
    # FCFS, estimates = runtimes: the job holding the reservation starts no later than its
    # shadow time, whatever was backfilled meanwhile
    cluster, w = case
    try:
        r = simulate(w, SimConfig(policy="fcfs", backfill="easy", estimates="actual", cluster=cluster))
    except ValueError:
        return
    held = np.isfinite(r.reservation)
    assert np.all(r.start[held] <= r.reservation[held] + 1e-9)


@pytest.mark.parametrize("bad", ["nowhere", "gpu"])
def test_jobs_the_machine_refuses_are_counted(bad):
    # a job in an unknown partition, and one asking 3 GPUs of a 2-GPU node, are dropped and counted
    w = jobs([0, 1], [10, 10], nodes=[1, 1], cpus_per_node=[1, 1], gpus_per_node=[0, 3 if bad == "gpu" else 0],
             partition=["", bad])  # fmt: skip
    r = run(w, gpu_machine())
    assert len(r.workload) == 1 and sum(r.workload.cleaning.dropped.values()) == 1
