"""Each metric against numbers computed by hand."""

import numpy as np
import pytest

from schedlab.metrics import bounded_slowdown, jain_index, per_user_wait, queue_length_series, summarize


def test_bounded_slowdown_by_hand():
    # wait 90, run 10 -> 100/10 = 10; wait 0 run 5 -> max(1, 5/10) = 1; wait 20 run 2 -> 22/10
    assert bounded_slowdown([90, 0, 20], [10, 5, 2]).tolist() == [10.0, 1.0, 2.2]
    assert bounded_slowdown([20], [2], tau=1).tolist() == [11.0]


def test_summary_by_hand():
    # capacity 4.  job A: submit 0, start 0, run 10, 4 procs.  job B: submit 2, start 10, run 10, 2 procs.
    # job C: submit 4, start 10, run 5, 2 procs.
    submit = np.array([0, 2, 4.0])
    start = np.array([0, 10, 10.0])
    run = np.array([10, 10, 5.0])
    end = start + run
    size = np.array([4, 2, 2])
    m = summarize(submit, start, end, run, size, 4, user=np.array([1, 1, 2]))
    assert m["mean_wait"] == pytest.approx((0 + 8 + 6) / 3)
    assert m["median_wait"] == 6 and m["max_wait"] == 8
    assert m["p95_wait"] == pytest.approx(6 + 0.9 * 2)  # linear interpolation between 6 and 8
    assert m["mean_bsld"] == pytest.approx((1 + 1.8 + 1.1) / 3)  # 18/10, 11/10
    assert m["mean_turnaround"] == pytest.approx((10 + 18 + 11) / 3)
    assert m["makespan"] == 20  # span: first submit 0 .. last end 20
    assert m["utilization"] == pytest.approx((40 + 20 + 10) / (4 * 20))
    # queue: [2,4) 1 job, [4,10) 2 jobs, else 0 -> time average (2 + 12)/20
    assert m["mean_queue_length"] == pytest.approx(14 / 20) and m["max_queue_length"] == 2
    assert m["worst_user_mean_wait"] == 6 and m["users"] == 2  # user 1: (0+8)/2 = 4, user 2: 6
    assert m["user_wait_jain"] == pytest.approx((4 + 6) ** 2 / (2 * (16 + 36)))


def test_queue_series_counts_start_before_submit_at_same_time():
    t, q = queue_length_series(np.array([0.0, 5.0]), np.array([0.0, 7.0]))
    assert t.tolist() == [0, 5, 7] and q.tolist() == [0, 1, 0]


def test_per_user_and_jain():
    assert per_user_wait(np.array([3, 3, 7]), np.array([2.0, 4.0, 9.0])) == {3: 3.0, 7: 9.0}
    assert jain_index(np.array([5.0, 5.0])) == 1.0
    assert jain_index(np.array([1.0, 0.0])) == 0.5
