"""The cqsim preset against CQSim's own output (theta_2022) and hand-worked schedules."""

import numpy as np
import pytest

from schedlab.metrics import result_metrics, utilization_series
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace
from tests.helpers import make_workload

# CQSim (SPEAR-UIC/CQSim), FCFS + EASY, whole theta_2022 trace; means over all 23,911 jobs,
# bounded slowdown with a 10 s threshold.
CQSIM_THETA_MEAN_WAIT = 31_587.60
CQSIM_THETA_MEAN_BSLD = 56.056


@pytest.fixture(scope="module")
def theta():
    return load_trace("theta_2022", rules="cqsim")


def test_theta_2022_fcfs_easy_matches_cqsim(theta):
    r = simulate(theta, SimConfig(policy="fcfs", backfill="easy", preset="cqsim"))
    m = result_metrics(r)
    assert m["jobs"] == 23_911
    assert m["mean_wait"] == pytest.approx(CQSIM_THETA_MEAN_WAIT, rel=0.02)
    assert m["mean_bsld"] == pytest.approx(CQSIM_THETA_MEAN_BSLD, rel=0.02)
    # in fact identical to CQSim's printed precision
    assert m["mean_wait"] == pytest.approx(CQSIM_THETA_MEAN_WAIT, abs=0.01)
    assert m["mean_bsld"] == pytest.approx(CQSIM_THETA_MEAN_BSLD, abs=0.001)
    _, used = utilization_series(r.start, r.end, r.size, r.capacity)
    assert used.max() <= 1.0
    assert np.all(r.start >= theta.submit)


@pytest.mark.parametrize("policy", ["sjf", "saf"])
def test_theta_2022_other_static_policies_run(theta, policy):
    r = simulate(theta, SimConfig(policy=policy, backfill="easy", preset="cqsim"))
    assert np.all(np.isfinite(r.start)) and np.all(r.start >= theta.submit)
    _, used = utilization_series(r.start, r.end, r.size, r.capacity)
    assert used.max() <= 1.0


# cqsim_test: the first 9 KTH SP2 jobs, 100 processors (job: submit, run, request, procs)
#   J1 0 4000 4000 40 | J2 1000 2000 2000 80 | J3 2000 1000 1000 90 | J4 3000 5000 5000 20
#   J5 4000 3000 3000 60 | J6 5000 3000 3000 50 | J7 6000 2000 3000 50 | J8 8000 1000 5000 50
#   J9 8000 5000 5000 10
# EASY, worked by hand:
#   3000  J2 (80) is the head, reserved at 4000 (J1's planned end) -> 20 free there; J4 (20 procs,
#         [3000, 8000)) fits everywhere: backfilled at 3000.
#   4000  J1 ends: J2 starts.  J3 (90) head, reserved at 8000.
#   6000  J2 ends (finish before J7's submit at the same second): J3 reserved at 8000 for 1000 s,
#         J5/J6 (3000 s) would cross it.  Then J7 arrives, a pass of its own: 50 procs over
#         [6000, 8000) fit (80 free): backfilled at 6000.
#   8000  J4 then J7 end (two passes).  After J4: J3 still blocked.  After J7: J3 starts (10
#         free).  J5 head reserved at 9000 (J3's end).  J8 arrives (needs 50): no.  J9 arrives,
#         10 procs over [8000, 13000): backfilled at 8000.
#   9000  J3 ends: J5 starts (30 free left); J6 reserved at 12000.  J6 12000, J8 13000.
CQSIM_TEST_EASY = [0, 4000, 8000, 3000, 9000, 12000, 6000, 13000, 8000]
# No backfill: CQSim's own result file for this trace (data/Results/test.rst in its repository).
CQSIM_TEST_NONE = [0, 4000, 6000, 7000, 7000, 10000, 12000, 13000, 14000]


def test_cqsim_test_trace_easy_by_hand():
    wl = load_trace("cqsim_test", rules="cqsim")
    r = simulate(wl, SimConfig(policy="fcfs", backfill="easy", preset="cqsim"))
    assert r.start.tolist() == CQSIM_TEST_EASY
    assert r.capacity == 100
    # head reservations (the last one each job got while blocked at the head)
    assert r.reservation[[1, 2, 4, 5]].tolist() == [4000, 9000, 9000, 12000]


def test_cqsim_test_trace_no_backfill_matches_cqsim_result_file():
    wl = load_trace("cqsim_test", rules="cqsim")
    r = simulate(wl, SimConfig(policy="fcfs", backfill="none", preset="cqsim"))
    assert r.start.tolist() == CQSIM_TEST_NONE


# Capacity 10.  A and B (5 procs each) run [0, 10); H (10 procs) is the blocked head; C (5 procs,
# 5 s) waits.  At 10 both A and B finish, and CQSim runs one pass per finish event, in the order
# the jobs were started.
#   B requested 50 s: after A's finish the profile still thinks B ends at 50, so H is reserved at
#   50 and C (ends 15) is backfilled into A's processors; after B's finish H no longer fits and
#   waits for C: H 15, C 10.  One pass per time (textbook engine) starts H at 10 and C at 20.
#   A requested 50 s instead: after A's finish B is due *now*, which gives the profile a second
#   point at 10 with 10 free; H is reserved there, C no longer fits, and H starts at 10.
@pytest.mark.parametrize(
    "req,cqsim,textbook",
    [
        ([10, 50, 10, 5], [0, 0, 15, 10], [0, 0, 10, 20]),
        ([50, 10, 10, 5], [0, 0, 10, 20], [0, 0, 10, 20]),
    ],
)
def test_one_pass_per_event_and_finish_order(req, cqsim, textbook):
    wl = make_workload(submit=[0, 0, 1, 2], run=[10, 10, 10, 5], req_time=req, procs=[5, 5, 10, 5], capacity=10)
    assert simulate(wl, SimConfig(preset="cqsim")).start.tolist() == cqsim
    assert simulate(wl, SimConfig()).start.tolist() == textbook


def test_runtime_clipped_to_request():
    wl = make_workload(submit=[0, 1], run=[100, 5], req_time=[10, 5], procs=[10, 10], capacity=10)
    r = simulate(wl, SimConfig(preset="cqsim", backfill="none"))
    assert r.run.tolist() == [10, 5]
    assert r.start.tolist() == [0, 10]


def test_unsupported_options_are_clear_errors():
    wl = make_workload(submit=[0], run=[1], procs=[1])
    with pytest.raises(ValueError, match="conservative"):
        simulate(wl, SimConfig(preset="cqsim", backfill="conservative"))
    with pytest.raises(ValueError, match="static"):
        simulate(wl, SimConfig(preset="cqsim", policy="wfp3"))
    with pytest.raises(ValueError, match="machine has"):
        simulate(make_workload(submit=[0], run=[1], procs=[11], capacity=10), SimConfig(preset="cqsim"))
