"""``deploy simulate --policy SPEC``: the priority daemon in the loop of schedlab's Slurm model.

Hand-checked on one node (the site factor a sjf daemon sets at its first cycle after a short job's
submit lets it overtake a long one), through the CLI with the shipped model, and on a real loopback
Slurm: the real ``deploy daemon`` reorders the queue the way the simulation predicts."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.cluster import NodeType, build_cluster, load_cluster
from schedlab.errors import SchedlabError
from schedlab.simulator import SimConfig
from schedlab.simulator.parity.slurm import SiteHook, simulate_slurm
from schedlab.slurm import harness
from schedlab.slurm.daemon import read_queue
from schedlab.slurm.deploy_rules import build_rules, submit_tree
from schedlab.slurm.deploy_sim_daemon import MAX_JOBS, InLoopDaemon, compare_daemon, daemon_scorer
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload

runner = CliRunner()
LOOP4 = Path(__file__).with_name("loop4.toml")
SACCT = ["--trace", "tests/fixtures/jobs/sacct_2311.txt", "--cluster", "tests/fixtures/cluster/slurm.conf"]


def _jobs(submit, run, limit, nodes, cpus, user=None) -> Workload:
    n = len(submit)
    return Workload(
        name="hand", job_id=np.arange(1, n + 1), submit=np.asarray(submit, float), run=np.asarray(run, float),
        req_time=np.asarray(limit, float), procs=np.asarray(nodes) * np.asarray(cpus),
        user=np.asarray(user if user is not None else [-1] * n), raw_submit=np.asarray(submit, float),
        status=np.ones(n, dtype=np.int64), max_procs=int(max(np.asarray(nodes) * np.asarray(cpus))),
        max_nodes=int(max(nodes)), resources=JobResources.build(n, nodes=np.asarray(nodes),
                                                                 cpus_per_node=np.asarray(cpus, float)),
    )  # fmt: skip


ONE = build_cluster("one", [NodeType("n", 1, 8)], [], allocation="shared")
# a blocker (0-200 s), then a long job L (submit 10, limit 2 h) and a short one S (submit 70, limit 10 min),
# each holding the whole 8-CPU node; all priorities 0 without the daemon (no weights): job id order
HAND = _jobs([0, 10, 70], [200, 100, 50], [600, 7200, 600], [1, 1, 1], [8, 8, 8], user=[0, 1, 1])


def test_sjf_daemon_lets_a_later_short_job_overtake_at_its_first_cycle():
    # Slurm's timers (main every 60 s, backfill every 30 s): the blocker ends at 200, the backfill
    # cycle at 210 starts the queue's first job.  Plain: L at 210 (ends 310), S at the next backfill
    # cycle, 330.  sjf every 60 s: cycles at 0 (the blocker alone), 60 (L alone: 1000), 120 (the first
    # after S's submit: S 1000, L 0), so S starts at 210 and L, after S ends at 260, at 270.
    res = compare_daemon(HAND, ONE, "sjf", interval=60)
    jobs = res["jobs"]
    assert list(jobs["start_plain"]) == [0, 210, 330]
    assert list(jobs["start_deployed"]) == [0, 270, 210]
    # the values in force when each started: L, alone again at the cycle at 240, got 1000 there
    assert list(jobs["site_factor"]) == [1000, 1000, 1000]
    s = res["summary"]
    assert (s["jobs_started_earlier"], s["jobs_started_later"], s["daemon_cycles"]) == (1, 1, 5)
    assert s["mean_wait_deployed_s"] == pytest.approx((0 + 260 + 140) / 3)
    # every 240 s the first cycle after S's submit comes when L already runs: nothing changes
    slow = compare_daemon(HAND, ONE, "sjf", interval=240)["jobs"]
    assert list(slow["start_deployed"]) == list(slow["start_plain"])


def test_the_hook_sees_the_queue_as_squeue_would_and_learns_users_accuracy():
    score, history = daemon_scorer("sjf", HAND, 1000, None, 24.0)
    seen = []
    daemon = InLoopDaemon(HAND, ONE, score, history, max_jobs=1000)

    def spy(snap):
        out = daemon.refresh(snap)
        seen.append((snap.now, [daemon.queue_job(j, "PENDING") for j in snap.pending], dict(history)))
        return out

    simulate_slurm(HAND, SimConfig(preset="slurm", policy="multifactor", cluster=ONE), hook=SiteHook(60.0, spy))
    now, queue, _ = seen[2]
    assert now == 120 and [(q.job_id, q.time_limit_s, q.cpus, q.nodes, q.submit) for q in queue] == [
        (2, 7200, 8, 1, 10), (3, 600, 8, 1, 70)]  # fmt: skip
    # the blocker (user 0) ended at 200 after 200 s of a 600 s limit: known from the cycle at 240 on
    assert [t for t, _, _ in seen] == [0, 60, 120, 180, 240]
    assert seen[3][2]["0"] == 0.0 and seen[4][2]["0"] == pytest.approx(np.log2(200 / 600))


def test_the_model_in_the_loop_is_the_daemons_scorer():
    res = compare_daemon(HAND, ONE, "model:lublin_256-scorer", interval=60)
    s = res["summary"]
    assert s["policy"] == "model:lublin_256-scorer" and s["daemon_cycles"] == 5
    assert set(res["jobs"]["site_factor"]) <= {0, 1000}  # two pending jobs at most: ranks 1 and 2
    # a submit tree through the same loop: each job's rule value (fixed per job)
    rules = build_rules(*submit_tree("lublin_256-f1-submit"))
    tree = compare_daemon(HAND, ONE, "lublin_256-f1-submit", interval=60)["jobs"]
    assert set(tree["site_factor"]) <= {r.site for r in rules.rules}
    with pytest.raises(SchedlabError, match="unknown policy 'nosuch'"):
        compare_daemon(HAND, ONE, "nosuch")
    with pytest.raises(SchedlabError, match=r"interval must be 1\.\.86400"):
        compare_daemon(HAND, ONE, "sjf", interval=0.5)


def test_too_many_jobs_is_refused_with_the_fast_path_named():
    n = MAX_JOBS + 1
    big = _jobs(np.arange(n), np.ones(n), np.full(n, 60), np.ones(n, int), np.ones(n, int))
    with pytest.raises(SchedlabError, match=r"at most 2,000.*with --tree"):
        compare_daemon(big, ONE, "sjf")


def test_cli_simulates_a_model_daemon_on_an_sacct_export(tmp_path):
    args = ["deploy", "simulate", "--policy", "model:lublin_256-scorer", *SACCT, "--interval", "30"]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "plain Slurm vs daemon model:lublin_256-scorer" in " ".join(r.output.split())
    assert "Kendall tau" in r.output and (tmp_path / "o" / "jobs.csv").exists()
    written = json.loads((tmp_path / "o" / "deploy.json").read_text())["summary"]
    assert written["interval_s"] == 30 and written["jobs"] >= 1
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["summary"]["policy"] == "model:lublin_256-scorer"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--policy", "model:nosuch"], "nosuch"),
        (["--policy", "wfp3"], "does not score jobs one by one"),
        (["--policy", "sjf", "--tree", "lublin_256-f1-submit"], "give --tree"),
        (["--policy", "sjf", "--mechanism", "lua"], "--policy simulates the daemon"),
        (["--tree", "model:lublin_256-scorer"], "use --policy model:lublin_256-scorer"),
    ],
)
def test_cli_bad_specs_are_one_line_errors(extra, message):
    r = runner.invoke(app, ["deploy", "simulate", *SACCT, *extra])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 or "error" in r.output.splitlines()[0]


# -- on a real Slurm ---------------------------------------------------------------------------------
def _sh(state, *args) -> str:
    out = subprocess.run(list(args), env=harness.env(state.folder), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _sbatch(state, limit_min: int, sleep: int) -> int:
    return int(_sh(state, "sbatch", "--parsable", "-N4", "--ntasks-per-node=8", "-t", str(limit_min), "-o",
                   "/dev/null", "--wrap", f"sleep {sleep}").strip())  # fmt: skip


def _wait(predicate, timeout: float = 40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def _starts(state, ids) -> dict[int, str] | None:
    from schedlab.slurm.jobcomp import read_jobcomp

    rows = {r["job_id"]: r["start"] for r in read_jobcomp(state.jobcomp)} if Path(state.jobcomp).exists() else {}
    return rows if all(j in rows for j in ids) else None


@pytest.mark.parametrize("policy", ["model:lublin_256-scorer"])
def test_real_daemon_starts_jobs_in_the_order_the_loop_simulation_predicts(loopback_slurm, policy):
    state = loopback_slurm
    blocker = _sbatch(state, 5, 300)  # holds the whole machine while the queue forms
    _wait(lambda: "RUNNING" in _sh(state, "squeue", "-h", "-j", str(blocker), "-o", "%T"))
    limits = [600, 30, 240, 60, 120]  # minutes (all different: no near-tie for the model), each the whole machine
    ids = [_sbatch(state, t, 2) for t in limits]  # 2 s each: starts in distinct seconds
    submit = {j.job_id: j.submit for j in read_queue(harness.env(state.folder))}  # Slurm's whole seconds
    r = runner.invoke(app, ["deploy", "daemon", "--policy", policy, "--once", "--dir", state.folder, "--json"])
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout.strip().splitlines()[-1])
    assert {u["job"] for u in record["updated"]} == set(ids)
    _sh(state, "scancel", str(blocker))
    done = _wait(lambda: _starts(state, ids))
    real = sorted(ids, key=lambda j: (done[j], j))
    # the same queue simulated: submitted when Slurm says (whole seconds after the blocker), the
    # daemon's cycle when the real one ran (the model reads the jobs' waits), then none until the last
    # has started (interval 1000 s), as with --once; the blocker (limit 5 min) runs until 150
    n = len(ids) + 1
    sub = [submit[j] - submit[blocker] for j in [blocker, *ids]]
    wl = _jobs(sub, [150.0] + [2.0] * len(ids), [300.0] + [60.0 * t for t in limits], [4] * n, [8] * n)
    cycle = record["time"] - submit[blocker]
    res = compare_daemon(wl, load_cluster(LOOP4), policy, interval=1000, phase=cycle)
    assert res["summary"]["daemon_cycles"] == 1
    sim = res["jobs"].iloc[1:]
    order = [ids[k] for k in np.lexsort((np.arange(len(ids)), sim["start_deployed"].to_numpy()))]
    plain = [ids[k] for k in np.lexsort((np.arange(len(ids)), sim["start_plain"].to_numpy()))]
    assert plain == ids and order != ids  # the daemon reorders the queue
    written = {u["job"]: u["site_factor"] for u in record["updated"]}
    assert list(sim["site_factor"]) == [written[j] for j in ids]  # the real daemon's very values
    assert real == order, (done, submit, record)
