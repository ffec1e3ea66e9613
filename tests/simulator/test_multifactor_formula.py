"""Slurm's multifactor priority computed by hand from the documented formulas
(https://slurm.schedmd.com/priority_multifactor.html, https://slurm.schedmd.com/fair_tree.html)
against schedlab's compiled functions, and the queue order it gives end to end."""

from __future__ import annotations

import math

import numpy as np

from schedlab.cluster import QOS, NodeType, PriorityConfig, build_cluster
from schedlab.simulator import SimConfig, simulate
from schedlab.simulator.multires import priority as mp
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload

# two accounts: A (3 shares; users a1, a2) and B (1 share; user b1); usage in CPU-seconds
USAGE = np.array([500.0, 100.0, 400.0])  # a1, a2, b1
ASSOC_ACCT = np.array([0, 0, 1])
SHARES = np.array([3.0, 1.0])
USERS = np.array([2, 1])


def test_classic_fair_share_by_hand():
    # F = 2^(-U/S): U the association's share of all usage, S its share of the machine (the
    # account's shares / all shares, split among its users).
    #   a1: U = 500/1000 = 0.5, S = 3/4/2 = 0.375 -> 2^(-4/3) = 0.39685
    #   a2: U = 0.1, S = 0.375 -> 2^(-0.26667) = 0.83124;   b1: U = 0.4, S = 0.25 -> 2^(-1.6) = 0.32988
    out = np.empty(3)
    mp.fairshare_factors(mp.FS_CLASSIC, USAGE, ASSOC_ACCT, SHARES, USERS, out)
    assert np.allclose(out, [2 ** (-0.5 / 0.375), 2 ** (-0.1 / 0.375), 2 ** (-0.4 / 0.25)])
    assert np.allclose(out, [0.39685, 0.83124, 0.32988], atol=1e-5)


def test_fair_tree_by_hand():
    # Level FS = S / U among siblings.  Accounts: A = 0.75 / 0.6 = 1.25, B = 0.25 / 0.4 = 0.625,
    # so A's users come first.  Within A: a1 = 0.5 / (500/600) = 0.6, a2 = 0.5 / (100/600) = 3.
    # Depth-first order a2, a1, b1; with N = 3 users the n-th gets (N - n + 1) / N: 1, 2/3, 1/3.
    out = np.empty(3)
    mp.fairshare_factors(mp.FS_FAIR_TREE, USAGE, ASSOC_ACCT, SHARES, USERS, out)
    assert np.allclose(out, [2 / 3, 1.0, 1 / 3])


def test_decay_half_life_by_hand():
    # PriorityDecayHalfLife 7 days, PriorityCalcPeriod 5 min: factor 0.5^(300 / 604800)
    usage, pending = np.array([1000.0]), np.array([60.0])
    mp.decay_usage(usage, pending, 0.5 ** (300 / 604800))
    assert math.isclose(usage[0], 1000 * 0.5 ** (300 / 604800) + 60) and pending[0] == 0.0


def test_job_priority_by_hand():
    # weights: age 1000, fair-share 2000, job size 500, partition 400, QOS 300; PriorityMaxAge
    # 1000 s; the job waited 250 s (age 0.25), fair-share factor 0.39685 (a1 above), 2 of 10
    # nodes (size 0.2), partition PriorityJobFactor 1 of 2 (0.5), QOS priority 50 of 100 (0.5),
    # nice 10:  250 + 793.70 + 100 + 200 + 150 - 10 = 1483.70 -> 1483
    weights = np.zeros(5)
    weights[[mp.W_AGE, mp.W_FS, mp.W_SIZE, mp.W_PART, mp.W_QOS]] = [1000, 2000, 500, 400, 300]
    fs = np.array([2 ** (-0.5 / 0.375)])
    p = mp.job_priority(0, 250.0, np.array([0.0]), weights, 1000.0, np.array([0.2]), np.array([0.5]),
                     np.array([0.5]), np.array([10.0]), np.array([0]), fs)  # fmt: skip
    assert p == 1483.0
    # age saturates at PriorityMaxAge; the priority never goes below 0
    p_old = mp.job_priority(0, 5000.0, np.array([0.0]), weights, 1000.0, np.array([0.2]), np.array([0.5]),
                         np.array([0.5]), np.array([10.0]), np.array([0]), fs)  # fmt: skip
    assert p_old == math.floor(1000 + 2000 * fs[0] + 100 + 200 + 150 - 10)
    neg = mp.job_priority(0, 0.0, np.array([0.0]), np.zeros(5), 1000.0, np.zeros(1), np.zeros(1), np.zeros(1),
                       np.array([5.0]), np.array([0]), fs)  # fmt: skip
    assert neg == 0.0


def test_queue_order_follows_the_hand_computed_priorities():
    """Two 4-CPU nodes, both busy until t = 100 with job 1.  Jobs 2-4 wait; at t = 100 the engine
    starts them in priority order.  PriorityWeightJobSize 1000 (size = nodes / 2 machine nodes),
    PriorityWeightQOS 1000 (QOS 'high' 100, 'low' 10: factors 1 and 0.1), age weight 0:
      job 2: 1 node, low  -> 1000 * 0.5 + 1000 * 0.1 = 600
      job 3: 2 nodes, low -> 1000 * 1.0 + 1000 * 0.1 = 1100
      job 4: 1 node, high -> 1000 * 0.5 + 1000 * 1.0 = 1500
    t = 100: job 4 starts on one node; job 3 needs both: blocked, and with backfill none job 2
    waits behind it.  t = 200: job 3; t = 300: job 2 (FCFS: 2, 3, 4 at 100, 200, 300)."""
    c = build_cluster(
        "two", [NodeType("n", 2, 4)], [], qos=[QOS("high", priority=100), QOS("low", priority=10)],
        allocation="shared", priority=PriorityConfig(weight_job_size=1000, weight_qos=1000, calc_period_s=1.0),
    )  # fmt: skip
    n = 4
    w = Workload(
        name="mf", job_id=np.arange(1, n + 1), submit=np.array([0.0, 1, 2, 3]), run=np.full(n, 100.0),
        req_time=np.full(n, 100.0), procs=np.ones(n, dtype=np.int64), user=np.arange(n),
        raw_submit=np.zeros(n), status=np.ones(n, dtype=np.int64), max_procs=8, max_nodes=2,
        resources=JobResources.build(n, nodes=[2, 1, 2, 1], cpus_per_node=[4, 4, 4, 4],
                                     qos=["low", "low", "low", "high"]),
    )  # fmt: skip
    r = simulate(w, SimConfig(policy="multifactor", backfill="none", cluster=c))
    assert r.start.tolist() == [0.0, 300.0, 200.0, 100.0]
    r = simulate(w, SimConfig(policy="fcfs", backfill="none", cluster=c))
    assert r.start.tolist() == [0.0, 100.0, 200.0, 300.0]
