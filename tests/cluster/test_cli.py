"""``schedlab cluster show``: tables, --json keys, and a bad file as a one-line error with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from schedlab.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cluster"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, list(args))


def test_show_polaris_tables():
    r = run("cluster", "show", "polaris")
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert out.startswith("polaris: 560 nodes, 17,920 CPUs, 2,240 GPUs")
    for text in ("node types", "x[3001-3560]", "512 GiB", "partitions", "x[3009-3560]", "3-00:00:00", "QOS"):
        assert text in out, text
    assert "decay_half_life" in out and "7-00:00:00" in out


def test_show_json_keys():
    r = run("cluster", "show", "marconi100", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert set(d) == {
        "name", "source", "allocation", "select", "cpu_unit", "gpu_unit", "totals", "node_types", "partitions", "qos",
        "priority", "notes",
    }  # fmt: skip
    assert d["totals"] == {"nodes": 980, "cpus": 980 * 128, "gpus": 3920, "mem_mib": 980 * 247808}
    assert d["node_types"][0]["hostlist"] == "r[201-249]n[01-20]"
    assert [p["name"] for p in d["partitions"] if p["default"]] == ["m100_usr_prod"]


def test_show_slurm_conf_prints_notes():
    r = run("cluster", "show", str(FIXTURES / "slurm.conf"))
    assert r.exit_code == 0, r.output
    assert "note: line 8: Include /etc/slurm/site-local.conf not followed" in r.stdout
    assert "cn[001-004],gpu01" in r.stdout


@pytest.mark.parametrize(
    "content, message",
    [
        ("[[node_types]]\nname = 'n'\ncount = 2\ncpus = 8\ntypo = 1\n", "unknown key 'typo'"),
        ("[[node_types]]\nname = 'n'\ncount = -2\ncpus = 8\n", "count must be a whole number"),
    ],
)
def test_bad_file_is_one_line_and_exit_2(tmp_path, content, message):
    f = tmp_path / "bad.toml"
    f.write_text(content)
    r = run("cluster", "show", str(f))
    assert r.exit_code == 2, r.output
    assert r.output.strip().startswith("error:") and message in r.output and "Traceback" not in r.output


def test_unknown_name_lists_the_shipped_ones():
    r = run("cluster", "show", "nosuchmachine")
    assert r.exit_code == 2 and "polaris" in r.output and "marconi100" in r.output


def test_help_explains_the_argument():
    r = run("cluster", "show", "--help")
    assert r.exit_code == 0 and "FILE_OR_NAME" in r.output and "--json" in r.output
