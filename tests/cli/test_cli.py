"""The schedlab command: stable flags and JSON keys, clear errors, outputs on disk."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from schedlab.cli import app

runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_simulate_json_keys():
    r = run("simulate", "--trace", "cqsim_test2", "--policy", "fcfs", "--backfill", "easy", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    for key in ("jobs", "mean_wait", "mean_bsld", "utilization", "makespan", "sim_seconds", "cleaning"):
        assert key in d
    assert d["jobs"] == 20 and d["cleaning"]["kept"] == 20


def test_simulate_writes_tables_and_plots(tmp_path):
    r = run(
        "simulate",
        "--trace",
        "nasa_ipsc",
        "--policy",
        "sjf",
        "--backfill",
        "conservative",
        "--capacity-unit",
        "nodes",
        "--estimates",
        "actual",
        "--out",
        str(tmp_path),
    )
    assert r.exit_code == 0, r.output
    jobs = pd.read_parquet(tmp_path / "jobs.parquet")
    assert len(jobs) == 18066 and {"submit", "start", "end", "wait", "bsld", "procs"} <= set(jobs.columns)
    assert (jobs["start"] >= jobs["submit"]).all()
    assert pd.read_csv(tmp_path / "jobs.csv").shape == jobs.shape
    assert json.loads((tmp_path / "summary.json").read_text())["config"]["backfill"] == "conservative"
    for png in ("wait_cdf.png", "over_time.png"):
        assert (tmp_path / png).stat().st_size > 1000


def test_compare_windows_json_and_files(tmp_path):
    r = run(
        "compare",
        "--trace",
        "lublin_256",
        "--policies",
        "fcfs,sjf",
        "--backfill",
        "none,easy",
        "--windows",
        "3",
        "--window-len",
        "200",
        "--seed",
        "1",
        "--json",
        "--out",
        str(tmp_path),
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert len(d["results"]) == 4 and len(d["window_starts"]) == 3
    row = d["results"][0]
    assert len(row["windows"]) == 3
    assert row["mean"]["mean_bsld"] == pytest.approx(sum(w["mean_bsld"] for w in row["windows"]) / 3)
    assert len(pd.read_parquet(tmp_path / "comparison.parquet")) == 12
    assert (tmp_path / "metrics.png").exists() and (tmp_path / "wait_cdf.png").exists()


def test_compare_window_starts_rlscheduler_preset():
    r = run(
        "compare",
        "--trace",
        "lublin_256",
        "--preset",
        "rlscheduler",
        "--policies",
        "sjf",
        "--backfill",
        "easy",
        "--window-starts",
        "1981,2756",
        "--window-len",
        "1024",
        "--json",
    )
    assert r.exit_code == 0, r.output
    assert [w["jobs"] for w in json.loads(r.stdout)["results"][0]["windows"]] == [1024, 1024]


def test_compare_table_output():
    r = run("compare", "--trace", "cqsim_test2", "--policies", "fcfs,sjf,wfp3", "--backfill", "none,easy,conservative")
    assert r.exit_code == 0, r.output
    assert "mean_bsld" in r.stdout and "conservative" in r.stdout and "wfp3" in r.stdout


@pytest.mark.parametrize(
    "args,message",
    [
        (["simulate", "--trace", "/nonexistent/x.swf"], "no trace named"),
        (["simulate", "--policy", "nope"], "unknown policy"),
        (["compare", "--policies", "fcfs,bogus"], "unknown policy"),
        (["compare", "--backfill", "sometimes"], "unknown backfill mode"),
        (["compare", "--windows", "3"], "--window-len is required"),
        (["compare", "--trace", "cqsim_test", "--windows", "2", "--window-len", "50"], "does not fit"),
        (["simulate", "--policy", "expr:n *"], "cannot evaluate policy expression"),
        (["simulate", "--load-scale", "0"], "--load-scale must be > 0"),
        (["compare", "--tau", "-1"], "--tau must be > 0"),
        (["simulate", "--trace", "lublin_256", "--preset", "cqsim"], "no jobs left after cleaning"),
    ],
)
def test_bad_options_give_clear_errors(args, message):
    r = run(*args)
    assert r.exit_code == 2
    assert message in r.output and "Traceback" not in r.output


def test_malformed_trace_error_and_lenient(tmp_path):
    p = tmp_path / "bad.swf"
    p.write_text(
        "; MaxProcs: 8\n1 0 -1 10 4 -1 -1 4 20 -1 1 1 1 -1 1 -1 -1 -1\n2 5 -1 ten 4 -1 -1 4 20 -1 1 1 1 -1 1 -1 -1 -1\n"
    )
    r = run("simulate", "--trace", str(p))
    assert r.exit_code == 2 and "bad.swf:3" in r.output and "field 4 (run)" in r.output
    r = run("simulate", "--trace", str(p), "--lenient", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["cleaning"]["malformed_skipped"] == 1


def test_every_option_has_help():
    for cmd in ("simulate", "compare", "traces"):
        r = run(cmd, "--help")
        assert r.exit_code == 0
    r = run("compare", "--help")
    for flag in (
        "--policies",
        "--backfill",
        "--preset",
        "--windows",
        "--window-len",
        "--seed",
        "--window-starts",
        "--capacity-unit",
        "--estimates",
        "--json",
        "--out",
    ):
        assert flag in r.stdout


def test_traces_lists_bundled():
    r = run("traces", "--json")
    names = [t["name"] for t in json.loads(r.stdout)]
    assert {"theta_2022", "nasa_ipsc", "lublin_256", "lublin_256_new2", "cqsim_test"} <= set(names)


def test_installed_command_runs():
    out = subprocess.run(
        [sys.executable, "-m", "schedlab.cli", "simulate", "--trace", "cqsim_test", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout)["jobs"] == 9
