"""``explain --features submit`` distils a tree Slurm can run, and ``deploy simulate`` shows what
the deployed rules change against plain multifactor (hand-checked on a tiny queue)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.cluster import load_cluster
from schedlab.errors import SchedlabError
from schedlab.explain import DaggerDistiller, HeuristicTeacher, Tree
from schedlab.explain.features import SUBMIT_FEATURES, candidate_rows
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import eval_window_starts
from schedlab.slurm.deploy_rules import Route, build_rules, submit_tree
from schedlab.slurm.deploy_sim import compare_deployment, deployed_workload, user_accuracy
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload

runner = CliRunner()
LOOP4 = "tests/slurm/loop4.toml"


def test_submit_tree_distils_over_submit_features_only():
    env = SchedulingEnv("lublin_256", window_len=128, visible=32, backfill="easy", split="all",
                        backfill_order="sjf", history_features=True)  # fmt: skip
    d = DaggerDistiller(iterations=1, episodes_per_iteration=2, max_leaves=4, history="submit", prune=False)
    d.fit(
        HeuristicTeacher("sjf"), env, eval_window_starts(0, 3000, 128, 2, 0), eval_window_starts(3000, 4000, 128, 1, 1)
    )
    tree = d.tree_
    assert tree.submit and tree.features == SUBMIT_FEATURES and tree.n_leaves >= 2
    assert Tree.from_dict(json.loads(json.dumps(tree.to_dict()))).submit  # round trip keeps the feature set
    env.reset(options={"start": 0})
    actions, X = candidate_rows(env.decision_view(), history="submit")
    assert X.shape == (len(actions), 4) and np.all(X[:, 3] <= X[:, 0] + 1e-12)  # predicted <= requested
    assert tree.act(env) in set(actions.tolist())
    build_rules(tree, "t")  # deployable as it comes


def _queue(limits_min, nodes=4, cpus=8.0, partition=None, users=None):
    """A blocker holding the loop4 machine for 10 s, then jobs each needing all of it."""
    n = len(limits_min) + 1
    part = None if partition is None else ["", *partition]
    return Workload(
        name="q", job_id=np.arange(1, n + 1), submit=np.arange(n, dtype=np.float64),
        run=np.array([10.0] + [1.0] * (n - 1)), req_time=np.array([300.0] + [60.0 * t for t in limits_min]),
        procs=np.full(n, 32), user=np.array(users if users is not None else [-1] * n), raw_submit=np.zeros(n),
        status=np.ones(n, dtype=np.int64), max_procs=32, max_nodes=4,
        resources=JobResources.build(n, nodes=np.full(n, nodes), cpus_per_node=np.full(n, cpus), partition=part),
    )  # fmt: skip


def test_lua_nice_reorders_the_queue_as_the_rules_say():
    # loop4's partition term is 1000 x 1/10 = 100: nice stays below it (a larger nice floors the
    # priority at 0 for several rules, and they tie, as in Slurm)
    rules = build_rules(*submit_tree("lublin_256-f1-submit"), nice_max=100)
    # nodes as procs (4): 30 min -> R3 (nice 53), 600 -> R6 (0), 120 -> R5 (65)
    res = compare_deployment(_queue([30, 600, 120]), load_cluster(LOOP4), rules, "lua", unit="nodes")
    jobs = res["jobs"]
    assert list(jobs["rule"]) == [3, 3, 6, 5]  # the blocker too: 5 minutes -> R3
    # plain: submit order after the blocker (t = 10, 11, 12); deployed: R6 first, then R3, then R5
    assert list(jobs["start_plain"][1:]) == [10.0, 11.0, 12.0]
    assert list(jobs["start_deployed"][1:]) == [11.0, 10.0, 12.0]
    s = res["summary"]
    assert (s["jobs_started_earlier"], s["jobs_started_later"], s["mechanism"]) == (1, 1, "lua")
    assert [r["rule"] for r in res["rules"]] == ["R3", "R5", "R6"]


def test_daemon_and_lua_agree_when_only_the_order_matters():
    rules = build_rules(*submit_tree("lublin_256-f1-submit"), nice_max=100, site_max=1000)
    wl, cluster = _queue([30, 600, 120, 600, 30]), load_cluster(LOOP4)
    lua = compare_deployment(wl, cluster, rules, "lua", unit="nodes")["jobs"]
    daemon = compare_deployment(wl, cluster, rules, "daemon", unit="nodes")["jobs"]
    assert list(lua["start_deployed"]) == list(daemon["start_deployed"]) == [0.0, 12.0, 10.0, 14.0, 11.0, 13.0]
    saturated = build_rules(*submit_tree("lublin_256-f1-submit"), nice_max=1000)  # R3 and R5 both floor at 0
    tied = compare_deployment(wl, cluster, saturated, "lua", unit="nodes")["jobs"]
    assert list(tied["start_deployed"]) == [0.0, 12.0, 10.0, 13.0, 11.0, 14.0]


def test_partition_route_applies_to_jobs_that_named_none():
    rules = build_rules(*submit_tree("lublin_256-f1-submit"), partition=Route("gpu", -3.0))
    wl = _queue([600, 600], nodes=2, cpus=4.0, partition=["", "cpu"])
    changed, idx = deployed_workload(wl, rules, "lua", np.zeros(len(wl)), load_cluster(LOOP4), unit="nodes")
    names = [changed.resources.label("partition", int(c)) for c in changed.resources.partition]
    assert [rules.rules[i].id for i in idx] == [3, 6, 6] and names == ["", "gpu", "cpu"]
    bad = build_rules(*submit_tree("lublin_256-f1-submit"), partition=Route("nosuch", -3.0))
    with pytest.raises(SchedlabError, match="nosuch, which the machine lacks"):
        deployed_workload(wl, bad, "lua", np.zeros(len(wl)), load_cluster(LOOP4), unit="nodes")


def test_user_accuracy_reads_the_last_job_that_ended_before_submit():
    wl = _queue([60, 60, 60], users=[0, 0, 1, 0])
    end = np.array([10.0, 2.5, 12.0, 13.0])  # job 2 (user 0) ended at 2.5: ran 1 s of a 3600 s limit
    acc = user_accuracy(wl, end)
    assert acc[0] == 0.0 and acc[1] == 0.0 and acc[2] == 0.0
    assert acc[3] == pytest.approx(np.log2(1.0 / 3600.0))


def test_deploy_simulate_cli_on_an_sacct_export(tmp_path):
    args = ["deploy", "simulate", "--tree", "lublin_256-f1-submit", "--trace", "tests/fixtures/jobs/sacct_2311.txt",
            "--cluster", "tests/fixtures/cluster/slurm.conf", "--mechanism", "daemon"]  # fmt: skip
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["summary"]["mechanism"] == "daemon" and out["summary"]["jobs"] >= 1
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 0 and (tmp_path / "o" / "jobs.csv").exists() and "Kendall tau" in r.output
    r = runner.invoke(app, [*args[:-2], "--mechanism", "cron"])
    assert r.exit_code == 2 and "mechanism must be one of lua, daemon" in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "lublin_256-scorer", "--features", "submit"], "observation lacks"),
        (["--model", "sjf", "--features", "nope"], "unknown feature set 'nope'"),
        (["--model", "sjf", "--features", "submit", "--no-history-features"], "drop --no-history-features"),
    ],
)
def test_explain_submit_features_refusals(args, message):
    r = runner.invoke(app, ["explain", "--trace", "lublin_256", "--window-len", "64", *args])
    assert r.exit_code == 2 and message in " ".join(r.output.split()), r.output
