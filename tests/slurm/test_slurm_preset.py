"""``--preset slurm``: the Slurm model as a simulator preset on a machine description (no Slurm
needed): its timers worked by hand, the machine's invariants on a mixed trace, clear refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schedlab.cluster import NodeType, build_cluster
from schedlab.errors import SchedlabError
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace
from tests.simulator.test_multires import check_invariants, jobs

HERE = Path(__file__).resolve().parent


def one_node():
    return build_cluster("one", [NodeType("n", 1, 8)], [], allocation="shared")


def test_timers_decide_when_a_job_starts():
    # one idle 8-CPU node; a job arrives at t=10.  sched/backfill's cycle (every 30 s) starts it at
    # 30; with sched/builtin only the main scheduler's period (60 s) does, at 60.  A second job
    # arriving at 70 while the first still runs (100 s) fits beside it: next cycle, 90 / 120.
    w = jobs([10, 70], [100, 50], req=[600, 600], nodes=[1, 1], cpus_per_node=[4, 4])
    easy = simulate(w, SimConfig(preset="slurm", backfill="easy", cluster=one_node()))
    builtin = simulate(w, SimConfig(preset="slurm", backfill="none", cluster=one_node()))
    assert list(easy.start) == [30, 90]
    assert list(builtin.start) == [60, 120]


def test_a_mixed_trace_keeps_every_resource_within_its_node():
    cluster = str(HERE / "loop4.toml")
    wl = load_trace(str(HERE / "mixed40.csv"))
    r = simulate(wl, SimConfig(preset="slurm", policy="multifactor", backfill="easy", cluster=cluster))
    assert len(r.start) == 40 and np.isfinite(r.start).all()
    check_invariants(r, r.extra["multires"]["cluster"])
    fifo = simulate(wl, SimConfig(preset="slurm", policy="fcfs", backfill="none", cluster=cluster))
    assert np.mean(fifo.start - fifo.workload.submit) >= np.mean(r.start - r.workload.submit)


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({}, "give --cluster"),
        ({"cluster": "polaris", "policy": "sjf"}, "multifactor or fcfs"),
        ({"cluster": "polaris", "backfill": "conservative"}, "sched/backfill"),
    ],
)
def test_what_the_preset_cannot_do_is_refused(cfg, message):
    w = jobs([0], [10], nodes=[1], cpus_per_node=[1])
    with pytest.raises(SchedlabError, match=message):
        simulate(w, SimConfig(preset="slurm", **cfg))
