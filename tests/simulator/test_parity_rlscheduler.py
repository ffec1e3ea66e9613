"""The rlscheduler preset reproduces RLScheduler's (SC20) published heuristic table, all 40 cells."""

from __future__ import annotations

import gzip
from functools import cache

import numpy as np
import pytest

from schedlab.simulator import SimConfig, simulate
from schedlab.simulator.parity.rlscheduler import (
    PUBLISHED,
    TABLE_POLICIES,
    reproduce_table,
    rlscheduler_window_metrics,
    simulate_rlscheduler,
)
from schedlab.workload import load_trace
from schedlab.workload.table import Workload


@cache
def _table(trace: str) -> dict:
    return reproduce_table(trace)


CELLS = [
    (trace, metric, backfill, policy, value)
    for trace, metrics in PUBLISHED.items()
    for metric, modes in metrics.items()
    for backfill, values in modes.items()
    for policy, value in zip(TABLE_POLICIES, values, strict=False)
]


def test_forty_cells_listed():
    assert len(CELLS) == 40


@pytest.mark.parametrize(
    "trace,metric,backfill,policy,published", CELLS, ids=[f"{t}-{m}-{b}-{p}" for t, m, b, p, _ in CELLS]
)
def test_published_table_cell(trace, metric, backfill, policy, published):
    digits = 2 if metric == "mean_bsld" else 3
    ours = _table(trace)[metric][backfill][policy]
    assert round(ours, digits) == pytest.approx(published, abs=1e-9), f"ours {ours} vs published {published}"


def _workload(submit, run, procs, req=None, max_procs=4, max_nodes=4, raw_offset=1000.0) -> Workload:
    n = len(submit)
    submit = np.asarray(submit, dtype=np.float64)
    run = np.asarray(run, dtype=np.float64)
    return Workload(
        name="toy",
        job_id=np.arange(1, n + 1),
        submit=submit,
        run=run,
        req_time=run.copy() if req is None else np.asarray(req, dtype=np.float64),
        procs=np.asarray(procs, dtype=np.int64),
        user=np.ones(n, dtype=np.int64),
        raw_submit=submit + raw_offset,
        status=np.ones(n, dtype=np.int64),
        max_procs=max_procs,
        max_nodes=max_nodes,
        rules="rlscheduler",
    )


# A (2 of 4 nodes, 0-10), B (4 nodes) blocked until 10; C (run 7, submit 2) ends at 9 < 10 and
# backfills; D (run 7, submit 3) would end at 10, not strictly before the shadow time: no backfill.
TOY = dict(submit=[0, 1, 2, 3], run=[10, 5, 7, 7], procs=[2, 4, 1, 1])


def test_toy_easy_backfill_strict_shadow():
    res = simulate(_workload(**TOY), SimConfig(policy="fcfs", backfill="easy", preset="rlscheduler"))
    assert res.start.tolist() == [0, 10, 2, 15]
    assert res.extra["start_order"].tolist() == [0, 2, 1, 3]


def test_toy_no_backfill():
    res = simulate(_workload(**TOY), SimConfig(policy="fcfs", backfill="none", preset="rlscheduler"))
    assert res.start.tolist() == [0, 10, 15, 15]
    m = rlscheduler_window_metrics(res)
    bsld = np.maximum(1, (res.wait + res.run) / np.maximum(res.run, 10))
    assert m["mean_bsld"] == pytest.approx(bsld.mean())
    assert m["utilization"] == pytest.approx((10 * 2 + 5 * 4 + 7 + 7) / (15 * 4))


def test_toy_backfill_when_end_before_shadow():
    toy = dict(TOY, run=[10, 5, 7, 6])  # D now ends at 9 < 10: it backfills at 3
    res = simulate(_workload(**toy), SimConfig(policy="fcfs", backfill="easy", preset="rlscheduler"))
    assert res.start.tolist() == [0, 10, 2, 3]


def test_whole_nodes():
    # 8 processors on 4 nodes: a 3-processor job takes 2 nodes, so two of them cannot share
    wl = _workload(submit=[0, 0, 0], run=[10, 10, 10], procs=[3, 3, 3], max_procs=8, max_nodes=4)
    res = simulate(wl, SimConfig(policy="fcfs", backfill="none", preset="rlscheduler"))
    assert res.start.tolist() == [0, 0, 10]
    assert res.size.tolist() == [2, 2, 2] and res.capacity == 4


def test_result_shape_on_full_workload():
    wl = load_trace("lublin_256", rules="rlscheduler")
    res = simulate_rlscheduler(wl, SimConfig(policy="sjf", backfill="easy", preset="rlscheduler"))
    assert len(res.start) == len(wl)
    assert np.all(res.start >= wl.submit)
    np.testing.assert_array_equal(res.end, res.start + wl.run)
    np.testing.assert_array_equal(res.run, wl.run)
    assert np.all(np.isinf(res.reservation))
    assert res.capacity == wl.max_nodes and res.sim_seconds > 0
    assert sorted(res.extra["start_order"].tolist()) == list(range(len(wl)))


def test_conservative_refused():
    with pytest.raises(ValueError, match="conservative"):
        simulate(_workload(**TOY), SimConfig(policy="fcfs", backfill="conservative", preset="rlscheduler"))


@pytest.mark.parametrize("policy", ["f2", "f3", "f4", "saf", "ljf", "smallest", "largest", "laf"])
def test_other_policies_run(policy):
    res = simulate(_workload(**TOY), SimConfig(policy=policy, backfill="easy", preset="rlscheduler"))
    assert np.all(res.start >= res.workload.submit)


def test_loader_rules(tmp_path):
    # job 3 has runtime 0 (dropped); job 2 runtime -1 -> 10 s and, as in their Job(), requested
    # time -1 -> the runtime as written (-1); processors = max(allocated, requested); job order.
    lines = [
        "; MaxNodes: 4",
        "2 5 0 -1 2 -1 -1 1 -1 -1 1 1 1 1 1 1 -1 -1",
        "1 0 0 50 1 -1 -1 3 80 -1 1 1 1 1 1 1 -1 -1",
        "3 9 0 0 1 -1 -1 1 -1 -1 1 1 1 1 1 1 -1 -1",
    ]
    path = tmp_path / "toy.swf.gz"
    with gzip.open(path, "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    wl = load_trace(str(path), rules="rlscheduler")
    assert wl.job_id.tolist() == [1, 2]
    assert wl.run.tolist() == [50, 10]
    assert wl.req_time.tolist() == [80, -1]
    assert wl.procs.tolist() == [3, 2]
    assert wl.max_procs == 4 and wl.max_nodes == 4
