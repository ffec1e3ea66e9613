"""Every command that takes a policy, a model or a tree accepts the registry's spellings, and a
user error is one line with exit status 2 (the one error handler)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from schedlab.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_explain_compare_accepts_the_tree_spelling_of_simulate():
    r = run("explain", "--compare", "tree:theta_2022-dras", "theta_2022-dras", "--json")
    assert r.exit_code == 0, r.output
    sides = json.loads(r.stdout)
    assert [s["leaves"] for s in sides] == [sides[0]["leaves"]] * 2 and sides[0]["leaves"] > 1
    assert sides[0]["importances"] == sides[1]["importances"]


@pytest.mark.parametrize("spec", ["tree:theta_2022-dras", "model:lublin_256-scorer", "expr:n * r", "sjf"])
def test_simulate_and_compare_take_every_spelling(spec):
    r = run("simulate", "--trace", "cqsim_test", "--policy", spec, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["jobs"] > 0 and out["config"]["policy"].startswith(spec.split(":")[0])
    r = run("compare", "--trace", "cqsim_test", "--policies", f"fcfs,{spec}", "--backfill", "easy", "--json")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["results"]) == 2


def test_evaluate_takes_a_model_with_or_without_its_prefix():
    args = ["--trace", "lublin_256", "--windows", "1", "--window-len", "64", "--json"]
    a = run("evaluate", "--model", "lublin_256-scorer", *args)
    b = run("evaluate", "--model", "model:lublin_256-scorer", *args)
    assert a.exit_code == 0 and b.exit_code == 0, a.output + b.output
    assert json.loads(a.stdout)["results"].keys() == json.loads(b.stdout)["results"].keys()


@pytest.mark.parametrize(
    "args, message",
    [
        (["simulate", "--policy", "bogus:x"], "tree:..."),
        (["simulate", "--policy", "tree:/no/such/tree.json"], "no tree file"),
        (["explain", "--compare", "tree:/no/such.json", "theta_2022-dras"], "no tree file"),
        (["evaluate", "--model", "model:/no/such.pt"], "no model file"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(args, message):
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert r.output.strip().startswith("error:")


@pytest.mark.parametrize(
    "value, message",
    [("inf", "must be a finite number"), ("1e308", "at most 1000"), ("nan", "must be a finite number")],
)
def test_load_scale_out_of_range_is_refused_with_the_range(value, message):
    r = run("simulate", "--trace", "cqsim_test", "--load-scale", value, "--json")
    assert r.exit_code == 2 and message in r.output


def test_json_output_is_strict_json():
    from schedlab.report.outputs import dumps

    text = dumps({"a": float("nan"), "b": [float("inf"), 1.5], "c": {"d": -float("inf")}})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": {"d": None}}
