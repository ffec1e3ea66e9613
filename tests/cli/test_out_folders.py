"""``--out`` folders can be trusted: checked before the work, written into a temporary folder and
moved into place when complete, never through a symbolic link, never mixed with an earlier run's
files, and someone else's folder is not replaced without --force."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.report.outputs import MARKER

runner = CliRunner()
SIM = ["simulate", "--trace", "cqsim_test", "--policy", "fcfs"]
TRAIN = [
    "train", "--agent", "dras", "--trace", "lublin_256", "--steps", "512", "--seed", "3", "--window-len", "64",
    "--visible", "16", "--num-envs", "2", "--curriculum", "none", "--imitate", "none", "--validate-every", "0",
]  # fmt: skip


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def leftovers(parent: Path) -> list[str]:
    """Temporary or set-aside folders schedlab left beside its outputs."""
    return [p.name for p in parent.iterdir() if ".schedlab-" in p.name]


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the simulation (or reading the trace) starts."""

    def work(*a, **k):
        raise AssertionError("the work started before --out was checked")

    monkeypatch.setattr("schedlab.cli.simulate.load_workload", work)
    monkeypatch.setattr("schedlab.simulator.compare.simulate_summary", work)


def test_a_run_writes_a_marked_folder_and_prints_its_final_paths(tmp_path):
    out = tmp_path / "res"
    r = run(*SIM, "--out", out)
    assert r.exit_code == 0, r.output
    assert {"jobs.csv", "jobs.parquet", "summary.json", "wait_cdf.png", "over_time.png", MARKER} <= set(os.listdir(out))
    marker = json.loads((out / MARKER).read_text())
    assert {"schedlab", "command", "finished"} <= set(marker)
    assert f"wrote {out / 'summary.json'}" in r.output and "schedlab-tmp" not in r.output
    assert leftovers(tmp_path) == []


def test_symlinked_out_is_refused_and_its_target_untouched(tmp_path, no_work):
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    r = run(*SIM, "--out", link, "--force")
    assert r.exit_code == 2 and "symbolic link" in r.output
    assert os.listdir(target) == [] and link.is_symlink()


def test_a_symlink_inside_an_earlier_run_is_not_followed(tmp_path):
    out = tmp_path / "res"
    assert run(*SIM, "--out", out).exit_code == 0
    victim = tmp_path / "victim.csv"
    victim.write_text("precious\n")
    victim_dir = tmp_path / "victim_dir"
    victim_dir.mkdir()
    (victim_dir / "keep").write_text("keep")
    (out / "jobs.csv").unlink()
    (out / "jobs.csv").symlink_to(victim)
    (out / "plots").symlink_to(victim_dir)
    r = run(*SIM, "--out", out)
    assert r.exit_code == 0, r.output
    assert victim.read_text() == "precious\n" and (victim_dir / "keep").read_text() == "keep"
    assert not (out / "jobs.csv").is_symlink() and "submit" in (out / "jobs.csv").read_text()
    assert not os.path.lexists(out / "plots")
    assert leftovers(tmp_path) == []


def test_a_rerun_replaces_an_earlier_run_as_a_whole(tmp_path):
    out = tmp_path / "res"
    assert run(*SIM, "--out", out).exit_code == 0
    (out / "stale.csv").write_text("from the first run")
    r = run("compare", "--trace", "cqsim_test", "--policies", "fcfs", "--backfill", "none", "--out", out)
    assert r.exit_code == 0, r.output
    names = set(os.listdir(out))
    assert "stale.csv" not in names and "jobs.csv" not in names  # nothing of the first run is left
    assert {"comparison.csv", "summary.json", MARKER} <= names
    assert leftovers(tmp_path) == []


def test_a_foreign_folder_is_refused_and_replaced_only_with_force(tmp_path, monkeypatch):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    r = run(*SIM, "--out", out)
    assert r.exit_code == 2 and "not empty" in r.output and "--force" in r.output
    assert os.listdir(out) == ["thesis.tex"]
    r = run(*SIM, "--out", out, "--force")
    assert r.exit_code == 0, r.output
    assert "thesis.tex" not in os.listdir(out) and (out / "summary.json").exists()
    assert leftovers(tmp_path) == []
    # the current folder (or one above it) is never replaced, --force or not
    monkeypatch.chdir(out)
    r = run(*SIM, "--out", ".", "--force")
    assert r.exit_code == 2 and "current folder" in r.output
    assert (out / "summary.json").exists()


