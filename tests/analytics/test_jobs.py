"""schedlab.analytics job side: hostlists, readers, counted cleaning, statistics checked by hand,
energy attribution balances, and the ``analyze`` command."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from schedlab.analytics import characterize as C
from schedlab.analytics.energy import attribute_energy, energy_by, read_hardware, read_power
from schedlab.analytics.jobs import HostlistError, JobFormatError, expand_hostlist, read_jobs
from schedlab.datasets import DataNotFound, find_dataset

FIX = Path(__file__).parents[1] / "fixtures" / "analytics"
SACCT = FIX / "sacct_small.txt"
T0 = 1709283600.0  # 2024-03-01 09:00 UTC


def _surf():
    try:
        return find_dataset(
            "surf_lisa",
            ["surf_week/tasks.parquet", "surf_week/fragments.parquet", "surf_week_measured_power/host.parquet"],
        )
    except DataNotFound:
        pytest.skip("SURF Lisa data not found")


# ---------------------------------------------------------------------------- hostlists
@pytest.mark.parametrize(
    "text, hosts",
    [
        ("node[001-004,007],gpu[1-2]", ["node001", "node002", "node003", "node004", "node007", "gpu1", "gpu2"]),
        ("n[01-03]-ib", ["n01-ib", "n02-ib", "n03-ib"]),
        ("r[1-2]n[8-10]", ["r1n8", "r1n9", "r1n10", "r2n8", "r2n9", "r2n10"]),
        ("tcn100", ["tcn100"]),
        ("a1,b[09-11]", ["a1", "b09", "b10", "b11"]),
        ("x[0007]", ["x0007"]),
        ("None assigned", []),
        ("", []),
    ],
)
def test_expand_hostlist(text, hosts):
    assert expand_hostlist(text) == hosts


@pytest.mark.parametrize(
    "text, what",
    [
        ("node[1-3", "not closed"),
        ("node1-3]", "without '['"),
        ("n[1-[2]]", "nested"),
        ("n[3-1]", "backwards"),
        ("n[a-b]", "bad range"),
        ("n[1,,2]", "empty range"),
        ("a,,b", "empty host"),
        ("n[1-]", "bad range"),
    ],
)
def test_expand_hostlist_errors(text, what):
    with pytest.raises(HostlistError, match=re.escape(what)):
        expand_hostlist(text)


# ---------------------------------------------------------------------------- readers and cleaning
def test_sacct_reader_fields_and_cleaning():
    t = read_jobs(SACCT)
    assert t.format == "sacct"
    df = t.df().set_index("job_id")
    # 6 job lines (2 step lines folded), 1 with End < Start dropped, 1 never started kept.
    c = t.cleaning
    assert (c.read, c.kept) == (6, 5)
    assert c.dropped == {"with end before start (negative runtime)": 1}
    assert c.changed["never started (no start time): kept for state counts, left out of runtime/wait/energy"] == 1
    assert any("2 job-step lines" in n for n in c.notes)
    assert "1005" not in df.index
    j = df.loc["1001"]
    assert j.submit == T0 and j.wait == 600 and j.run == 3600 and j.nodes == 2 and j.cores == 64
    assert j.gpus == 8 and j.time_limit == 7200 and j.state == "COMPLETED" and j.nodelist == "gcn[01-02]"
    assert df.loc["1002", "time_limit"] == 86400  # 1-00:00:00
    assert df.loc["1004", "state"] == "CANCELLED" and math.isnan(df.loc["1004", "run"])
    assert df.loc["1004", "nodelist"] is None or pd.isna(df.loc["1004", "nodelist"])
    # +01:00 offset -> UTC: 11:00+01:00 is 10:00 UTC
    assert df.loc["1006", "submit"] == T0 + 3600
    assert df.loc["1006", "gpus"] == 4 and df.loc["1006", "state"] == "OUT_OF_MEMORY"
    assert math.isnan(df.loc["1006", "time_limit"])  # UNLIMITED


def test_naive_times_follow_timezone():
    utc = read_jobs(SACCT).df().set_index("job_id")
    ams = read_jobs(SACCT, timezone="Europe/Amsterdam").df().set_index("job_id")
    assert ams.loc["1001", "submit"] == utc.loc["1001", "submit"] - 3600  # CET = UTC+1
    assert ams.loc["1006", "submit"] == utc.loc["1006", "submit"]  # explicit offset wins


def _csv(tmp_path, text, name="jobs.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_reader_and_counted_cleaning(tmp_path):
    p = _csv(
        tmp_path,
        "job_id,submit,start,end,nodes,state,partition\n"
        "1,2024-01-01T00:00:00Z,2024-01-01T00:01:00Z,2024-01-01T01:01:00Z,2,COMPLETED,gpu\n"
        "2,2024-01-01T00:00:10Z,2024-01-01T00:00:00Z,2024-01-01T00:30:00Z,,FAILED,cpu\n"
        "2,2024-01-01T00:05:00Z,2024-01-01T00:06:00Z,2024-01-01T00:07:00Z,1,FAILED,cpu\n"
        "3,2024-01-01T00:00:20Z,2024-01-01T00:10:00Z,2024-01-01T00:05:00Z,1,COMPLETED,cpu\n"
        "4,2024-01-01T00:00:30Z,2024-01-01T00:10:00Z,,1,RUNNING,cpu\n"
        "5,2024-01-01T00:00:40Z,2024-01-01T00:10:00Z,2024-01-01T00:20:00Z,1,WEIRD,cpu\n",
    )
    t = read_jobs(p)
    c = t.cleaning
    assert c.read == 6 and c.kept == 3
    assert c.dropped == {
        "duplicate job id (first kept)": 1,
        "with end before start (negative runtime)": 1,
        "still running (start but no end time)": 1,
    }
    assert c.changed["started before submit -> wait 0 (submit := start)"] == 1
    assert c.changed["nodes missing or < 1 -> 1"] == 1
    assert c.changed["unrecognised state -> UNKNOWN"] == 1
    df = t.df().set_index("job_id")
    assert df.loc["2", "wait"] == 0 and df.loc["2", "nodes"] == 1 and df.loc["5", "state"] == "UNKNOWN"
    assert c.kept + sum(c.dropped.values()) == c.read


def test_missing_columns_and_bad_times_are_clear_errors(tmp_path):
    with pytest.raises(JobFormatError, match=r"missing column.*submit"):
        read_jobs(_csv(tmp_path, "job_id,start,end\n1,0,10\n"))
    with pytest.raises(JobFormatError, match=r"column 'start', line 3: cannot parse time 'yesterday'"):
        read_jobs(
            _csv(
                tmp_path,
                "job_id,submit,start,end\n1,2024-01-01,2024-01-01,2024-01-02\n2,2024-01-01,yesterday,2024-01-02\n",
            )
        )
    with pytest.raises(JobFormatError, match="unknown format"):
        read_jobs(SACCT, format="xml")
    with pytest.raises(FileNotFoundError):
        read_jobs(tmp_path / "nope.csv")


def test_bad_hostlist_raises_or_is_counted(tmp_path):
    p = _csv(tmp_path, "job_id,submit,start,end,nodelist\n1,0,0,10,n[1-2]\n2,0,0,10,n[1-\n")
    with pytest.raises(HostlistError, match="job 2"):
        read_jobs(p)
    t = read_jobs(p, lenient=True)
    assert t.cleaning.changed["unparseable node list cleared (job kept; no per-node energy)"] == 1
    assert pd.isna(t.df().set_index("job_id").loc["2", "nodelist"])


def test_swf_reader(tmp_path):
    p = tmp_path / "tiny.swf"
    p.write_text(
        "; UnixStartTime: 1700000000\n; MaxNodes: 4\n; MaxProcs: 16\n"
        "1 0 10 100 8 -1 -1 8 200 -1 1 7 1 -1 1 -1 -1 -1\n"
        "2 5 -1 50 4 -1 -1 4 100 -1 0 8 1 -1 2 -1 -1 -1\n"
        "3 9 1 -1 4 -1 -1 4 100 -1 5 8 1 -1 2 -1 -1 -1\n"
    )
    t = read_jobs(p)
    assert t.format == "swf"
    df = t.df().set_index("job_id")
    assert df.loc["1", "submit"] == 1700000000 and df.loc["1", "wait"] == 10 and df.loc["1", "run"] == 100
    assert df.loc["1", "nodes"] == 2 and df.loc["1", "cores"] == 8 and df.loc["1", "state"] == "COMPLETED"
    assert df.loc["2", "state"] == "FAILED" and math.isnan(df.loc["2", "run"])  # wait -1: start unknown
    assert df.loc["3", "state"] == "CANCELLED"
    assert t.cleaning.kept == 3


def test_swf_status_zero_everywhere_is_not_recorded_and_bundled_names_read(tmp_path):
    """theta_2022 writes status 0 ("failed") on every job: that is a trace without states, counted
    as a cleaning rewrite, not a machine where every job failed.  A mix of 0s and 1s stays as is."""
    p = tmp_path / "zeros.swf"
    p.write_text("1 0 10 100 8 -1 -1 8 200 -1 0 7 1 -1 1 -1 -1 -1\n2 5 3 50 4 -1 -1 4 100 -1 0 8 1 -1 2 -1 -1 -1\n")
    t = read_jobs(p)
    assert set(t.df()["state"]) == {"UNKNOWN"} and not t.states_known
    assert t.cleaning.changed["SWF status 0 (failed) on every job: taken as not recorded (state UNKNOWN)"] == 2
    mixed = tmp_path / "mixed.swf"
    mixed.write_text(p.read_text().replace(" 0 7 1 ", " 1 7 1 "))
    assert sorted(read_jobs(mixed).df()["state"]) == ["COMPLETED", "FAILED"]
    theta = read_jobs("theta_2022")  # a bundled trace name, as --trace takes
    assert theta.cleaning.kept == 23_911 and not theta.states_known
    with pytest.raises(FileNotFoundError, match="nor a bundled trace"):
        read_jobs(tmp_path / "nosuch.csv")


def test_no_jobs_left_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.swf"
    bad.write_text("1 0 10 100 8\nfoo bar\n")
    with pytest.raises(JobFormatError, match=r"no jobs left to analyse \(read 2 jobs; skipped 2 malformed"):
        read_jobs(bad)
    empty = _csv(tmp_path, "job_id,submit,start,end\n")
    with pytest.raises(JobFormatError, match="no jobs left"):
        read_jobs(empty)
    r = CliRunner().invoke(_app(), ["analyze", "--jobs", str(bad)])
    assert r.exit_code == 2 and "no jobs left" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)  # an error message, no traceback


def test_opendc_reader(tmp_path):
    p = tmp_path / "tasks.parquet"
    pd.DataFrame(
        {
            "id": np.array([5, 6], dtype=np.int32),
            "submission_time": [1_700_000_000_000, 1_700_000_060_000],
            "duration": [90_000, 30_000],
            "cpu_count": np.array([16, 8], dtype=np.int32),
            "cpu_capacity": [33600.0, 16800.0],
            "mem_capacity": [1, 1],
        }
    ).to_parquet(p)
    t = read_jobs(p)
    assert t.format == "opendc" and not t.waits_known and not t.states_known
    df = t.df()
    assert df["run"].tolist() == [90.0, 30.0] and df["cores"].tolist() == [16, 8]
    assert df["start"].tolist() == df["submit"].tolist() == [1_700_000_000.0, 1_700_000_060.0]


def test_schedlab_simulation_output_is_read_and_analysed(tmp_path):
    from schedlab.simulator import SimConfig, simulate
    from tests.helpers import make_workload

    wl = make_workload(submit=[0, 0, 10, 20], run=[100, 50, 30, 10], procs=[6, 6, 4, 10], capacity=10)
    cfg = SimConfig(policy="fcfs", backfill="none")
    res = simulate(wl, cfg)
    out = tmp_path / "sim"
    out.mkdir()
    res.to_frame().to_parquet(out / "jobs.parquet")
    (out / "summary.json").write_text(json.dumps({"config": cfg.to_dict()}))
    t = read_jobs(out)
    assert t.format == "schedlab"
    df = t.df().set_index("job_id")
    frame = res.to_frame().set_index("job_id")
    for jid in frame.index:
        assert df.loc[str(jid), "wait"] == pytest.approx(frame.loc[jid, "wait"])
        assert df.loc[str(jid), "run"] == pytest.approx(frame.loc[jid, "run"])
    r = CliRunner().invoke(_app(), ["analyze", "--jobs", str(out), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["format"] == "schedlab" and s["overview"]["jobs"] == 4
    waits = sorted(frame["wait"])
    assert s["classes"][0]["wait_median_s"] == pytest.approx(np.median(waits))
    # processor units, no node counts: the size is given in core-hours, not as job-hours
    core_h = float((frame["procs"] * frame["run"]).sum() / 3600)
    assert f"{core_h:,.0f} core-hours (the input has no node counts)" in s["findings"][0]


# ---------------------------------------------------------------------------- statistics by hand
def test_characterize_by_hand_on_sacct_fixture():
    t = read_jobs(SACCT).with_classes()
    st = C.characterize(t)
    cls = st.classes.set_index("job_class")
    # ml = the two gpu-partition jobs (1001: 2 nodes x 1 h, 1006: 1 node x 0.5 h)
    assert cls.loc["ml", "jobs"] == 2 and cls.loc["generic", "jobs"] == 3
    assert cls.loc["ml", "node_hours"] == pytest.approx(2.5) and cls.loc["generic", "node_hours"] == pytest.approx(2.5)
    assert cls.loc["ml", "wait_median_s"] == pytest.approx((600 + 30) / 2)
    assert cls.loc["generic", "run_median_s"] == pytest.approx((1800 + 7200) / 2)  # 1004 never ran
    fr = st.failures.set_index("job_class")
    assert fr.loc["generic", "failed_rate"] == pytest.approx(1 / 3)
    assert fr.loc["generic", "not_completed_rate"] == pytest.approx(1.0)
    assert fr.loc["ml", "not_completed_rate"] == pytest.approx(0.5)
    assert fr.loc["all", "jobs_known_state"] == 5
    mix = st.states.set_index(["job_class", "state"])["jobs"]
    assert mix[("generic", "TIMEOUT")] == 1 and mix[("ml", "OUT_OF_MEMORY")] == 1
    # custom rule: only job 1001 holds 8 GPUs
    t2 = read_jobs(SACCT).with_classes("gpus >= 8")
    assert C.class_summary(t2).set_index("job_class").loc["ml", "jobs"] == 1
    with pytest.raises(C.ClassRuleError, match="unknown column"):
        read_jobs(SACCT).with_classes("no_such_column > 1")


def test_surf_week_statistics_checked_by_hand():
    d = _surf()
    t = read_jobs(d / "surf_week" / "tasks.parquet").with_classes()
    raw = pd.read_parquet(d / "surf_week" / "tasks.parquet")
    st = C.characterize(t)
    assert st.overview["jobs"] == len(raw) == 6295
    assert not t.states_known and st.failures.empty  # OpenDC keeps no final states
    cls = st.classes.set_index("job_class")
    assert list(cls.index) == ["generic"]  # CPU partition only: no GPU, no partition names
    assert cls.loc["generic", "run_median_s"] == pytest.approx(np.median(raw["duration"] / 1000)) == 90.0
    assert cls.loc["generic", "run_mean_s"] == pytest.approx((raw["duration"] / 1000).mean())
    assert cls.loc["generic", "node_hours"] == pytest.approx((raw["duration"] / 3.6e6).sum())
    # a handful of jobs recomputed by hand
    ids = [2133099, 2147116, 2163917]
    sample = raw[raw["id"].isin(ids)].set_index("id")
    df = t.df().set_index("job_id")
    for i in ids:
        assert df.loc[str(i), "submit"] == sample.loc[i, "submission_time"] / 1000
        assert df.loc[str(i), "run"] == sample.loc[i, "duration"] / 1000
    # arrivals: hourly counts and inter-arrival CV recomputed with pandas
    h = np.floor(raw["submission_time"] / 3.6e6).astype(int)
    counts = h.value_counts().reindex(range(h.min(), h.max() + 1), fill_value=0).to_numpy()
    b = st.burstiness.iloc[0]
    assert b["hourly_dispersion"] == pytest.approx(counts.var(ddof=1) / counts.mean())
    gaps = np.diff(np.sort(raw["submission_time"].to_numpy() / 1000))
    assert b["interarrival_cv"] == pytest.approx(gaps.std(ddof=1) / gaps.mean())
    q = st.distributions.set_index(["job_class", "metric"]).loc[("generic", "run")]
    assert q["p95"] == pytest.approx(np.quantile(raw["duration"] / 1000, 0.95))


# ---------------------------------------------------------------------------- energy
def test_per_node_equal_split_by_hand(tmp_path):
    # node a: jobs 1 and 2 co-located in slot 0 -> 300 J each of 600 J; slot 1 only job 1 -> 900 J.
    # node b: job 2 all of slot 0 -> 400 J; slot 1 job 3 for half the slot -> 150 J, 150 J idle.
    jobs = _csv(
        tmp_path,
        "job_id,submit,start,end,nodes,cores,nodelist,state\n"
        '1,0,1000,1060,1,4,a,COMPLETED\n2,0,1000,1030,2,8,"a,b",FAILED\n'
        "3,0,1030,1045,1,4,b,COMPLETED\n",
    )
    tel = _csv(tmp_path, "timestamp,node,power\n1030,a,20\n1060,a,30\n1030,b,13.3333333333\n1060,b,10\n", "tel.csv")
    t = read_jobs(jobs).with_classes()
    p = read_power(tel, origin=0.0)
    assert p.level == "node" and p.interval == 30 and p.t0 == 1000
    r = attribute_energy(t, p, method="equal")
    e = r.jobs.set_index("job_id")["energy_j"]
    assert e["1"] == pytest.approx(300 + 900)
    assert e["2"] == pytest.approx(300 + 400)
    assert e["3"] == pytest.approx(150)
    b = r.balance
    assert b["measured_j"] == pytest.approx(600 + 900 + 400 + 300)
    assert b["loss_idle_nodes_j"] == pytest.approx(150)
    assert abs(b["residual_j"]) < 1e-6
    rc = attribute_energy(t, p, method="cores")  # job 2 has 8 cores on 2 nodes = 4 per node: same as job 1
    assert rc.jobs.set_index("job_id")["energy_j"]["1"] == pytest.approx(1200)
    by = energy_by(t, r, "state").set_index("state")
    assert by.loc["FAILED", "energy_j"] == pytest.approx(700)
    assert by.loc["COMPLETED", "energy_j"] == pytest.approx(1350)


def test_cluster_split_with_hardware_idle_power(tmp_path):
    # 4 nodes, idle 10 W each, 30 s slots.  Slot 0: 1200 J; job x holds 1 node all slot, job y 2 nodes half of it.
    jobs = _csv(tmp_path, "job_id,submit,start,end,nodes,cores\nx,0,0,30,1,1\ny,0,0,15,2,2\n")
    tel = _csv(tmp_path, "timestamp,power\n30,40\n60,12\n", "tel.csv")
    hw = _csv(tmp_path, "node_type,nodes,idle_w\ncpu,4,10\n", "hw.csv")
    t = read_jobs(jobs)
    r = attribute_energy(t, read_power(tel, origin=0.0), method="equal", hardware=read_hardware(hw))
    e = r.jobs.set_index("job_id")
    # slot 0: static 300 J per node; busy node-seconds x 30, y 30 -> static x 300, y 300, idle 600;
    # dynamic 1200 - 1200 = 0.  Slot 1: 360 J < 4*300, so static = 90 per node, all idle.
    assert e.loc["x", "static_j"] == pytest.approx(300) and e.loc["y", "static_j"] == pytest.approx(300)
    assert r.balance["loss_idle_nodes_j"] == pytest.approx(600 + 360)
    assert abs(r.balance["residual_j"]) < 1e-9
    tel2 = _csv(tmp_path, "timestamp,power\n30,60\n60,12\n", "tel2.csv")  # slot 0: 1800 J -> 600 J dynamic
    r2 = attribute_energy(t, read_power(tel2, origin=0.0), method="equal", hardware=read_hardware(hw))
    e2 = r2.jobs.set_index("job_id")["dynamic_j"]
    assert e2["x"] == pytest.approx(300) and e2["y"] == pytest.approx(300)


def test_surf_week_energy_sums_to_measured():
    d = _surf()
    t = read_jobs(d / "surf_week" / "tasks.parquet").with_classes()
    tel = read_power(d / "surf_week_measured_power" / "host.parquet", origin=t.scalar("SELECT min(submit) FROM {jobs}"))
    assert tel.level == "cluster" and tel.n_nodes == 277 and tel.interval == 30
    measured = pd.read_parquet(d / "surf_week_measured_power" / "host.parquet")["energy_usage"].sum()
    assert tel.measured_j == pytest.approx(measured)
    assert measured / 3.6e9 == pytest.approx(3.644, abs=5e-4)
    r = attribute_energy(t, tel, fragments=d / "surf_week" / "fragments.parquet")
    b = r.balance
    assert r.method == "usage"
    assert b["measured_j"] == pytest.approx(measured)
    assert abs(b["attributed_j"] + b["loss_j"] - measured) < 1e-6 * measured
    assert 0.5 < b["attributed_share"] < 0.95 and b["loss_idle_nodes_j"] > 0
    assert r.jobs["energy_j"].sum() == pytest.approx(b["attributed_j"])
    assert (r.jobs["energy_j"] >= 0).all()
    # per-slot balance holds everywhere
    s = r.slots
    parts = s["static_jobs_j"] + s["dynamic_jobs_j"] + s["idle_loss_j"] + s["no_usage_loss_j"]
    assert np.allclose(parts, s["measured_j"])


# ---------------------------------------------------------------------------- CLI
def _app():
    from schedlab.cli import app

    return app


def test_cli_analyze_sacct_writes_report(tmp_path):
    out = tmp_path / "rep"
    r = CliRunner().invoke(_app(), ["analyze", "--jobs", str(SACCT), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["cleaning"]["kept"] == 5 and s["states_known"]
    assert any(f.startswith("ML jobs fail less often than generic jobs: 0.0% vs 33.3% FAILED") for f in s["findings"])
    html = (out / "report.html").read_text()
    assert "Key findings" in html and "Cleaning report" in html and "data:image/png;base64," in html
    assert "with end before start (negative runtime)" in html
    assert json.loads((out / "summary.json").read_text())["overview"]["jobs"] == 5
    assert len(pd.read_parquet(out / "state_mix.parquet")) == 5
    assert (out / "ecdf.png").exists() and (out / "state_mix.png").exists()


def test_cli_analyze_errors_are_clean(tmp_path):
    bad = _csv(tmp_path, "job_id,start\n1,0\n")
    r = CliRunner().invoke(_app(), ["analyze", "--jobs", str(bad)])
    assert r.exit_code == 2 and "missing column" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(_app(), ["analyze", "--jobs", str(SACCT), "--class-rule", "gpus >"])
    assert r.exit_code == 2 and "--class-rule" in r.output


def test_cli_analyze_surf_week_with_telemetry(tmp_path):
    d = _surf()
    out = tmp_path / "surf"
    r = CliRunner().invoke(
        _app(),
        [
            "analyze",
            "--jobs",
            str(d / "surf_week" / "tasks.parquet"),
            "--telemetry",
            str(d / "surf_week_measured_power" / "host.parquet"),
            "--fragments",
            str(d / "surf_week" / "fragments.parquet"),
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    b = s["energy"]["balance"]
    assert abs(b["measured_j"] - b["attributed_j"] - b["loss_j"]) < 1e-6 * b["measured_j"]
    assert s["telemetry"]["changepoints"] >= 1
    assert any("measured" in f and "loss" in f for f in s["findings"])
    html = (out / "report.html").read_text()
    assert "Telemetry" in html and "Energy attribution" in html
    assert (out / "energy_jobs.parquet").exists() and (out / "power_changepoints.png").exists()


def test_per_node_telemetry_section_flags_the_odd_node(tmp_path):
    from schedlab.analytics.report import telemetry_section

    rng = np.random.default_rng(0)
    t = 1_700_000_000 + 60 * np.arange(1, 801)
    rows = []
    for n in range(12):
        p = 200 + 50 * np.sin(t / 3600) + rng.normal(0, 5, len(t))
        if n == 3:
            p[400:500] += 150  # one node draws 150 W more for 100 minutes
        rows.append(pd.DataFrame({"node": f"n{n:02d}", "timestamp": t, "power": p}))
    f = tmp_path / "tel.parquet"
    pd.concat(rows).to_parquet(f)
    tel = read_power(f)
    assert tel.level == "node" and tel.interval == 60
    out = telemetry_section(tel)
    assert out["changepoints"] >= 1
    assert [a["node"] for a in out["anomalous_nodes"]][:1] == ["n03"]


# ---------------------------------------------------------------------------- larger than memory
def test_parquet_statistics_under_a_memory_limit(tmp_path):
    """1.2 M jobs (36 MB of Parquet, 69 MB as Arrow arrays, 141 MB as the canonical DuckDB
    table with text ids) analysed with DuckDB capped at 40 MB: the cleaned table spills to the
    temp directory, and every count, sum and quantile equals the numpy computation on the
    generating arrays."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 1_200_000
    rng = np.random.default_rng(42)
    submit = 1.66e9 + np.sort(rng.uniform(0, 180 * 86400, n))
    start = submit + rng.exponential(600, n)
    end = start + rng.lognormal(7, 1.5, n)
    nodes = rng.integers(1, 9, n)
    gpus = np.where(rng.random(n) < 0.2, rng.integers(1, 5, n), 0)
    state = rng.choice(4, n, p=[0.8, 0.1, 0.05, 0.05]).astype(np.int32)
    job_id = np.arange(n, dtype=np.int64)
    job_id[-2000:] = job_id[:2000]  # later resubmissions of the first 2,000 ids
    end[5000:5500] = start[5000:5500] - 1.0  # negative runtimes
    names = ["COMPLETED", "FAILED", "TIMEOUT", "CANCELLED"]
    tbl = pa.table(
        {
            "job_id": job_id,
            "user": pa.DictionaryArray.from_arrays(
                rng.integers(0, 500, n).astype(np.int32), [f"u{i:03d}" for i in range(500)]
            ),
            "partition": pa.DictionaryArray.from_arrays((gpus > 0).astype(np.int32), ["cpu", "gpu"]),
            "submit": submit,
            "start": start,
            "end": end,
            "nodes": nodes,
            "gpus": gpus,
            "state": pa.DictionaryArray.from_arrays(state, names),
        }
    )
    pq.write_table(tbl, tmp_path / "jobs.parquet", row_group_size=250_000)
    assert tbl.nbytes > 40 * 2**20  # the data (as arrays) is over the memory budget
    del tbl

    t = read_jobs(tmp_path / "jobs.parquet", memory_limit="40MB", temp_directory=tmp_path / "spill").with_classes()
    assert t.scalar("SELECT current_setting('memory_limit')").startswith(("38", "40"))
    assert t.cleaning.dropped == {
        "duplicate job id (first kept)": 2000,
        "with end before start (negative runtime)": 500,
    }
    stats = C.characterize(t)
    mem = t.con.sql("SELECT sum(memory_usage_bytes), sum(temporary_storage_bytes) FROM duckdb_memory()").fetchone()
    print(
        f"rows {n:,}, Parquet {(tmp_path / 'jobs.parquet').stat().st_size / 2**20:.1f} MB, DuckDB in memory "
        f"{mem[0] / 2**20:.1f} MB + spilled {mem[1] / 2**20:.1f} MB under memory_limit 40MB"
    )
    assert mem[0] <= 40 * 2**20 and mem[1] > 40 * 2**20  # held within the budget, more than that spilled

    keep = np.ones(n, bool)
    keep[-2000:] = False
    keep[5000:5500] = False
    run = (end - start)[keep]
    assert stats.overview["jobs"] == keep.sum() == n - 2500
    assert stats.overview["node_hours"] == pytest.approx((nodes[keep] * run).sum() / 3600, rel=1e-9)
    assert stats.overview["users"] == 500
    ml = gpus[keep] > 0
    cls = stats.classes.set_index("job_class")
    assert cls.loc["ml", "jobs"] == ml.sum() and cls.loc["generic", "jobs"] == (~ml).sum()
    assert cls.loc["ml", "run_median_s"] == pytest.approx(np.median(run[ml]), rel=1e-12)
    fr = stats.failures.set_index("job_class")
    assert fr.loc["all", "failed"] == (state[keep] == 1).sum()
    assert fr.loc["all", "timeout_rate"] == pytest.approx((state[keep] == 2).mean(), rel=1e-12)
    d = stats.distributions.set_index(["job_class", "metric"])
    for q in (5, 50, 95, 99):
        assert d.loc[("generic", "run"), f"p{q}"] == pytest.approx(np.quantile(run[~ml], q / 100), rel=1e-9)
    e = stats.ecdf[(stats.ecdf["job_class"] == "ml") & (stats.ecdf["metric"] == "nodes")]
    assert e["value"].iloc[-1] == 8 and e["value"].iloc[0] == 1
    assert stats.arrivals["jobs"].sum() == keep.sum()
    b = stats.burstiness.set_index("job_class")
    s_ml = np.sort(np.minimum(submit, start)[keep][ml])
    assert b.loc["ml", "interarrival_mean_s"] == pytest.approx(np.diff(s_ml).mean(), rel=1e-9)

    # the view mode (nothing materialised; each statistic re-scans the Parquet file) agrees
    # (on the first 100,000 rows, to keep the test short: every scan re-reads the file)
    pq.write_table(pq.read_table(tmp_path / "jobs.parquet").slice(0, 100_000), tmp_path / "head.parquet")
    h = np.arange(n) < 100_000
    v = read_jobs(
        tmp_path / "head.parquet", memory_limit="40MB", temp_directory=tmp_path / "spill2", materialize=False
    ).with_classes()
    assert v.con.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'jobs'").fetchone()[0] == 0
    assert C.overview(v)["node_hours"] == pytest.approx((nodes * (end - start))[keep & h].sum() / 3600, rel=1e-9)
    assert C.failure_rates(v).set_index("job_class").loc["all", "failed"] == (state[keep & h] == 1).sum()
