"""``schedlab deploy lua``: a submit tree's rules as job_submit.lua, loaded by a real slurmctld
(loopback harness), setting nice, partition and admin_comment as the tree says; trees Slurm
cannot run at submit are refused in one line."""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess

import pytest
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.errors import SchedlabError
from schedlab.explain.features import SUBMIT_FEATURES
from schedlab.slurm import harness
from schedlab.slurm.deploy_lua import to_lua
from schedlab.slurm.deploy_rules import Route, build_rules, job_features, submit_tree, user_history

SHIPPED = "lublin_256-f1-submit"
runner = CliRunner()


def run_cli(*args):
    return runner.invoke(app, list(args))


ME = pwd.getpwuid(os.getuid()).pw_name


def _rules(**kw):
    tree, name = submit_tree(SHIPPED)
    return build_rules(tree, name, **kw)


def test_shipped_submit_tree_deploys_as_it_comes():
    tree, name = submit_tree(f"tree:{SHIPPED}")
    assert tree.submit and tree.features == SUBMIT_FEATURES and name == SHIPPED
    rules = build_rules(tree, name, nice_max=1000, site_max=500)
    assert len(rules.rules) == tree.n_leaves
    best = max(rules.rules, key=lambda r: r.score)
    worst = min(rules.rules, key=lambda r: r.score)
    assert (best.nice, best.site, worst.nice, worst.site) == (0, 500, 1000, 0)
    text = to_lua(rules, {"alice": -1.0})
    rule_returns = [line.strip() for line in text.splitlines() if re.fullmatch(r"\s*return \d+", line)]
    assert sorted(rule_returns) == sorted(f"return {r.id}" for r in rules.rules)
    assert 'local UNIT = "cpus"' in text and '["alice"] = -1.0' in text


def test_rules_follow_the_tree():
    rules = _rules()
    X = job_features([600, 36_000, 36_000, 36_000], [2, 2, 16, 128], ["a", "b", "a", "a"], {"b": -3.0})
    idx = rules.rule_of(X)
    assert [rules.rules[i].id for i in idx] == [3, 5, 7, 8]
    for i, row in zip(idx, X, strict=True):  # the rule's conditions hold for its rows
        for f, op, t in rules.rules[i].conditions:
            v = row[SUBMIT_FEATURES.index(f)]
            assert (v <= t) if op == "<=" else (v > t)


def test_refuses_trees_slurm_cannot_compute(tmp_path):
    with pytest.raises(SchedlabError, match=r"cannot compute when a job is submitted \(.*rank"):
        submit_tree("theta_2022-dras")
    r = run_cli("deploy", "lua", "--tree", "theta_2022-dras", "--out", str(tmp_path / "x.lua"))
    assert r.exit_code == 2 and "explain --features submit" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "x.lua").exists()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(features=["request_h", "procs", "user_accuracy", "wait_h"]), "features"),
        (lambda d: d["nodes"].update(threshold=["1.0"] * len(d["nodes"]["threshold"])), "numbers only"),
        (lambda d: d["nodes"]["left"].__setitem__(0, 0), "do not form a tree"),
    ],
)
def test_untrusted_tree_files_are_refused(tmp_path, mutate, message):
    from importlib import resources

    d = json.loads((resources.files("schedlab") / "data" / "trees" / f"{SHIPPED}.json").read_text())
    mutate(d)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))
    r = run_cli("deploy", "lua", "--tree", str(path), "--dry-run")
    assert r.exit_code == 2 and message in r.output, r.output


def test_bad_names_never_reach_lua():
    with pytest.raises(SchedlabError, match="not a Slurm name"):
        Route.parse('gpu"; os.exit() --:-3', "partition")
    with pytest.raises(SchedlabError, match="NAME:MIN_SCORE"):
        Route.parse("gpu", "partition")


def test_dry_run_and_history_from_sacct(tmp_path):
    r = run_cli("deploy", "lua", "--tree", SHIPPED, "--dry-run", "--partition", "gpu:-3")
    assert r.exit_code == 0 and "R6: if predicted_h > 1.22403" in r.output and "partition gpu" in r.output
    assert user_history("tests/fixtures/jobs/sacct_2311.txt") == {"alice": -1.0, "erin": -1.0}
    out = tmp_path / "job_submit.lua"
    r = run_cli(
        "deploy", "lua", "--tree", SHIPPED, "--out", str(out), "--history", "tests/fixtures/jobs/sacct_2311.txt"
    )
    assert r.exit_code == 0 and '["erin"] = -1.0' in out.read_text()
    other = tmp_path / "mine.lua"
    other.write_text("-- a site's own script\n")
    r = run_cli("deploy", "lua", "--tree", SHIPPED, "--out", str(other))
    assert r.exit_code == 2 and "--force" in r.output and other.read_text() == "-- a site's own script\n"


def _sbatch(state, *args) -> str:
    out = subprocess.run(
        ["sbatch", "--parsable", "--hold", "-o", "/dev/null", *args, "--wrap", "true"],
        env=harness.env(state.folder), capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_job_submit_lua_in_real_slurmctld(start_loopback_slurm, tmp_path):
    """The generated script loads in slurmctld; each job gets its rule's nice (plus its own), the
    rule's partition when it named none, and an admin_comment naming the rule."""
    history = {ME: -3.0}  # this user's jobs ran 1/8 of their limit: predicted_h = request_h / 8
    rules = _rules(nice_max=1000, partition=Route("gpu", -3.0))
    script = tmp_path / "job_submit.lua"
    script.write_text(to_lua(rules, history))
    state = start_loopback_slurm(job_submit=script)
    jobs = {  # sbatch options -> (time limit s, CPUs, own nice, partition named)
        ("-n2", "-t", "10"): (600, 2, 0, None),
        ("-n2", "-t", "3000"): (180_000, 2, 0, None),
        ("-n16", "-t", "600"): (36_000, 16, 0, None),
        ("-n2", "-t", "600"): (36_000, 2, 0, None),  # R5 with this user's history, R6 without
        ("-n1", "-t", "1", "--nice=5"): (60, 1, 5, None),
        ("-n2", "-t", "3000", "-p", "cpu"): (180_000, 2, 0, "cpu"),
    }
    ids = {_sbatch(state, *opts): v for opts, v in jobs.items()}
    out = subprocess.run(
        ["squeue", "--json"], env=harness.env(state.folder), capture_output=True, text=True, timeout=30
    ).stdout
    seen = {str(j["job_id"]): (j["partition"], j["nice"] or 0, j["admin_comment"]) for j in json.loads(out)["jobs"]}
    for jid, (limit, cpus, own, named) in ids.items():
        rule = rules.rules[int(rules.rule_of(job_features([limit], [cpus], [ME], history))[0])]
        partition, nice, comment = seen[jid]
        assert int(nice) == own + rule.nice, (jid, seen[jid], rule)
        assert partition == (named or rule.partition or "cpu"), (jid, seen[jid], rule)
        assert comment.startswith(f"schedlab {SHIPPED} R{rule.id} "), (jid, comment)
    used = {rules.rules[int(rules.rule_of(job_features([v[0]], [v[1]], [ME], history))[0])].id for v in ids.values()}
    assert used >= {3, 5, 6, 7}  # several rules, the partition route among them