def test_an_empty_folder_is_used(tmp_path):
    r = run(*SIM, "--out", tmp_path)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "summary.json").exists() and (tmp_path / MARKER).exists()


def test_a_file_valued_out_is_refused_before_the_work(tmp_path, no_work):
    f = tmp_path / "results"
    f.write_text("a file")
    r = run(*SIM, "--out", f)
    assert r.exit_code == 2 and "is a file" in r.output
    r = run(*SIM, "--out", f / "sub")  # a file where a parent folder should be
    assert r.exit_code == 2 and "is a file" in r.output
    assert f.read_text() == "a file" and leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_an_unwritable_parent_is_refused_before_the_work(tmp_path, no_work):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        r = run(*SIM, "--out", locked / "res")
        assert r.exit_code == 2 and "not writable" in r.output
    finally:
        locked.chmod(0o700)


def test_out_is_checked_before_the_work_in_other_commands(tmp_path, monkeypatch):
    """compare and evaluate refuse a bad --out before reading the trace."""

    def work(*a, **k):
        raise AssertionError("the work started before --out was checked")

    monkeypatch.setattr("schedlab.cli.simulate.load_workload", work)
    monkeypatch.setattr("schedlab.workload.load_trace", work)
    f = tmp_path / "file"
    f.write_text("x")
    r = run("compare", "--trace", "cqsim_test", "--out", f)
    assert r.exit_code == 2 and "is a file" in r.output
    r = run("evaluate", "--model", "theta_2022-dras", "--trace", "cqsim_test", "--out", f)
    assert r.exit_code == 2 and "is a file" in r.output


@pytest.mark.parametrize("error", [RuntimeError("plot failed"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_no_half_folder(tmp_path, monkeypatch, error):
    from schedlab.report import plots

    def broken(*a, **k):
        raise error

    out = tmp_path / "res"
    monkeypatch.setattr(plots, "over_time", broken)
    r = run(*SIM, "--out", out)
    assert r.exit_code != 0
    assert not os.path.lexists(out) and leftovers(tmp_path) == []
    # an earlier run there stays whole
    monkeypatch.undo()
    assert run(*SIM, "--out", out).exit_code == 0
    before = {p: (out / p).read_bytes() for p in os.listdir(out)}
    monkeypatch.setattr(plots, "over_time", broken)
    assert run(*SIM, "--policy", "sjf", "--out", out).exit_code != 0
    assert {p: (out / p).read_bytes() for p in os.listdir(out)} == before
    assert leftovers(tmp_path) == []


def test_train_writes_its_completion_marker_last(tmp_path, monkeypatch):
    from schedlab.rl import ppo

    out = tmp_path / "run"
    real_save = ppo.save_training_state

    def killed(*a, **k):  # the run dies just after its checkpoint
        real_save(*a, **k)
        raise KeyboardInterrupt

    monkeypatch.setattr(ppo, "save_training_state", killed)
    run(*TRAIN, "--out", out)
    assert {"run.json", "train_log.csv", "last.pt"} <= set(os.listdir(out))
    assert not (out / MARKER).exists()  # unfinished: no completion marker
    monkeypatch.undo()
    r = run(*TRAIN, "--out", out, "--resume")
    assert r.exit_code == 0, r.output
    files = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    assert {"run.json", "model.pt", "last.pt", "train_log.csv", MARKER} <= set(files)
    assert files[MARKER] == max(files.values())
    # a finished run is not replaced by a new one without --force; with it, it is (as a whole)
    r = run(*TRAIN, "--out", out)
    assert r.exit_code == 2 and "already holds a training run" in r.output
    (out / "stale.txt").write_text("old")
    r = run(*TRAIN, "--out", out, "--force")
    assert r.exit_code == 0, r.output
    assert not (out / "stale.txt").exists() and (out / MARKER).exists()
    assert leftovers(tmp_path) == []


def test_every_command_with_out_has_force():
    def commands(cmd):
        if hasattr(cmd, "commands"):
            for sub in cmd.commands.values():
                yield from commands(sub)
        else:
            yield cmd

    with_out = [c for c in commands(typer.main.get_command(app)) if any("--out" in p.opts for p in c.params)]
    assert len(with_out) == 14  # sweep, slurm replay, deploy lua and deploy simulate included
    for c in with_out:
        assert any("--force" in p.opts for p in c.params), c.name
