"""``schedlab deploy daemon`` against a real Slurm (loopback harness): the SiteFactor values it
writes appear in ``sprio`` and reorder the pending jobs exactly as ``deploy simulate`` predicts;
it never writes a job that is not pending, and says clearly when it lacks the privilege."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.cluster import load_cluster
from schedlab.errors import SchedlabError
from schedlab.slurm import harness
from schedlab.slurm.daemon import Daemon, check_privilege, parse_queue, read_queue, scorer
from schedlab.slurm.deploy_rules import build_rules, submit_tree
from schedlab.slurm.deploy_sim import compare_deployment
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload

LOOP4 = Path(__file__).with_name("loop4.toml")
SHIPPED = "lublin_256-f1-submit"
runner = CliRunner()


def test_parse_queue_layouts_and_hostile_input():
    old = {"jobs": [{"job_id": 7, "job_state": "PENDING", "user_name": "ann", "partition": "cpu", "time_limit": 30,
                     "cpus": 4, "node_count": 1, "submit_time": 100}]}  # fmt: skip
    new = {"jobs": [{"job_id": {"set": True, "number": 8}, "job_state": ["PENDING"], "user_name": "bo",
                     "time_limit": {"set": False, "infinite": False, "number": 0}, "cpus": {"set": True, "number": 2},
                     "node_count": {"set": True, "number": 1}, "submit_time": {"set": True, "number": 5}}]}  # fmt: skip
    a, b = parse_queue(json.dumps(old))[0], parse_queue(json.dumps(new))[0]
    assert (a.job_id, a.state, a.time_limit_s, a.cpus, a.user) == (7, "PENDING", 1800.0, 4, "ann")
    assert (b.job_id, b.state, b.time_limit_s, b.cpus, b.partition) == (8, "PENDING", None, 2, "")
    hostile = [
        ("{", "did not give JSON"),
        ("[]", "no 'jobs' list"),
        ('{"jobs": [1]}', "not an object"),
        ('{"jobs": [{"job_id": "x"}]}', "job_id"),
        ('{"jobs": [{"job_id": 1, "cpus": "4"}]}', "cpus"),
    ]
    for text, msg in hostile:
        with pytest.raises(SchedlabError, match=msg):
            parse_queue(text)


def test_static_policies_rank_the_pending_jobs():
    jobs = parse_queue(json.dumps({"jobs": [
        {"job_id": i, "job_state": "PENDING", "time_limit": t, "cpus": 1, "submit_time": i}
        for i, t in ((1, 600), (2, 10), (3, 60))
    ]}))  # fmt: skip
    values, labels = scorer("sjf", site_max=100).values(jobs)
    assert values == [0, 100, 50] and labels == ["rank 3", "rank 1", "rank 2"]
    with pytest.raises(SchedlabError, match="does not score jobs one by one"):
        scorer("wfp3")
    with pytest.raises(SchedlabError, match="cannot compute when a job is submitted"):
        scorer("theta_2022-dras")


def _sh(state, *args) -> str:
    out = subprocess.run(list(args), env=harness.env(state.folder), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _sbatch(state, limit_min: int, sleep: int) -> int:
    out = _sh(state, "sbatch", "--parsable", "-N4", "--ntasks-per-node=8", "-t", str(limit_min), "-o", "/dev/null",
              "--wrap", f"sleep {sleep}")  # fmt: skip
    return int(out.strip())


def _wait(predicate, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def _jobcomp(state) -> dict[int, dict]:
    path = Path(state.jobcomp)
    rows = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        f = dict(re.findall(r"(\w+)=(\S+)", line))
        rows[int(f["JobId"])] = f
    return rows


def _epoch(text: str) -> float:
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))


def test_privilege_is_checked_with_a_clear_message(loopback_slurm):
    environ = harness.env(loopback_slurm.folder)
    with pytest.raises(SchedlabError, match=r"only Slurm's SlurmUser \(\w+\) or root may; it runs as nobody"):
        check_privilege(environ, uid=65534)


def test_daemon_site_factors_reorder_jobs_as_simulated(loopback_slurm):
    state = loopback_slurm
    blocker = _sbatch(state, 5, 300)  # holds the whole machine while the queue forms
    _wait(lambda: "RUNNING" in _sh(state, "squeue", "-h", "-j", str(blocker), "-o", "%T"))
    limits = [30, 600, 120, 600, 30]  # minutes: rules R3, R6, R5, R6, R3 (nodes as procs: 4)
    ids = [_sbatch(state, t, 1) for t in limits]
    r = runner.invoke(app, ["deploy", "daemon", "--policy", SHIPPED, "--once", "--dir", state.folder,
                            "--unit", "nodes", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout.strip().splitlines()[-1])
    written = {u["job"]: u["site_factor"] for u in record["updated"]}
    assert set(written) == set(ids) and blocker not in written  # the running job is never touched
    rules = build_rules(*submit_tree(SHIPPED))
    site_of = {r.id: r.site for r in rules.rules}
    assert [written[j] for j in ids] == [site_of[k] for k in (3, 6, 5, 6, 3)]
    lines = _sh(state, "sprio", "-l").splitlines()
    head = lines[0].split()
    sprio = {int(v[0]): int(v[head.index("SITE")]) for v in (line.split() for line in lines[1:])}
    assert sprio == written  # sprio's SITE term is what the daemon wrote
    again = Daemon(scorer=scorer(SHIPPED, unit="nodes"), environ=harness.env(state.folder), written=written).cycle()
    assert again["updated"] == [] and again["pending"] == 5  # nothing changed: nothing rewritten
    _sh(state, "scancel", str(blocker))
    done = _wait(lambda: (rows := _jobcomp(state)) and all(j in rows for j in ids) and rows)
    real_order = sorted(ids, key=lambda j: (_epoch(done[j]["StartTime"]), j))
    # the same jobs simulated (sacct's times have whole seconds: the queue as it was when the blocker
    # ended, all five pending in submit order): plain multifactor runs them in submit order, the
    # daemon's site factors reorder them
    n = len(ids) + 1
    wl = Workload(
        name="loop", job_id=np.array([blocker, *ids]), submit=np.arange(n, dtype=np.float64),
        run=np.array([10.0] + [1.0] * len(ids)), req_time=np.array([300.0] + [60.0 * t for t in limits]),
        procs=np.full(n, 32), user=np.full(n, -1), raw_submit=np.arange(n, dtype=np.float64),
        status=np.ones(n, dtype=np.int64), max_procs=32, max_nodes=4,
        resources=JobResources.build(n, nodes=np.full(n, 4), cpus_per_node=np.full(n, 8.0)),
    )  # fmt: skip
    sim = compare_deployment(wl, load_cluster(LOOP4), rules, "daemon", unit="nodes")["jobs"].iloc[1:]
    predicted = list(sim.sort_values(["start_deployed", "job_id"])["job_id"])
    plain = list(sim.sort_values(["start_plain", "job_id"])["job_id"])
    assert plain == ids and predicted != ids
    assert real_order == predicted == [ids[1], ids[3], ids[0], ids[4], ids[2]]


def test_daemon_without_jobs_and_dry_run(loopback_slurm):
    environ = harness.env(loopback_slurm.folder)
    assert all(j.state != "PENDING" for j in read_queue(environ))
    d = Daemon(scorer=scorer("sjf"), environ=environ, dry_run=True)
    assert d.run(None) == 1


def test_daemon_stops_cleanly_on_sigterm(loopback_slurm, tmp_path):
    import signal
    import sys

    log = tmp_path / "daemon.jsonl"
    cmd = [sys.executable, "-m", "schedlab.cli", "deploy", "daemon", "--policy", SHIPPED, "--dir",
           loopback_slurm.folder, "--interval", "1", "--dry-run", "--log", str(log)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: log.exists() and len(log.read_text().splitlines()) >= 2, timeout=60)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "daemon stopped after" in err and "would set SiteFactor" in out
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert all(r["dry_run"] and r["policy"] == f"tree:{SHIPPED}" for r in records)
