"""An RL agent under RLScheduler's protocol: agents that imitate FCFS and SJF through the
observation/mask/slot interface reproduce the parity loop's heuristic results exactly."""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from schedlab.rl.rlscheduler_protocol import (
    _their_visible,
    obs_size,
    observe_rlscheduler,
    rlscheduler_table_agent,
    simulate_rlscheduler_agent,
)
from schedlab.simulator import SimConfig
from schedlab.simulator.parity.rlscheduler import (
    PUBLISHED,
    TABLE_POLICIES,
    TABLE_WINDOW_LENGTH,
    TABLE_WINDOW_STARTS,
    rlscheduler_window_metrics,
    simulate_rlscheduler,
)
from schedlab.simulator.stepper import CLUSTER_FEATURES, HORIZONS, JOB_FEATURES, N_JOB_FEATURES
from schedlab.workload import load_trace

F = N_JOB_FEATURES
JF = {name: k for k, name in enumerate(JOB_FEATURES)}
CF = {name: k for k, name in enumerate(CLUSTER_FEATURES)}


@cache
def _trace():
    return load_trace("lublin_256", rules="rlscheduler")


@cache
def _window(start: int):
    return _trace().window(int(start), TABLE_WINDOW_LENGTH)


class Fcfs:
    """Always slot 0, and checks every observation it gets."""

    def __init__(self, visible=128, stop=False):
        self.env_kwargs = {"visible": visible, "backfill": "agent" if stop else "easy"}
        self.checked = 0

    def act(self, obs, mask):
        W = self.env_kwargs["visible"]
        assert obs.dtype == np.float32 and obs.shape == (obs_size(W),)
        assert mask.dtype == np.bool_ and mask.shape == (W + (self.env_kwargs["backfill"] == "agent"),)
        assert np.all((obs >= 0) & (obs <= 1))
        valid = obs[: W * F].reshape(W, F)[:, JF["valid"]]
        np.testing.assert_array_equal(mask[:W], valid == 1)  # the mask marks exactly the visible jobs
        n = int(mask[:W].sum())
        assert n >= 1 and mask[:n].all() and not mask[n:].any()  # visible jobs fill the first slots; no stop
        assert obs[W * F + CF["phase"]] == 0
        self.checked += 1
        return 0


class Sjf:
    """Picks, among the visible slots, the job SJF's sort would put first: the smallest
    (requested time, submit as written), earliest slot on ties.  Sees the window's job data and,
    through ``on_decision``, which job is in which slot."""

    def __init__(self, window, visible):
        self.env_kwargs = {"visible": visible, "backfill": "easy"}
        self.r = [float(v) for v in window.req_time]
        self.s = [float(v) for v in window.raw_submit]
        self.slots = None

    def on_decision(self, jobs, now):
        self.slots = jobs.tolist()

    def act(self, obs, mask):
        assert mask[: len(self.slots)].all() and not mask[len(self.slots) :].any()
        return min(range(len(self.slots)), key=lambda k: (self.r[self.slots[k]], self.s[self.slots[k]]))


def _heuristic(window, policy, backfill):
    return simulate_rlscheduler(window, SimConfig(policy=policy, backfill=backfill, preset="rlscheduler"))


def _same(agent, heur):
    np.testing.assert_array_equal(agent.start, heur.start)
    np.testing.assert_array_equal(agent.extra["start_order"], heur.extra["start_order"])
    assert rlscheduler_window_metrics(agent) == rlscheduler_window_metrics(heur)


@pytest.mark.parametrize("backfill", ["easy", "none"])
def test_fcfs_agent_reproduces_fcfs(backfill):
    pol = Fcfs(visible=128)
    decisions = 0
    for s in TABLE_WINDOW_STARTS[:4]:
        w = _window(s)
        res = simulate_rlscheduler_agent(w, pol, backfill=backfill == "easy")
        _same(res, _heuristic(w, "fcfs", backfill))
        assert res.extra["invalid_actions"] == 0
        decisions += res.extra["decisions"]
    # one decision per job the loop starts from the queue (not the jobs backfilled around it)
    assert pol.checked == decisions >= (4 * TABLE_WINDOW_LENGTH if backfill == "none" else 400)


@pytest.mark.parametrize("backfill", ["easy", "none"])
def test_sjf_agent_reproduces_sjf_on_the_published_windows(backfill):
    # W = 256 is more than the longest SJF queue on these windows (138), so SJF's job is always visible
    bsld, util = [], []
    for s in TABLE_WINDOW_STARTS:
        w = _window(s)
        pol = Sjf(w, visible=256)
        res = simulate_rlscheduler_agent(w, pol, backfill=backfill == "easy", on_decision=pol.on_decision)
        _same(res, _heuristic(w, "sjf", backfill))
        m = rlscheduler_window_metrics(res)
        bsld.append(m["mean_bsld"])
        util.append(m["utilization"])
    k = TABLE_POLICIES.index("sjf")
    assert round(float(np.mean(bsld)), 2) == PUBLISHED["lublin_256"]["mean_bsld"][backfill][k]
    assert round(float(np.mean(util)), 3) == PUBLISHED["lublin_256"]["utilization"][backfill][k]


