"""Hand-built schedules with start times worked out on paper (see comments)."""

import numpy as np
import pytest

from schedlab.simulator import simulate
from tests.helpers import make_workload

# Capacity 10.  J0 holds 5 for [0,10).  J1 (8 procs) must wait for J0: reservation at 10, and at
# 10 two processors are "extra".  J2 needs the whole machine.  J3 is long (30 s) and small (2).
#   none:          J0 0, J1 10, J2 20 (after J1), J3 30 (after J2, the machine is full until 30)
#   easy:          at 3, J3 fits in the 5 free processors and uses only the 2 extra ones, so it
#                  is backfilled at 3 although it runs past the shadow time; that delays J2
#                  (not the head, so EASY allows it) until J3 ends at 33.
#   conservative:  J2 is reserved at 20; J3 may not delay it, so it gets the first slot of 30 s
#                  with 2 free processors that leaves J2 alone: 30.
DELAY_CASE = dict(submit=[0, 1, 2, 3], run=[10, 10, 10, 30], procs=[5, 8, 10, 2])


@pytest.mark.parametrize(
    "backfill,expected",
    [
        ("none", [0, 10, 20, 30]),
        ("easy", [0, 10, 33, 3]),
        ("conservative", [0, 10, 20, 30]),
    ],
)
def test_easy_may_delay_second_job_conservative_may_not(backfill, expected):
    r = simulate(make_workload(**DELAY_CASE), policy="fcfs", backfill=backfill)
    assert r.start.tolist() == expected


# Capacity 10.  J0 6 procs [0,10).  J1 8 procs waits for J0 (shadow 10, extra 10-8 = 2).
# J2 (4 procs, 5 s) fits at 2 and ends at 7 <= 10: backfilled by EASY and conservative.
# J3 (2 procs, 20 s) at 7 uses the 2 extra processors (EASY) / the 2 free after J1 (conservative).
# J4 (2 procs, 30 s) has no room before J1 ends at 20.
SHORT_CASE = dict(submit=[0, 1, 2, 3, 4], run=[10, 10, 5, 20, 30], procs=[6, 8, 4, 2, 2])


@pytest.mark.parametrize(
    "backfill,expected",
    [
        ("none", [0, 10, 20, 20, 20]),
        ("easy", [0, 10, 2, 7, 20]),
        ("conservative", [0, 10, 2, 7, 20]),
    ],
)
def test_backfill_short_jobs(backfill, expected):
    r = simulate(make_workload(**SHORT_CASE), policy="fcfs", backfill=backfill)
    assert r.start.tolist() == expected


def test_end_and_start_at_same_time_do_not_overlap():
    # J0 holds the whole machine until 10; J1 (whole machine) starts exactly at 10.
    r = simulate(make_workload(submit=[0, 5], run=[10, 5], procs=[4, 4], capacity=4), backfill="none")
    assert r.start.tolist() == [0, 10]
    # same when J1 arrives exactly when J0 ends: completions are applied before arrivals
    r = simulate(make_workload(submit=[0, 10], run=[10, 5], procs=[4, 4], capacity=4), backfill="easy")
    assert r.start.tolist() == [0, 10]


def test_kill_at_request_versus_run_on():
    # J0 requests 5 s but would run 20 s; J1 needs the whole machine.
    wl = make_workload(submit=[0, 1], run=[20, 5], procs=[4, 4], req_time=[5, 5], capacity=4)
    killed = simulate(wl, backfill="easy", kill_at_request=True)
    assert killed.end.tolist() == [5, 10] and killed.start.tolist() == [0, 5]
    ran_on = simulate(wl, backfill="easy", kill_at_request=False)
    assert ran_on.end.tolist() == [20, 25] and ran_on.start.tolist() == [0, 20]


def test_estimates_actual_enable_more_backfill():
    # J0 requests 100 s but runs 10 s; J1 (8 procs) waits for it; J2 (4 procs, 60 s) arrives at 2.
    wl = make_workload(submit=[0, 1, 2], run=[10, 5, 60], procs=[6, 8, 4], req_time=[100, 5, 60])
    req = simulate(wl, backfill="easy", estimates="requested")
    act = simulate(wl, backfill="easy", estimates="actual")
    # requested: shadow = 100, J2 ends 62 <= 100: backfilled at 2, so J1 waits for J2 (4+8 > 10)
    assert req.start.tolist() == [0, 62, 2]
    # actual: shadow = 10, J2 ends 62 > 10 and 4 > extra (10-8=2): not backfilled
    assert act.start.tolist() == [0, 10, 15]


