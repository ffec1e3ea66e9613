"""The kept EASY reservation (:func:`schedlab.simulator.multires.reserve.end_keeps`): the compiled
engine keeps the blocked job's reservation across job ends when it provably stays what a new one
would be; the RL stepper makes it anew at every pass.  On random machines where jobs end long
before their estimates (the case that moves candidates and first-fit's pick), both must give the
same schedule, job for job."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.cluster import NodeType
from schedlab.rl.multires_env import MultiSchedulingEnv
from schedlab.rl.options import EnvOptions
from schedlab.simulator import SimConfig, simulate
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload
from tests.helpers import two_partition_cluster


@st.composite
def busy_machines(draw):
    n_cpu, n_gpu = draw(st.integers(2, 6)), draw(st.integers(0, 3))
    types = [NodeType("c", n_cpu, draw(st.sampled_from([4, 8])), mem_mib=64)]
    if n_gpu:
        types.append(NodeType("g", n_gpu, 8, gpus=2, mem_mib=64))
    c = two_partition_cluster(draw, types, n_cpu, n_gpu)
    n = draw(st.integers(10, 60))
    ints = lambda lo, hi: draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))
    run = np.array(ints(1, 100), dtype=float)
    submit = np.cumsum(ints(0, 8)).astype(float)  # faster than the machine drains them: queues form
    res = {"nodes": ints(1, n_cpu), "cpus_per_node": ints(1, 8), "mem_per_node": ints(0, 64)}
    if n_gpu:
        res |= {"gpus_per_node": ints(0, 2), "partition": draw(st.lists(st.sampled_from(["", "gpu"]), min_size=n,
                                                                        max_size=n))}  # fmt: skip
    w = Workload(
        name="rand", job_id=np.arange(1, n + 1), submit=submit, run=run,
        req_time=run * np.array(ints(1, 5)),  # most jobs end well before their estimate
        procs=np.ones(n, dtype=np.int64), user=np.arange(n, dtype=np.int64), raw_submit=submit,
        status=np.ones(n, dtype=np.int64), max_procs=1, max_nodes=1, resources=JobResources.build(n, **res),
    )  # fmt: skip
    return c, w


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(busy_machines(), st.sampled_from(["fcfs", "sjf"]))
def test_kept_reservation_gives_the_schedule_of_a_fresh_one(case, order):
    cluster, w = case
    try:
        r = simulate(w, SimConfig(policy=order, backfill="easy", cluster=cluster))
    except ValueError:  # every job refused by this machine
        return
    env = MultiSchedulingEnv(  # on the jobs the machine accepts
        r.workload, EnvOptions(window_len=None, split="all", visible=4, queue_order=order, backfill="easy"),
        cluster=cluster,
    )  # fmt: skip
    env.reset(seed=0)
    done = False
    while not done:
        _, _, done, _, _ = env.step(0)
    assert np.array_equal(env.start, r.start - r.workload.submit[0])
