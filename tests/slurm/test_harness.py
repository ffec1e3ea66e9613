"""The loopback Slurm harness: it starts, runs CPU and GPU jobs, reports its state, stops exactly
what it started, and says clearly what is wrong (a port in use, no Slurm here)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest

from schedlab.errors import SchedlabError
from schedlab.slurm import harness


def _run(state, *args) -> str:
    out = subprocess.run(list(args), env=harness.env(state.folder), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_up_runs_gpu_and_cpu_jobs(loopback_slurm):
    state = loopback_slurm
    st = harness.status(state.folder)
    assert st["running"] and set(st["nodes"]) == {"g1", "g2", "c1", "c2"}
    assert set(st["processes"]) == {"munged", "slurmctld", "slurmd g1", "slurmd g2", "slurmd c1", "slurmd c2"}
    conf = Path(state.slurm_conf).read_text()
    assert "SlurmdParameters=config_overrides" in conf and "JobCompType=jobcomp/filetxt" in conf
    gpu = _run(
        state,
        "sbatch",
        "--parsable",
        "-p",
        "gpu",
        "--gres=gpu:2",
        "-n1",
        "-t",
        "1",
        "-o",
        "/dev/null",
        "--wrap",
        "true",
    )
    two = _run(state, "sbatch", "--parsable", "-N2", "-n16", "-t", "1", "-o", "/dev/null", "--wrap", "true")
    ids = {gpu.strip(), two.strip()}
    deadline = time.monotonic() + 30
    done: set = set()
    while time.monotonic() < deadline and not ids <= done:
        text = Path(state.jobcomp).read_text() if Path(state.jobcomp).exists() else ""
        done = {line.split()[0].removeprefix("JobId=") for line in text.splitlines() if "JobState=COMPLETED" in line}
        time.sleep(0.2)
    assert ids <= done
    text = Path(state.jobcomp).read_text()
    assert f"JobId={gpu.strip()} " in text and "Partition=gpu" in text and "NodeCnt=2" in text


def test_state_file_and_env(loopback_slurm):
    state = harness.load_state(loopback_slurm.folder)
    assert state.pids["slurmd"].keys() == {"g1", "g2", "c1", "c2"}
    env = harness.env(loopback_slurm.folder)
    assert env["SLURM_CONF"] == loopback_slurm.slurm_conf
    assert "gpu:tesla:2" in _run(state, "scontrol", "show", "node", "g1")


def test_second_up_in_same_folder_refused(loopback_slurm):
    with pytest.raises(SchedlabError, match="already runs here"):
        harness.up(Path(__file__).with_name("loop4.toml"), Path(loopback_slurm.folder))


def test_port_in_use_is_one_clear_error(tmp_path, start_loopback_slurm):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SchedlabError, match=f"port {port} on 127.0.0.1 is in use"):
            harness.up(Path(__file__).with_name("loop4.toml"), tmp_path / "s", port=port)
    assert not (tmp_path / "s" / harness.STATE_FILE).exists()


def test_down_stops_exactly_what_up_started(start_loopback_slurm):
    state = start_loopback_slurm(nodes=2)
    assert state.nodes == ["g1", "g2"]
    procs = state.processes()
    assert all(harness.alive(pid, argv) for _, pid, argv in procs)
    stopped = harness.down(state.folder)
    assert sorted(stopped) == sorted(label for label, _, _ in procs)
    assert not any(harness.alive(pid, argv) for _, pid, argv in procs)
    assert harness.status(state.folder)["running"] is False
    assert harness.down(state.folder) == []  # nothing left to stop


def test_no_slurm_installed_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(harness, "SBIN", ("/nonexistent",))
    with pytest.raises(SchedlabError, match="Slurm is not installed"):
        harness.find_tools()


def test_no_harness_in_folder(tmp_path):
    with pytest.raises(SchedlabError, match="no loopback Slurm here"):
        harness.status(tmp_path)


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SchedlabError, match="does not write"):
        harness.up(Path(__file__).with_name("loop4.toml"), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
