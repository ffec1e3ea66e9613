"""Conservative backfilling on a multi-resource machine: hand-worked schedules (the reasoning in
comments), then invariants over random machines: no overcommit of any resource on any node, jobs
inside their partition, and every reservation kept (a job never starts later than the slot it got
when it arrived) whenever jobs end by their estimates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.errors import SchedlabError
from schedlab.simulator import SimConfig, simulate
from tests.simulator.test_multires import check_invariants, gpu_machine, jobs, machines_and_jobs, nodes_of


def cons(w, cluster, **cfg):
    return simulate(w, SimConfig(cluster=cluster, **{"policy": "fcfs", "backfill": "conservative", **cfg}))


def test_every_job_books_exact_nodes_when_it_arrives():
    # cpu0001 and cpu0002 have 8 CPUs each.  j0 holds cpu0001 until 100, j1 cpu0002 until 50.
    # j2 (t=1) needs both nodes whole: booked [100, 110).  j3 (t=2, 8 CPUs, 60 s) cannot use
    # cpu0002's gap [50, 100) (it would run into j2's booking): booked after j2, at 110, on
    # cpu0001 (first-fit).  j4 (t=3, 8 CPUs, 40 s) fits the gap: booked [50, 90) on cpu0002.
    # j5 (t=4, 4 CPUs, 100 s): cpu0001 is booked through 170, cpu0002's gap [90, 100) is too short,
    # so it is booked at 110 on cpu0002 (4 CPUs free beside nothing).
    w = jobs([0, 0, 1, 2, 3, 4], [100, 50, 10, 60, 40, 100], nodes=[1, 1, 2, 1, 1, 1],
             cpus_per_node=[8, 8, 8, 8, 8, 4])  # fmt: skip
    r = cons(w, gpu_machine())
    assert list(r.start) == [0, 0, 100, 110, 50, 110]
    assert list(r.reservation) == [0, 0, 100, 110, 50, 110]
    assert nodes_of(r, 3) == [0] and nodes_of(r, 4) == [1] and nodes_of(r, 5) == [1]


def test_an_early_end_compresses_the_schedule():
    # j0 asks 100 s of cpu0001 and cpu0002 but ends at 20.  j1 (both nodes) was booked at 100; the
    # compression at 20 moves it to 20, and j2 (one node, booked after j1 at 130) to 50.
    w = jobs([0, 1, 2], [20, 30, 10], req=[100, 30, 10], nodes=[2, 2, 1], cpus_per_node=[8, 8, 8])
    r = cons(w, gpu_machine())
    assert list(r.reservation) == [0, 100, 130]
    assert list(r.start) == [0, 20, 50]


def test_a_gpu_job_does_not_book_cpu_nodes_and_memory_counts():
    # j0 takes 60 MiB of cpu0001's 100 for 50 s; j1 asks 50 MiB: not on cpu0001 before 50, so
    # first-fit books cpu0002 now.  j2 asks a GPU: only gpu0001, now.
    w = jobs([0, 1, 2], [50, 10, 10], nodes=[1, 1, 1], cpus_per_node=[1, 1, 1], mem_per_node=[60, 50, 1],
             gpus_per_node=[0, 0, 1], partition=["", "", "gpu"])  # fmt: skip
    r = cons(w, gpu_machine())
    assert list(r.start) == [0, 1, 2]
    assert nodes_of(r, 1) == [1] and nodes_of(r, 2) == [2]


def test_dynamic_and_multifactor_orders_are_refused():
    w = jobs([0], [10], nodes=[1], cpus_per_node=[1])
    for policy in ("wfp3", "multifactor"):
        with pytest.raises(SchedlabError, match="static queue order"):
            cons(w, gpu_machine(), policy=policy)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines_and_jobs(), st.sampled_from(["fcfs", "sjf", "saf"]), st.floats(1.0, 3.0))
def test_no_overcommit_and_reservations_kept(case, policy, overestimate):
    cluster, w = case
    w.req_time[:] = np.ceil(w.run * overestimate)  # jobs end by their estimates (often before)
    try:
        r = cons(w, cluster, policy=policy)
    except ValueError as exc:
        assert "can run" in str(exc)
        return
    check_invariants(r, cluster)
    assert (r.start >= 0).all()
    assert np.all(r.start <= r.reservation + 1e-9)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(machines_and_jobs())
def test_jobs_running_past_their_estimates_still_never_overcommit(case):
    cluster, w = case
    w.req_time[:] = np.maximum(1, w.run // 2)  # every job outlives its estimate
    try:
        r = cons(w, cluster, kill_at_request=False)
    except ValueError:
        return
    check_invariants(r, cluster)
    assert (r.start >= 0).all()
