"""``schedlab deploy daemon --rest URL``: the queue and the nodes read from a real slurmrestd (started
by the loopback harness on a unix socket) are the ones ``squeue --json`` and ``sinfo --json`` give."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.errors import SchedlabError
from schedlab.slurm import harness
from schedlab.slurm.daemon import parse_queue, read_queue
from schedlab.slurm.daemon_model import parse_nodes
from schedlab.slurm.rest import RestClient

runner = CliRunner()


def _sh(state, *args) -> str:
    out = subprocess.run(list(args), env=harness.env(state.folder), capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def rest(loopback_slurm):
    """slurmrestd on the loopback Slurm, with a queue that stays still: one job holding the machine,
    five waiting behind it."""
    url = harness.rest_up(loopback_slurm.folder)
    assert harness.rest_up(loopback_slurm.folder) == url  # already running: the same one
    sb = ["sbatch", "--parsable", "-o", "/dev/null"]
    blocker = int(_sh(loopback_slurm, *sb, "-N4", "--ntasks-per-node=8", "-t", "5", "--wrap", "sleep 300"))
    deadline = time.monotonic() + 30
    while "RUNNING" not in _sh(loopback_slurm, "squeue", "-h", "-j", str(blocker), "-o", "%T"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    for n, t in [("-N1", "30"), ("-N4", "600"), ("-N2", "120"), ("-N1", "600"), ("-N3", "30")]:
        _sh(loopback_slurm, *sb, n, "-t", t, "--wrap", "sleep 1")
    return url


def test_rest_reads_the_queue_and_nodes_squeue_and_sinfo_show(loopback_slurm, rest):
    client = RestClient(rest, harness.env(loopback_slurm.folder))
    via_rest = client.jobs()
    assert via_rest == read_queue(harness.env(loopback_slurm.folder))
    assert [j.state for j in via_rest].count("PENDING") == 5 and [j.state for j in via_rest].count("RUNNING") == 1
    assert client.nodes() == parse_nodes(_sh(loopback_slurm, "sinfo", "--json"))
    assert client.nodes().cpus == 32 and client.nodes().free_cpus == 0
    assert parse_queue(client.get("/slurm/v0.0.38/jobs")) == via_rest


def test_daemon_reads_through_rest(loopback_slurm, rest):
    base = ["deploy", "daemon", "--once", "--dry-run", "--json", "--dir", loopback_slurm.folder]
    records = {}
    for policy in ("sjf", "model:lublin_256-scorer"):
        for how in ([], ["--rest", rest]):
            r = runner.invoke(app, [*base, "--policy", policy, *how])
            assert r.exit_code == 0, r.output
            records[policy, bool(how)] = json.loads(r.stdout.strip().splitlines()[-1])
    assert records["sjf", True]["updated"] == records["sjf", False]["updated"]  # the same queue, the same values
    model = records["model:lublin_256-scorer", True]
    assert model["pending"] == 5 and sorted(u["site_factor"] for u in model["updated"]) == [0, 250, 500, 750, 1000]


def test_rest_errors_are_one_line(loopback_slurm, tmp_path):
    environ = harness.env(loopback_slurm.folder)
    with pytest.raises(SchedlabError, match=r"did not answer GET /slurm/v0\.0\.38/jobs"):
        RestClient(f"unix:{tmp_path}/none.sock", environ).jobs()
    with pytest.raises(SchedlabError, match="not unix:/path/to/socket or http"):
        RestClient("ftp://host", environ)
    with pytest.raises(SchedlabError, match="absolute path"):
        RestClient("unix:relative.sock", environ)
    no_jwt = {k: v for k, v in environ.items() if k != "SLURM_JWT"}
    with pytest.raises(SchedlabError, match="needs a JWT and `scontrol token` gave none"):
        RestClient("http://127.0.0.1:1", no_jwt).jobs()
    r = runner.invoke(app, ["deploy", "daemon", "--policy", "sjf", "--once", "--dry-run", "--rest", "ftp://x",
                            "--dir", loopback_slurm.folder])  # fmt: skip
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_down_stops_slurmrestd(loopback_slurm, rest):
    state = harness.load_state(loopback_slurm.folder)
    pid, argv = state.pids["slurmrestd"], state.commands["slurmrestd"]
    assert harness.status(loopback_slurm.folder)["processes"]["slurmrestd"]["alive"]
    assert "slurmrestd" in harness.down(loopback_slurm.folder)
    assert not harness.alive(pid, argv)
