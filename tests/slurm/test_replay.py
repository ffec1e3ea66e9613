"""Replay parity on a real Slurm: a 40-job mixed trace (CPU and GPU jobs, five users, two
partitions) replayed into a 4-node GPU Slurm on loopback at 60 simulated seconds per real second
(about two minutes), compared with schedlab's `slurm` preset; Slurm's records load as a workload."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from schedlab.errors import SchedlabError
from schedlab.slurm import harness
from schedlab.slurm.jobcomp import parse_line, to_sacct
from schedlab.slurm.replay import kendall_tau, replay, write_replay
from schedlab.workload import load_trace

MIXED40 = Path(__file__).with_name("mixed40.csv")

LINE = (
    "JobId=3 UserId=root(0) GroupId=root(0) Name=wrap JobState=COMPLETED Partition=cpu TimeLimit=1 "
    "StartTime=2026-12-06T22:27:38 EndTime=2026-12-06T22:27:39 NodeList=n[1-2] NodeCnt=2 ProcCnt=2 WorkDir=/tmp "
    "ReservationName= Tres=cpu=2,mem=16000M,node=2,billing=2 Account= QOS= WcKey= Cluster=unknown "
    "SubmitTime=2026-12-06T22:27:30 EligibleTime=2026-12-06T22:27:30 DerivedExitCode=0:0 ExitCode=0:0 "
)


def test_jobcomp_record_to_sacct_loads_as_a_trace(tmp_path):
    rec = parse_line(LINE)
    assert rec["job_id"] == 3 and rec["end"] - rec["start"] == 1 and rec["time_limit_min"] == 1
    path = tmp_path / "jobs.txt"
    path.write_text(to_sacct([rec], gpus={3: 4}))
    wl = load_trace(path)
    assert len(wl) == 1 and wl.run[0] == 1 and wl.req_time[0] == 60
    assert wl.resources.nodes[0] == 2 and wl.resources.gpus_per_node[0] == 2


def test_not_a_jobcomp_line():
    with pytest.raises(SchedlabError, match="not a jobcomp"):
        parse_line("hello world")


def test_kendall_tau():
    assert kendall_tau([1, 2, 3], [10, 20, 30]) == 1.0 and kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0


@pytest.mark.slow
def test_replay_parity_40_jobs(loopback_slurm, tmp_path):
    result = replay(loopback_slurm.folder, MIXED40, time_scale=60, max_wall_s=300)
    s = result.summary
    out = tmp_path / "out"
    out.mkdir()
    write_replay(out, result, harness.load_state(loopback_slurm.folder))
    print(json.dumps({k: v for k, v in s.items() if k not in ("notes", "scheduler")}))
    assert s["jobs"] == 40 and s["completed"] == 40
    assert s["kendall_tau"] >= 0.9
    assert s["median_abs_start_dev_s"] <= s["sched_interval_s"] == 120
    rows = result.rows
    assert {r["partition"] for r in rows} == {"cpu", "gpu"} and any(r["gpus_per_node"] for r in rows)
    assert all(r["real_start_s"] >= r["begin_s"] for r in rows)
    # what Slurm recorded loads as a workload, with the trace's requests
    wl = load_trace(out / "slurm_jobs.txt")
    assert len(wl) == 40
    trace = load_trace(MIXED40)
    assert np.array_equal(np.sort(wl.resources.gpus_per_node), np.sort(trace.resources.gpus_per_node))
    assert sorted(wl.resources.names["partition"]) == ["cpu", "gpu"]
    assert (out / "jobs.csv").exists() and json.loads((out / "summary.json").read_text())["jobs"] == 40


def test_replay_refuses_a_trace_too_long_for_the_limit(loopback_slurm):
    with pytest.raises(SchedlabError, match="would take about"):
        replay(loopback_slurm.folder, MIXED40, time_scale=60, max_wall_s=10)


def test_replay_refuses_unknown_partition(loopback_slurm, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(MIXED40.read_text().replace(",gpu,", ",nosuch,", 1))
    with pytest.raises(SchedlabError, match="partition 'nosuch' is not in this Slurm"):
        replay(loopback_slurm.folder, bad, time_scale=60)
