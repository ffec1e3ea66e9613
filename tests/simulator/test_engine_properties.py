"""Invariants of every schedule, over many random workloads (hypothesis).

For every policy x backfill x capacity unit x estimate source x kill mode:
  * never more capacity in use than the machine has (ends apply before starts at equal times)
  * no job starts before its submit; every job starts
  * every job ends exactly at start + (clipped) runtime
  * FCFS without backfilling starts jobs in submit order
  * EASY never starts the head job later than the reservation it got when it became head
  * conservative never starts a job later than its reservation
  (the two reservation guarantees hold when running jobs never outlive their estimates:
   jobs killed at the request, or perfect estimates)
  * the same inputs give bit-identical outputs
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.policies import POLICY_NAMES
from schedlab.simulator import SimConfig, simulate
from tests.helpers import make_workload


@st.composite
def workloads(draw):
    nodes = draw(st.integers(1, 8))
    per_node = draw(st.integers(1, 4))
    capacity = nodes * per_node
    n = draw(st.integers(1, 40))
    gaps = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    submit = np.cumsum(gaps).astype(float)
    run = draw(st.lists(st.integers(1, 100), min_size=n, max_size=n))
    # requested time: sometimes shorter than the runtime (killed / overrun), mostly longer
    req = [max(1, r + draw(st.integers(-20, 80))) for r in run]
    procs = draw(st.lists(st.integers(1, capacity), min_size=n, max_size=n))
    users = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    return make_workload(submit, run, procs, req_time=req, capacity=capacity, nodes=nodes, user=users)


configs = st.builds(
    SimConfig,
    policy=st.sampled_from(POLICY_NAMES),
    backfill=st.sampled_from(["none", "easy", "conservative"]),
    capacity_unit=st.sampled_from(["procs", "nodes"]),
    estimates=st.sampled_from(["requested", "actual"]),
    kill_at_request=st.booleans(),
)


def max_usage(start, end, size):
    times = np.concatenate([end, start])
    delta = np.concatenate([-size, size])
    order = np.lexsort((delta, times))  # at equal times, ends (-) before starts (+)
    return np.cumsum(delta[order]).max()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(wl=workloads(), cfg=configs)
def test_schedule_invariants(wl, cfg):
    r = simulate(wl, cfg)
    assert np.all(r.start >= wl.submit), "a job started before its submit"
    assert max_usage(r.start, r.end, r.size) <= r.capacity, "capacity overcommitted"
    expected_run = np.minimum(wl.run, wl.req_time) if cfg.kill_at_request else wl.run
    assert np.array_equal(r.end, r.start + expected_run)
    assert np.array_equal(r.run, expected_run)
    if cfg.policy == "fcfs" and cfg.backfill == "none":
        assert np.all(np.diff(r.start) >= 0), "FCFS without backfilling must start in submit order"
    guaranteed = cfg.kill_at_request or cfg.estimates == "actual"
    if guaranteed and cfg.backfill in ("easy", "conservative"):
        has = np.isfinite(r.reservation)
        late = r.start[has] > r.reservation[has]
        assert not late.any(), f"{cfg.backfill}: a job started after its reservation"
    again = simulate(wl, cfg)
    assert np.array_equal(r.start, again.start) and np.array_equal(r.reservation, again.reservation)


def fcfs_no_backfill_oracle(submit, run, size, capacity):
    """Strict FCFS by hand: each job starts at the first event time, no earlier than its submit
    and its predecessor's start, when the jobs already started leave room for it."""
    starts, ends = [], []
    prev = 0.0
    for s, r, z in zip(submit, run, size, strict=False):
        t = max(s, prev)
        while sum(zz for st, en, zz in zip(starts, ends, size, strict=False) if st <= t < en) + z > capacity:
            t = min(e for e in ends if e > t)
        starts.append(t)
        ends.append(t + r)
        prev = t
    return np.array(starts)


@settings(max_examples=300, deadline=None)
@given(wl=workloads(), unit=st.sampled_from(["procs", "nodes"]))
def test_fcfs_without_backfill_matches_a_hand_written_oracle(wl, unit):
    r = simulate(wl, policy="fcfs", backfill="none", capacity_unit=unit)
    assert np.array_equal(r.start, fcfs_no_backfill_oracle(wl.submit, r.run, r.size, r.capacity))
