"""The `slurm` preset's pieces against what Slurm 22.05 was seen to do on the loopback harness
(slurmctld's log with DebugFlags=Backfill,SelectType; nodes in its table order c1, c2, g1, g2)."""

from __future__ import annotations

import pytest

from schedlab.errors import SchedlabError
from schedlab.simulator.parity.slurm import (
    SlurmJob,
    SlurmMachine,
    SlurmPartition,
    SlurmSettings,
    main_pass,
    priority,
    select_nodes,
    simulate,
)
from schedlab.simulator.parity.slurm import _State as State

M = SlurmMachine(
    cpus=(8, 8, 8, 8), gpus=(0, 0, 2, 2),
    partitions=(SlurmPartition("cpu", (0, 1, 2, 3), 1, 1), SlurmPartition("gpu", (2, 3), 1, 10)),
    weight_partition=1000,
)  # fmt: skip
ALL = [0, 1, 2, 3]


def job(i, cpus=1, nodes=1, gpus=0, part=0, begin=0.0, runtime=60.0, limit=3600.0):
    return SlurmJob(i, begin, runtime, limit, part, nodes, cpus, gpus)


def test_single_node_best_fit_as_slurm_does():
    # all free: the first node; a 1-CPU job beside a GPU job that left 4 CPUs: that node (fewest free)
    assert select_nodes(job(1), ALL, [8, 8, 8, 8], [0, 0, 2, 2], M) == (0,)
    assert select_nodes(job(2), ALL, [8, 8, 4, 8], [0, 0, 0, 2], M) == (2,)
    # runs of consecutive able nodes: [c1, c2] and [g2]; the run with fewer free CPUs wins (seen: g2)
    assert select_nodes(job(3, cpus=4), ALL, [8, 8, 3, 8], [0, 0, 0, 2], M) == (3,)


def test_multi_node_takes_the_tightest_sufficient_run():
    # c1 has 7 free, c2 none: runs [c1] and [g1, g2]; a 2-node job gets g1, g2 (seen)
    assert select_nodes(job(1, nodes=2), ALL, [7, 0, 8, 8], [0, 0, 2, 2], M) == (2, 3)
    assert select_nodes(job(2, cpus=8, nodes=2), ALL, [7, 0, 8, 8], [0, 0, 2, 2], M) == (2, 3)
    assert select_nodes(job(3, cpus=8, nodes=3), ALL, [7, 0, 8, 8], [0, 0, 2, 2], M) is None


def test_priority_partition_factor():
    assert priority(job(1, part=1), M, 0) == 1000 and priority(job(2, part=0), M, 0) == 100


def test_main_pass_blocks_the_partition_nodes_of_a_job_that_cannot_start():
    st = State(M, [0, 8, 0, 0], [0, 0, 2, 2])  # only c2 free
    big, small = job(1, cpus=8, nodes=2), job(2, cpus=1)
    st.pending = {1: big, 2: small}
    main_pass(st, 0.0)
    assert st.started == {}  # big blocks partition cpu (all nodes): small waits for backfill


def test_backfill_respects_the_reservation_of_a_higher_job():
    s = SlurmSettings(sched_interval=2, bf_interval=1, bf_resolution=1, bf_window=86400, will_run_window=30)
    jobs = [
        job(1, cpus=8, nodes=4, runtime=100, limit=100),  # the whole machine until 100
        job(2, cpus=8, nodes=4, begin=1, runtime=50, limit=100),  # waits for it
        job(3, cpus=1, begin=2, runtime=10, limit=500),  # would delay job 2: waits
        job(4, cpus=1, begin=2, runtime=10, limit=20),  # cannot start either: no node is free before 100
    ]
    sim = simulate(jobs, M, s)
    assert sim[1].start == 0 and sim[2].start == 100
    assert sim[3].start >= 150 and sim[4].start >= 100


def test_backfill_starts_a_short_job_into_a_gap():
    s = SlurmSettings(sched_interval=60, bf_interval=1, bf_resolution=1, bf_window=86400, will_run_window=1)
    jobs = [
        job(1, cpus=8, nodes=2, runtime=100, limit=100),  # c1, c2 (tightest run) until 100
        job(2, cpus=8, nodes=4, begin=1, runtime=50, limit=100),  # needs all four: reserved at 100
        job(3, cpus=8, begin=2, runtime=10, limit=50),  # ends by 100 on g1: backfilled at once
    ]
    sim = simulate(jobs, M, s)
    assert sim[3].start == 2 and sim[3].by == "backfill" and sim[2].start == 100


def test_job_that_can_never_run_is_an_error():
    with pytest.raises(SchedlabError, match="can never run"):
        simulate([job(1, gpus=2, cpus=1, part=0, nodes=3)], M, SlurmSettings())
