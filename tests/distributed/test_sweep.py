"""Sweeps: the same table serially, in processes and on a local Ray; resuming; failed cells."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from schedlab.distributed import SweepGrid, grid_from_toml, run_sweep
from schedlab.errors import SchedlabError

GRID = SweepGrid(
    traces=("lublin_256",), policies=("fcfs", "sjf", "f1"), backfills=("none", "easy"),
    windows=2, window_len=200, seeds=(0, 1),
)  # fmt: skip
TIMINGS = ("cell_seconds", "sim_seconds")


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    cols = [c for c in a.columns if c not in TIMINGS]
    return a[cols].equals(b[cols])


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return run_sweep(GRID, tmp_path_factory.mktemp("s") / "serial", "serial")


def test_serial_table_one_row_per_cell(serial):
    t = serial.table
    assert len(t) == 12 == serial.ran and (t["status"] == "ok").all()
    assert list(t.columns[:7]) == ["trace", "cluster", "policy", "backfill", "estimates", "load_scale", "seed"]
    assert {"mean_bsld", "mean_wait", "utilization", "cell_seconds"} <= set(t.columns)
    # a cell is the mean over its windows: recompute one by hand with compare
    from schedlab.simulator.compare import compare
    from schedlab.workload import load_trace

    wl = load_trace("lublin_256")
    starts = wl.window_starts(2, 200, 1)
    row = compare(wl, ["sjf"], ["easy"], window_starts=starts, window_len=200)[0]
    mine = t[(t.policy == "sjf") & (t.backfill == "easy") & (t.seed == 1)].iloc[0]
    assert mine["mean_bsld"] == pytest.approx(row.mean["mean_bsld"], rel=1e-12)


def test_processes_give_the_same_table(serial, tmp_path):
    res = run_sweep(GRID, tmp_path / "proc", "processes", workers=2)
    assert same(serial.table, res.table)


def test_ray_gives_the_same_table_and_stops_its_ray(serial, tmp_path):
    ray = pytest.importorskip("ray")
    res = run_sweep(GRID, tmp_path / "ray", "ray", workers=2)
    assert same(serial.table, res.table)
    assert not ray.is_initialized()  # the local Ray the sweep started is stopped


def test_a_stopped_sweep_continues(serial, tmp_path):
    out = tmp_path / "resume"
    run_sweep(GRID, out, "serial")
    cells = sorted((out / "cells").iterdir())
    for f in cells[:5]:  # as if stopped before these finished
        f.unlink()
    (out / ".schedlab-run.json").unlink()
    res = run_sweep(GRID, out, "serial")
    assert res.ran == 5 and same(serial.table, res.table)
    assert run_sweep(GRID, out, "serial").ran == 0  # finished: nothing to run


def test_another_grid_in_the_folder_is_refused_without_force(tmp_path):
    out = tmp_path / "other"
    run_sweep(SweepGrid(traces=("lublin_256",), windows=1, window_len=100), out)
    with pytest.raises(SchedlabError, match="another sweep"):
        run_sweep(SweepGrid(traces=("lublin_256",), policies=("sjf",), windows=1, window_len=100), out)
    run_sweep(SweepGrid(traces=("lublin_256",), policies=("sjf",), windows=1, window_len=100), out, force=True)


def test_a_failing_cell_is_recorded_and_the_rest_finish(tmp_path):
    bad = tmp_path / "broken.swf"
    bad.write_text("this is not an SWF line\n")
    grid = SweepGrid(traces=("lublin_256", str(bad)), policies=("fcfs", "expr:r*"), windows=1, window_len=100)
    res = run_sweep(grid, tmp_path / "fail", "serial")
    t = res.table
    assert len(t) == 4
    ok = t[(t.trace == "lublin_256") & (t.policy == "fcfs")]
    assert (ok.status == "ok").all() and np.isfinite(ok.mean_bsld).all()
    failed = t[t.status == "failed"]
    assert len(failed) == 3 and failed.error.str.len().gt(0).all()
    summary = json.loads((tmp_path / "fail" / "summary.json").read_text())
    assert summary["failed"] == 3 and len(summary["failures"]) == 3


def test_grid_validation(tmp_path):
    with pytest.raises(SchedlabError, match="seeds place evaluation windows"):
        SweepGrid(traces=("lublin_256",), seeds=(0, 1))
    with pytest.raises(SchedlabError, match="load_scales"):
        SweepGrid(traces=("lublin_256",), load_scales=(0.0,))
    with pytest.raises(SchedlabError, match="backfills"):
        SweepGrid(traces=("lublin_256",), backfills=("eager",))
    with pytest.raises(SchedlabError, match="repeats"):
        SweepGrid(traces=("lublin_256", "lublin_256"))
    f = tmp_path / "g.toml"
    f.write_text('traces = ["lublin_256"]\npolicies = ["fcfs", "sjf"]\nwindows = 1\nwindow_len = 50\ncolour = 1\n')
    with pytest.raises(SchedlabError, match="unknown key"):
        grid_from_toml(f)
    f.write_text('traces = ["lublin_256"]\npolicies = ["fcfs", "sjf"]\nwindows = 1\nwindow_len = 50\n')
    assert len(grid_from_toml(f).cells()) == 2
    f.write_text("traces = [")
    with pytest.raises(SchedlabError, match="not a TOML"):
        grid_from_toml(f)


def test_a_worker_that_dies_has_its_cells_run_again(serial, tmp_path, monkeypatch):
    """The worker running the first 'sjf' cell exits (once); the pool is replaced, the cells are
    run again, and the table is the serial one."""
    flag = tmp_path / "crashed"
    monkeypatch.setenv("SCHEDLAB_SWEEP_CRASH_ONCE", f"{flag}:sjf")
    res = run_sweep(GRID, tmp_path / "crash", "processes", workers=2)
    assert flag.exists()  # a worker did die
    assert (res.table.status == "ok").all() and same(serial.table, res.table)


def test_a_ray_worker_that_dies_has_its_task_retried(serial, tmp_path, monkeypatch):
    pytest.importorskip("ray")
    flag = tmp_path / "crashed"
    monkeypatch.setenv("SCHEDLAB_SWEEP_CRASH_ONCE", f"{flag}:f1")  # Ray's workers inherit the driver's env
    res = run_sweep(GRID, tmp_path / "raycrash", "ray", workers=2)
    assert flag.exists()
    assert (res.table.status == "ok").all() and same(serial.table, res.table)


def test_machines_axis_the_same_everywhere(tmp_path):
    """A machine-description axis ('' = the trace's own machine, and a 16-CPU-node file): the
    same table serially and on Ray (which ships the description through its object store)."""
    pytest.importorskip("ray")
    from pathlib import Path

    machine = str(Path(__file__).parent.parent / "fixtures" / "cluster" / "cpu16.toml")
    grid = SweepGrid(traces=("lublin_256",), clusters=("", machine), policies=("fcfs", "sjf"), windows=1,
                     window_len=300)  # fmt: skip
    a = run_sweep(grid, tmp_path / "s", "serial")
    b = run_sweep(grid, tmp_path / "r", "ray", workers=2)
    assert (a.table.status == "ok").all() and same(a.table, b.table)
    assert set(a.table.cluster) == {"", machine}


def test_cli_sweep_json_and_errors(tmp_path):
    from typer.testing import CliRunner

    from schedlab.cli import app

    runner = CliRunner()
    args = ["sweep", "--traces", "lublin_256", "--policies", "fcfs,sjf", "--backfill", "easy", "--windows", "1",
            "--window-len", "100", "--out", str(tmp_path / "cli")]  # fmt: skip
    r = runner.invoke(app, [*args, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["cells"] == 2 == doc["ran_now"] and {row["policy"] for row in doc["results"]} == {"fcfs", "sjf"}
    assert (tmp_path / "cli" / "results.parquet").exists()
    r = runner.invoke(app, [*args, "--json"])  # the same sweep again: nothing to run
    assert json.loads(r.stdout)["ran_now"] == 0
    for bad, message in ((["--seeds", "1.5"], "integers"), (["--executor", "slurm"], "unknown executor"),
                         (["--load-scales", "-1"], "load_scales")):  # fmt: skip
        r = runner.invoke(app, [*args[:-2], "--out", str(tmp_path / "bad"), *bad])
        assert r.exit_code == 2 and message in r.output, r.output


def test_ray_workers_env(monkeypatch):
    from schedlab.distributed.executors import _worker_env

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    local, joined = _worker_env(joining=False), _worker_env(joining=True)
    assert local["OMP_NUM_THREADS"] == joined["OPENBLAS_NUM_THREADS"] == "1"
    assert "NUMBA_CACHE_DIR" not in local and joined["NUMBA_CACHE_DIR"].endswith("schedlab-numba-cache")
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/scratch/numba")
    assert _worker_env(joining=True)["NUMBA_CACHE_DIR"] == "/scratch/numba"


def test_plots_along_every_axis_that_varies(tmp_path):
    grid = SweepGrid(traces=("lublin_256",), policies=("fcfs", "sjf"), load_scales=(0.8, 1.0),
                     estimates=("requested", "actual"), windows=1, window_len=100)  # fmt: skip
    res = run_sweep(grid, tmp_path / "plots")
    names = {Path(f).name for f in res.files}
    assert {"metrics.png", "by_load_scale.png", "by_estimates.png"} <= names and "by_seed.png" not in names
    for name in ("metrics.png", "by_load_scale.png"):
        assert (tmp_path / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
