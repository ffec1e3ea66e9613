"""``schedlab deploy daemon --policy model:PATH``: a trained model scores Slurm's pending jobs.

The observation the daemon builds from a queue (``squeue --json``) and the nodes (``sinfo --json``)
is the one schedlab's simulator gives the model at the same state, so the daemon ranks the jobs as
the model would choose among them there; on a real loopback Slurm the values it writes are
``sprio``'s SITE term of the pending jobs only."""

from __future__ import annotations

import json
import subprocess
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.errors import SchedlabError
from schedlab.policies import resolve
from schedlab.rl.agents import build_agent, save_checkpoint
from schedlab.rl.multires_env import make_env
from schedlab.simulator import SimConfig
from schedlab.slurm import harness
from schedlab.slurm.daemon import Daemon, parse_queue, scorer
from schedlab.slurm.daemon_model import Machine, SlurmView, model_scorer, parse_nodes
from schedlab.workload.table import Workload

runner = CliRunner()
EPOCH = 1_700_000_000
#: (user, submit s, cpus, time limit s, runtime s): A, B and S start at 0 (S ends at 300, user 1's
#: last completed job: log2(300/600) = -1); P1..P6 arrive later and wait (8 nodes of 8 CPUs)
JOBS = [
    (1, 0, 32, 3600, 3600), (2, 0, 16, 7200, 7200), (1, 0, 8, 600, 300),
    (2, 400, 48, 1200, 1200), (1, 500, 8, 36000, 100), (3, 600, 24, 600, 600),
    (2, 700, 16, 7200, 100), (1, 800, 4, 60000, 100), (3, 900, 64, 3000, 100),
]  # fmt: skip
NOW = 900
HISTORY = {"u1": -1.0}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    """A model trained here for a few seconds: W = 4 slots (a queue of 6 is two windows), processors
    as its unit, with history features."""
    out = tmp_path_factory.mktemp("tiny") / "run"
    r = runner.invoke(app, ["train", "--agent", "scorer", "--trace", "lublin_256", "--steps", "256", "--num-envs", "1",
                            "--window-len", "32", "--visible", "4", "--history-features", "--seed", "1",
                            "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    return str(out / "model.pt")


def _workload() -> Workload:
    user, submit, procs, req, run = (np.array(c, dtype=np.float64) for c in zip(*JOBS, strict=True))
    n = len(JOBS)
    return Workload(
        name="daemon-state", job_id=np.arange(1, n + 1), submit=submit, run=run, req_time=req, procs=procs,
        user=user.astype(np.int64), raw_submit=submit, status=np.ones(n, dtype=np.int64), max_procs=64, max_nodes=8,
    )  # fmt: skip


def _env_at_now(spec: str, unit: str):
    """The model's own environment (as ``simulate --policy model:`` builds it) at the decision due
    when the last job arrives: every earlier decision picks the largest job, so A, B and S start and
    P1 is reserved (the shadow at A's end leaves no extra units: nothing long is backfilled)."""
    policy = resolve(spec)
    env = make_env(_workload(), policy.env_options(SimConfig(capacity_unit=unit)))
    _, info = env.reset()
    while not (info["time"] == NOW and info["phase"] == 0):
        view = env.decision_view()
        action = int(view.slots[np.argmax(view.size)]) if len(view.slots) else view.stop_action
        _, _, done, _, info = env.step(action)
        assert not done
    assert info["queue_length"] == 6
    return policy.model, env


def _slurm_state():
    """The same state as Slurm shows it: squeue --json and sinfo --json (nodes n1-n4 run A, n5-n6 B)."""
    jobs = []
    for k, (user, sub, cpus, limit, _) in enumerate(JOBS):
        if k == 2:
            continue  # S has ended
        started = sub == 0
        jobs.append({"job_id": k + 1, "job_state": "RUNNING" if started else "PENDING", "user_name": f"u{user}",
                     "partition": "cpu", "time_limit": limit // 60, "cpus": cpus, "node_count": -(-cpus // 8),
                     "submit_time": EPOCH + sub, "start_time": EPOCH if started else 0,
                     "nodes": {0: "n[1-4]", 1: "n[5-6]"}.get(k, "")})  # fmt: skip
    alloc = [8] * 6 + [0, 0]
    nodes = [{"name": f"n{i + 1}", "state": "allocated" if a else "idle", "state_flags": [], "cpus": 8,
              "alloc_cpus": a} for i, a in enumerate(alloc)]  # fmt: skip
    return json.dumps({"jobs": jobs}), json.dumps({"nodes": nodes})


@pytest.mark.parametrize("which", ["lublin_256-scorer", "theta_2022-dras", "tiny"])
def test_daemon_observes_and_ranks_as_the_model_decides_in_the_simulator(which, tiny_model):
    spec = f"model:{tiny_model if which == 'tiny' else which}"
    unit = "nodes" if which == "lublin_256-scorer" else "procs"  # the units they were trained with
    model, env = _env_at_now(spec, unit)
    queue_text, nodes_text = _slurm_state()
    queue = parse_queue(queue_text)
    pending = [j for j in queue if j.state == "PENDING"]
    view = SlurmView(now=EPOCH + NOW, machine=parse_nodes(nodes_text), running=tuple(j for j in queue if j.start))
    score, mv = model_scorer(spec, site_max=500, history=HISTORY, default_time_h=24.0)
    assert mv.unit == unit
    obs, mask = mv.observe(mv.queue_order(pending)[: model.env.visible], len(pending), view)
    np.testing.assert_array_equal(obs, env.observation())  # the very observation the simulator gives
    np.testing.assert_array_equal(mask, env.action_masks())
    W = model.env.visible
    ranked = [j.job_id for j in mv.ranking(pending, view)]
    logits = model.scores(env.observation(), env.action_masks())[: min(W, 6)]
    by_model = [4 + int(i) for i in np.argsort(-logits, kind="stable")]  # slot k holds job P(k+1), id 4 + k
    assert ranked[: len(by_model)] == by_model and ranked[0] == 4 + model.act_env(env)
    values, labels = score.values(pending, view)
    site = dict(zip([j.job_id for j in pending], values, strict=True))
    assert site[ranked[0]] == 500 and site[ranked[-1]] == 0 and sorted(values) == [0, 100, 200, 300, 400, 500]
    assert sorted(labels) == [f"rank {k}" for k in range(1, 7)]
    if W < 6:  # the second window comes after the first, ranked by the model with 2 jobs left
        assert set(ranked[W:]) == {4 + k for k in range(W, 6)}


def test_parse_nodes_counts_only_nodes_that_take_jobs():
    nodes = [
        {"name": "a", "state": "idle", "cpus": 8, "alloc_cpus": 0},
        {"name": "a", "state": "idle", "cpus": 8, "alloc_cpus": 0},  # listed twice
        {"name": "b", "state": "mixed", "state_flags": [], "cpus": 8, "alloc_cpus": 3},
        {"name": "c", "state": "idle", "state_flags": ["DRAIN"], "cpus": 8, "alloc_cpus": 0},
        {"name": "d", "state": ["DOWN"], "cpus": {"set": True, "number": 8}, "alloc_cpus": 0},
    ]
    machine = Machine(cpus=16, nodes=2, free_cpus=13, free_nodes=1, busy=("b",))
    assert parse_nodes(json.dumps({"nodes": nodes})) == machine
    for text, msg in [("{", "did not give JSON"), ("[]", "no 'nodes' list"), ('{"nodes": [1]}', "not an object"),
                      ('{"nodes": [{"name": "x", "cpus": "8"}]}', "cpus")]:  # fmt: skip
        with pytest.raises(SchedlabError, match=msg):
            parse_nodes(text)


def test_shared_nodes_are_released_by_their_last_job():
    """Three 1-CPU jobs share node c1 (one completing), c2 is idle; a 2-node, 15-CPU job waits."""
    jobs = parse_queue(json.dumps({"jobs": [
        {"job_id": 1, "job_state": "RUNNING", "cpus": 1, "nodes": "c1", "time_limit": 10, "start_time": EPOCH},
        {"job_id": 2, "job_state": "RUNNING", "cpus": 1, "nodes": "c1", "time_limit": 600, "start_time": EPOCH},
        {"job_id": 3, "job_state": "COMPLETING", "cpus": 1, "nodes": "c1", "time_limit": 5, "start_time": EPOCH},
        {"job_id": 4, "job_state": "PENDING", "cpus": 15, "node_count": 2, "time_limit": 60, "submit_time": EPOCH},
    ]}))  # fmt: skip
    view = SlurmView(now=EPOCH + 60, machine=Machine(cpus=16, nodes=2, free_cpus=13, free_nodes=1, busy=("c1",)),
                     running=tuple(j for j in jobs if j.state != "PENDING"))  # fmt: skip
    log_minutes = lambda s: np.float32(np.log1p(s / 60) / np.log1p(10080))
    for unit, free_by, delay in [
        ("nodes", [0.5] * 4 + [1.0] * 2, log_minutes(36000 - 60)),  # c1 frees when job 2 ends (10 h)
        ("cpus", [0.9375] * 4 + [1.0] * 2, log_minutes(600 - 60)),  # each job frees its CPU: 15 free at job 1's end
    ]:
        _, mv = model_scorer("model:lublin_256-scorer", site_max=10, history={}, default_time_h=24.0, unit=unit)
        obs, _ = mv.observe([jobs[3]], 1, view)
        g = mv.model.env.visible * 9
        assert obs[g + 3 : g + 9].tolist() == pytest.approx(free_by) and obs[5] == pytest.approx(delay)


@pytest.mark.parametrize(
    "options, extra, message",
    [
        ({"cluster": "loop4"}, {"multires": True}, "multi-resource machine 'loop4'"),
        ({"estimates": "actual"}, {}, "req_time as the actual runtime"),
        ({"history_features": True}, {"history": True}, "key_accuracy .* give --history"),
    ],
)
def test_models_whose_features_slurm_does_not_give_are_refused(tmp_path, options, extra, message):
    path = tmp_path / "model.pt"
    save_checkpoint(path, build_agent("scorer", 4, False, **extra), {"agent": "scorer",
                    "env_kwargs": {"visible": 4, "backfill": "easy", **options}})  # fmt: skip
    with pytest.raises(SchedlabError, match=message):
        scorer(f"model:{path}")
    r = runner.invoke(app, ["deploy", "daemon", "--policy", f"model:{path}", "--once", "--dry-run"])
    assert r.exit_code == 2 and "Traceback" not in r.output


def _sh(state, *args) -> str:
    out = subprocess.run(list(args), env=harness.env(state.folder), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_daemon_writes_the_models_ranks_into_sprio(loopback_slurm):
    state = loopback_slurm
    sb = ["sbatch", "--parsable", "-o", "/dev/null"]
    blocker = int(_sh(state, *sb, "-N4", "--ntasks-per-node=8", "-t", "5", "--wrap", "sleep 300"))
    deadline = time.monotonic() + 30
    while "RUNNING" not in _sh(state, "squeue", "-h", "-j", str(blocker), "-o", "%T"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    shapes = [("-N1", "30"), ("-N4", "600"), ("-N2", "120"), ("-N1", "600"), ("-N3", "30")]
    ids = [int(_sh(state, *sb, n, "-t", t, "--wrap", "sleep 1")) for n, t in shapes]
    r = runner.invoke(app, ["deploy", "daemon", "--policy", "model:lublin_256-scorer", "--once", "--dir",
                            state.folder, "--site-max", "400", "--json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout.strip().splitlines()[-1])
    written = {u["job"]: u["site_factor"] for u in record["updated"]}
    assert set(written) == set(ids) and blocker not in written  # the running job is never touched
    assert sorted(written.values()) == [0, 100, 200, 300, 400]  # the model's ranks, first 400, last 0
    assert record["policy"].startswith("model:") and record["policy"].endswith("lublin_256-scorer.pt")
    lines = _sh(state, "sprio", "-l").splitlines()
    head = lines[0].split()
    sprio = {int(v[0]): int(v[head.index("SITE")]) for v in (line.split() for line in lines[1:])}
    assert sprio == written  # sprio's SITE term is what the daemon wrote, on the pending jobs only
    again = Daemon(scorer=scorer("model:lublin_256-scorer", site_max=400), environ=harness.env(state.folder),
                   written=written).cycle()  # fmt: skip
    assert again["pending"] == 5 and {u["job"] for u in again["updated"]} <= set(ids)  # refreshed, pending only
    _sh(state, "scancel", str(blocker), *map(str, ids))


def test_deploy_simulate_points_a_model_given_as_tree_to_policy():
    r = runner.invoke(app, ["deploy", "simulate", "--tree", "model:lublin_256-scorer", "--trace", "cqsim_test",
                            "--mechanism", "daemon"])  # fmt: skip
    assert r.exit_code == 2 and "use --policy model:lublin_256-scorer" in r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
