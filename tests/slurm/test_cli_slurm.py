"""`schedlab slurm up|status|down` on a real loopback Slurm, and their one-line errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from typer.testing import CliRunner

from schedlab.cli import app

runner = CliRunner()
LOOP4 = str(Path(__file__).with_name("loop4.toml"))


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_status_without_a_slurm_is_one_line(tmp_path):
    r = run("slurm", "status", "--dir", tmp_path)
    assert r.exit_code == 2 and "no loopback Slurm here" in r.output and "Traceback" not in r.output


def test_up_status_down(tmp_path, start_loopback_slurm):  # the fixture skips without Slurm
    d = tmp_path / "s"
    r = run("slurm", "up", "--cluster", LOOP4, "--dir", d, "--nodes", "2", "--rest")
    try:
        assert r.exit_code == 0, r.output
        assert "up in" in r.output and f"SLURM_CONF={d / 'slurm.conf'}" in r.output
        assert f"slurmrestd on unix:{d / 'run' / 'slurmrestd.sock'}" in r.output
        st = json.loads(run("slurm", "status", "--dir", d, "--json").output)
        assert st["running"] and st["nodes"] == {"g1": "idle", "g2": "idle"}
        assert st["processes"]["slurmrestd"]["alive"]
        assert "munged" in run("slurm", "status", "--dir", d).output
    finally:
        r = run("slurm", "down", "--dir", d)
    assert r.exit_code == 0 and "slurmctld" in r.output and "slurmrestd" in r.output
    assert json.loads(run("slurm", "status", "--dir", d, "--json").output)["running"] is False


def test_port_in_use_is_one_line(tmp_path, start_loopback_slurm):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run("slurm", "up", "--cluster", LOOP4, "--dir", tmp_path / "s", "--port", port)
    assert r.exit_code == 2 and f"port {port} on 127.0.0.1 is in use" in r.output and "Traceback" not in r.output