def test_sjf_agent_with_their_visibility():
    # their published visibility shows SJF's order first once the queue exceeds W: W = 128 suffices
    for s in TABLE_WINDOW_STARTS[:4]:
        w = _window(s)
        pol = Sjf(w, visible=128)
        res = simulate_rlscheduler_agent(w, pol, backfill=False, visibility="rlscheduler", on_decision=pol.on_decision)
        _same(res, _heuristic(w, "sjf", "none"))


def test_table_agent_fcfs_matches_published():
    out = rlscheduler_table_agent(Fcfs(visible=128, stop=True), trace=_trace())
    assert len(out["windows"]) == 10 and out["backfill"] == "easy"
    assert [w["start"] for w in out["windows"]] == list(TABLE_WINDOW_STARTS)
    assert round(out["mean_bsld"], 2) == PUBLISHED["lublin_256"]["mean_bsld"]["easy"][0]
    assert round(out["utilization"], 3) == PUBLISHED["lublin_256"]["utilization"]["easy"][0]


def test_observation_by_hand():
    # 4 nodes; job 0 (2 nodes) and job 1 (1 node) running; 1 node free at t = 100
    submit = np.array([0.0, 10.0, 40.0, 90.0, 95.0])
    req = np.array([600.0, 3000.0, 120.0, 7200.0, 5.0])
    nodes = np.array([2, 1, 3, 1, 1], dtype=np.int64)
    start = [0.0, 10.0, -1.0, -1.0, -1.0]
    W = 2
    obs, mask = observe_rlscheduler(W, 4, 100.0, 1, [2, 3, 4], [1, 0], submit, req, nodes, start, n_actions=W + 1)
    assert mask.tolist() == [True, True, False]

    def logmin(x):
        return min(np.log1p(max(x, 0) / 60) / np.log1p(10080), 1.0)

    row0, row1, g = obs[:F], obs[F : 2 * F], obs[W * F :]
    assert row0[JF["valid"]] == 1 and row0[JF["fits_now"]] == 0
    assert row0[JF["wait"]] == np.float32(logmin(60)) and row0[JF["req_time"]] == np.float32(logmin(120))
    assert row0[JF["procs"]] == np.float32(3 / 4)
    # 3 nodes: free (1) + job 0's 2 at its requested end 600
    assert row0[JF["start_delay"]] == np.float32(logmin(500))
    assert row0[JF["bsld_if_now"]] == np.float32(np.log10((60 + 120) / 120) / 3)
    assert row1[JF["fits_now"]] == 1 and row1[JF["start_delay"]] == 0
    assert row1[JF["backfillable"]] == 0 and row1[JF["reserved"]] == 0
    assert g[CF["free"]] == np.float32(1 / 4) and g[CF["queue_length"]] == np.float32(3 / 5)
    assert g[CF["phase"]] == 0 and g[CF["resv_delay"]] == 0 and g[CF["extra"]] == 0
    # requested ends: job 0 at 600 (+2), job 1 at 3010 (+1)
    expect = [1 + 2 * (100 + h >= 600) + 1 * (100 + h >= 3010) for h in HORIZONS]
    np.testing.assert_array_equal(
        g[CF["free_by_10min"] : CF["free_by_10min"] + len(HORIZONS)], np.float32(np.array(expect) / 4)
    )


def test_their_visible_interleaves_sjf_and_smallest():
    # 4 jobs, W = 2: SJF order 3, 1, ...; smallest order 2, ...
    sub = [0.0, 1.0, 2.0, 3.0]
    r = [50, 20, 40, 10]
    n = [4, 3, 1, 2]
    keys = [
        lambda j: r[j] * n[j] + sub[j],
        lambda j: r[j] + n[j],  # stand-ins for f1, f2
        lambda j: (r[j], sub[j]),
        lambda j: (n[j], sub[j]),
    ]
    queue = [3, 2, 1, 0]
    assert _their_visible(queue, 2, sub.__getitem__, keys) == [3, 2]
    assert queue == [2, 3, 1, 0]  # left sorted by smallest, as their code leaves it
    q2 = [1, 0]
    assert _their_visible(q2, 2, sub.__getitem__, keys) == [0, 1]  # <= W: submit order


def test_invalid_action_replaced_and_counted():
    class Bad(Fcfs):
        def act(self, obs, mask):
            return self.env_kwargs["visible"] + 5

    w = _window(TABLE_WINDOW_STARTS[0])
    res = simulate_rlscheduler_agent(w, Bad(visible=16), backfill=True)
    assert res.extra["invalid_actions"] == res.extra["decisions"] > 0
    _same(res, _heuristic(w, "fcfs", "easy"))
    assert res.config.preset == "rlscheduler" and res.config.capacity_unit == "nodes"