def test_sjf_orders_by_requested_time_and_ties_by_submit():
    wl = make_workload(submit=[0, 1, 2, 3], run=[10, 30, 20, 20], procs=[10, 10, 10, 10])
    r = simulate(wl, policy="sjf", backfill="none")
    # at 10 the queue is J1(30), J2(20), J3(20): J2 then J3 (tie: earlier submit), then J1
    assert r.start.tolist() == [0, 50, 10, 30]


def test_nodes_capacity_unit_rounds_up_to_whole_nodes():
    # 8 processors on 4 nodes (2 per node): a 3-processor job holds 2 nodes.
    wl = make_workload(submit=[0, 0], run=[10, 10], procs=[3, 3], capacity=8, nodes=4)
    assert simulate(wl, backfill="none", capacity_unit="procs").start.tolist() == [0, 0]
    assert simulate(wl, backfill="none", capacity_unit="nodes").start.tolist() == [0, 0]
    wl = make_workload(submit=[0, 0, 0], run=[10, 10, 10], procs=[3, 3, 2], capacity=8, nodes=4)
    assert simulate(wl, backfill="none", capacity_unit="procs").start.tolist() == [0, 0, 0]
    assert simulate(wl, backfill="none", capacity_unit="nodes").start.tolist() == [0, 0, 10]


def test_dynamic_policy_wfp3_prefers_long_waiting_small_jobs():
    # J0 fills the machine until 100.  J1 (10 procs, req 100) waits 99 s; J2 (1 proc, req 10)
    # waits 50 s.  At 100: WFP3 = (w/r)^3 * n: J1 (0.99^3*10 = 9.7) vs J2 (5^3*1 = 125) -> J2 first.
    wl = make_workload(submit=[0, 1, 50], run=[100, 100, 10], procs=[10, 10, 1])
    r = simulate(wl, policy="wfp3", backfill="none")
    assert r.start.tolist() == [0, 110, 100]
    f = simulate(wl, policy="fcfs", backfill="none")
    assert f.start.tolist() == [0, 100, 200]


def test_reservation_recorded_for_blocked_head():
    r = simulate(make_workload(**DELAY_CASE), policy="fcfs", backfill="easy")
    assert r.reservation[1] == 10  # J1 became head at 1 with shadow 10
    assert np.isinf(r.reservation[0])  # J0 never waited


@pytest.mark.parametrize("policy,expected", [("fcfs", [0, 10, 60]), ("sjf", [0, 30, 10])])
def test_conservative_compression_follows_priority(policy, expected):
    # J0 requests 100 s but ends at 10.  J1 (req 50) was reserved at 100, J2 (req 20) at 150.
    # At 10 the schedule is compressed in priority order: FCFS lifts J1 first (-> 10, J2 -> 60);
    # SJF lifts J2 first (-> 10, then J1 -> 30).  Neither job moves later than its reservation.
    wl = make_workload(submit=[0, 1, 2], run=[10, 50, 20], procs=[10, 10, 10], req_time=[100, 50, 20])
    r = simulate(wl, policy=policy, backfill="conservative")
    assert r.start.tolist() == expected
    assert r.reservation.tolist() == [0, 100, 150]


def test_user_priority_callable_and_expression():
    # largest job first, given as a Python callable and as an expression: same schedule.
    # At 10: J2 (8) first, then J3 (5) does not fit in 2; at 20 J3 and J1 both start.
    wl = make_workload(submit=[0, 1, 2, 3], run=[10, 10, 10, 10], procs=[10, 2, 8, 5])
    by_callable = simulate(wl, policy=lambda w: -w.procs, backfill="none")
    by_expr = simulate(wl, policy="expr:-n", backfill="none")
    builtin = simulate(wl, policy="largest", backfill="none")
    assert by_callable.start.tolist() == by_expr.start.tolist() == builtin.start.tolist() == [0, 20, 10, 20]


def test_simulator_path_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, schedlab.workload, schedlab.simulator, schedlab.policies, schedlab.metrics, schedlab.cli;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
