"""Job tables -> Workload (issue 19): sacct --parsable2 and --json of several Slurm versions, CSV,
the Alibaba pod list, the SURF Lisa and Marconi100 tables; exact columns, exact cleaning counts,
hostile inputs as one-line errors; load_trace delegating to the job-table loader."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from schedlab.datasets import DataNotFound, find_dataset
from schedlab.errors import JobFormatError, SchedlabError
from schedlab.workload import load_trace
from schedlab.workload.jobs import ID_RULE, NO_LIMIT_RULE, workload_from_jobs
from schedlab.workload.jobtables.text import STEP_RULE

FIX = Path(__file__).parents[1] / "fixtures" / "jobs"
T0 = 1709283600.0  # 2024-03-01 09:00 UTC
NEVER = "never started (pending, or no start time)"
CANCELLED = "cancelled before it started (CANCELLED, end = start)"
OVER = "ran longer than its time limit (kept as it ran)"


def _res(wl, column):
    r = wl.resources
    if column in ("partition", "qos", "account", "gpu_type"):
        return [r.label(column, int(c)) for c in getattr(r, column)]
    return getattr(r, column).tolist()


def _dataset(name: str, files: list[str]) -> Path:
    try:
        return find_dataset(name, files)
    except DataNotFound:
        pytest.skip(f"{name} data (shared/data/{name}) not found")


# ---------------------------------------------------------------------------- sacct --parsable2
def test_sacct_parsable2_slurm_23_columns_and_counts():
    wl = workload_from_jobs(FIX / "sacct_2311.txt")
    assert wl.job_id.tolist() == [2001, 2002, 2005, 2006, 2009]
    assert wl.submit.tolist() == [0.0, 300.0, 3600.0, 5340.0, 7200.0]  # 2006 started before submit
    assert wl.raw_submit[0] == T0 and wl.unix_start == int(T0)
    assert wl.run.tolist() == [3600.0, 1800.0, 7200.0, 3600.0, 300.0]
    assert wl.req_time.tolist() == [7200.0, 1800.0, 3600.0, 7200.0, 600.0]  # UNLIMITED -> runtime
    assert wl.procs.tolist() == [64, 16, 100, 8, 2]
    assert wl.user.tolist() == [0, 1, 2, 3, 0]
    assert wl.status.tolist() == [1, 0, 0, 1, 1]
    assert (wl.max_procs, wl.max_nodes) == (100, 3)
    assert _res(wl, "nodes") == [2, 1, 3, 1, 1]
    assert _res(wl, "cpus_per_node") == [32.0, 16.0, 34.0, 8.0, 2.0]  # 100 CPUs on 3 nodes: 34 per node
    assert _res(wl, "gpus_per_node") == [4.0, 0.0, 0.0, 1.0, 0.0]
    # AllocTRES mem= is the job's total: 500G / 2 nodes, 96G / 3 nodes
    assert _res(wl, "mem_per_node") == [256000.0, 28000.0, 32768.0, 65536.0, 4000.0]
    assert _res(wl, "gpu_type") == ["a100", "", "", "", ""]
    assert _res(wl, "partition") == ["gpu", "thin", "thin", "gpu", "debug"]
    assert _res(wl, "qos") == ["normal", "high", "normal", "normal", "normal"]
    assert _res(wl, "account") == ["proj1", "proj2", "proj3", "proj2", "proj1"]
    c = wl.cleaning
    assert (c.read, c.kept) == (12, 5)
    assert c.dropped == {
        STEP_RULE: 3,
        NEVER: 1,
        CANCELLED: 1,
        "with end before start (negative runtime)": 1,
        "with no end time (still running)": 1,
    }
    assert c.changed == {
        "started before submit -> submit := start (wait 0)": 1,
        NO_LIMIT_RULE: 1,
        OVER: 1,
        "CPUs not divisible by the nodes -> per-node count rounded up": 1,
    }
    assert c.read == c.kept + sum(c.dropped.values())
    assert any("nice values" in n for n in c.notes)


def test_unknown_partitions_are_dropped_and_counted():
    wl = workload_from_jobs(FIX / "sacct_2311.txt", partitions=["gpu", "thin"])
    assert wl.job_id.tolist() == [2001, 2002, 2005, 2006]
    assert wl.cleaning.dropped["unknown partition debug"] == 1
    assert wl.cleaning.kept == 4


def test_sacct_parsable2_old_slurm_memory_suffixes_and_gres():
    wl = workload_from_jobs(FIX / "sacct_2008.txt")
    t0 = datetime(2021, 5, 3, 8, tzinfo=UTC).timestamp()
    assert wl.job_id.tolist() == [3001, 3002, 3003] and wl.raw_submit[0] == t0
    assert wl.req_time.tolist() == [172800.0, 1800.0, 600.0]  # 2-00:00:00, 30:00, Partition_Limit
    assert _res(wl, "nodes") == [2, 1, 1]
    assert _res(wl, "cpus_per_node") == [16.0, 4.0, 4.0]
    # 4000Mc: 4000 MiB x 32 CPUs / 2 nodes; 3900Mn per node; 0n: not stated
    assert _res(wl, "mem_per_node") == [64000.0, 3900.0, 0.0]
    assert _res(wl, "gpus_per_node") == [2.0, 2.0, 0.0]  # AllocGRES gpu:v100:4 over 2 nodes; gpu:2(IDX:0-1)
    assert _res(wl, "gpu_type") == ["v100", "", ""]
    c = wl.cleaning
    assert (c.read, c.kept) == (5, 3)
    assert c.dropped == {STEP_RULE: 1, NEVER: 1}
    assert c.changed == {NO_LIMIT_RULE: 1, "GPU count missing -> 0": 1}


# ---------------------------------------------------------------------------- sacct --json
def test_sacct_json_slurm_21_08():
    wl = workload_from_jobs(FIX / "sacct_v0037.json")
    assert wl.job_id.tolist() == [4001, 4002]
    assert wl.submit.tolist() == [0.0, 200.0] and wl.unix_start == int(T0)
    assert wl.run.tolist() == [3600.0, 1800.0] and wl.req_time.tolist() == [7200.0, 3600.0]
    assert wl.procs.tolist() == [64, 8]
    assert _res(wl, "gpus_per_node") == [4.0, 0.0]
    # tres.allocated mem 256000 over 2 nodes; required.memory with the per-CPU flag bit: 2000 x 8 CPUs
    assert _res(wl, "mem_per_node") == [128000.0, 16000.0]
    assert wl.status.tolist() == [1, 0]
    c = wl.cleaning
    assert (c.read, c.kept, c.dropped, c.changed) == (3, 2, {NEVER: 1}, {})
    assert any("Slurm 21.08.8-2" in n for n in c.notes) and any("3 job step(s)" in n for n in c.notes)


def test_sacct_json_slurm_23_02_set_number_objects():
    wl = workload_from_jobs(FIX / "sacct_v0039.json")
    assert wl.job_id.tolist() == [5001, 5003]
    assert wl.req_time.tolist() == [1800.0, 7200.0]  # {"infinite": true} limit -> runtime
    assert _res(wl, "mem_per_node") == [8192.0, 65536.0]  # memory_per_cpu 4096 x 16
    assert _res(wl, "gpus_per_node") == [0.0, 2.0] and _res(wl, "gpu_type") == ["", "a100"]
    assert _res(wl, "qos") == ["debug", "normal"]
    c = wl.cleaning
    assert (c.read, c.kept) == (3, 2)
    assert c.dropped == {CANCELLED: 1} and c.changed == {NO_LIMIT_RULE: 1}


def test_sacct_json_slurm_24_05_state_lists():
    wl = workload_from_jobs(FIX / "sacct_v0041.json")
    assert wl.job_id.tolist() == [6001, 6003]
    assert wl.submit.tolist() == [0.0, 900.0] and wl.run.tolist() == [5400.0, 900.0]
    assert wl.req_time.tolist() == [5400.0, 600.0]
    assert _res(wl, "nodes") == [4, 1] and _res(wl, "cpus_per_node") == [64.0, 32.0]
    assert _res(wl, "gpus_per_node") == [4.0, 0.0] and _res(wl, "gpu_type") == ["h100", ""]
    assert _res(wl, "mem_per_node") == [256000.0, 64000.0]
    assert wl.status.tolist() == [1, 0]
    c = wl.cleaning
    assert (c.read, c.kept) == (4, 2)
    assert c.dropped == {NEVER: 1, "with no end time (still running)": 1}
    assert c.changed == {OVER: 1}


def test_analyze_reads_the_same_json_and_new_columns():
    from schedlab.analytics.jobs import read_jobs

    df = read_jobs(FIX / "sacct_v0041.json").df().set_index("job_id")
    assert df.loc["6001", "cores"] == 256 and df.loc["6001", "gpus"] == 16
    assert (df.loc["6001", "account"], df.loc["6001", "qos"], df.loc["6001", "gpu_type"]) == ("ml", "gpu", "h100")
    assert df.loc["6003", "mem_per_node"] == 64000.0
    old = read_jobs(FIX / "sacct_2008.txt").df().set_index("job_id")
    assert old.loc["3001", "mem_per_node"] == 64000.0 and old.loc["3001", "gpus"] == 4


# ---------------------------------------------------------------------------- CSV
def test_csv_resource_columns_minutes_and_array_ids(tmp_path):
    p = tmp_path / "jobs.csv"
    p.write_text(
        "JobID,User,Submit,Start,End,NNodes,cores,cpus,mem_per_node,gpus,gpu_share,Nice,TimelimitRaw,State\n"
        "77_1,u,2024-03-01T09:00:00Z,2024-03-01T09:00:00Z,2024-03-01T09:10:00Z,1,3,2.5,1024,1,0.5,10,20,COMPLETED\n"
        "77_2,u,2024-03-01T09:01:00Z,2024-03-01T09:02:00Z,2024-03-01T09:03:00Z,2,,,,,,,,COMPLETED\n"
    )
    wl = workload_from_jobs(p)
    assert wl.job_id.tolist() == [1, 2]  # array ids are not whole numbers: numbered by file row
    assert wl.req_time.tolist() == [1200.0, 60.0]  # TimelimitRaw is minutes; none -> runtime
    assert wl.procs.tolist() == [3, 2]
    assert _res(wl, "cpus_per_node") == [2.5, 1.0] and _res(wl, "gpus_per_node") == [0.5, 0.0]
    assert _res(wl, "mem_per_node") == [1024.0, 0.0] and _res(wl, "nice") == [10, 0]
    c = wl.cleaning.changed
    assert c[ID_RULE] == 2 and c["CPUs missing or 0 -> 1 per node"] == 1 and c["GPU count missing -> 0"] == 1
    assert c["memory missing -> 0 (not stated)"] == 1 and c["nice missing -> 0"] == 1


# ---------------------------------------------------------------------------- load_trace
def test_load_trace_delegates_job_tables_and_keeps_swf(tmp_path):
    assert load_trace(FIX / "sacct_v0041.json").job_id.tolist() == [6001, 6003]
    # an SWF file whose name says nothing and whose header holds '|' and ',' is still SWF
    swf = tmp_path / "trace.txt"
    swf.write_text(
        "; Note: a | b, c\n; MaxProcs: 8\n"
        "1 0 5 100 4 -1 -1 4 200 -1 1 3 -1 -1 -1 -1 -1 -1\n2 10 0 50 2 -1 -1 2 60 -1 1 4 -1 -1 -1 -1 -1 -1\n"
    )
    wl = load_trace(swf)
    assert wl.resources is None and wl.job_id.tolist() == [1, 2] and wl.max_procs == 8
    bare = tmp_path / "bare"
    bare.write_text("1 0 5 100 4 -1 -1 4 200 -1 1 3 -1 -1 -1 -1 -1 -1\n")
    assert load_trace(bare).resources is None
    with pytest.raises(SchedlabError, match="cleaning rules 'cqsim' are for SWF"):
        load_trace(FIX / "sacct_2311.txt", rules="cqsim")
    with pytest.raises(SchedlabError, match="partitions apply to job tables"):
        load_trace(swf, partitions=["a"])


def test_load_trace_data_spec():
    _dataset("surf_lisa", ["surf_week/tasks.parquet"])
    wl = load_trace("data:surf_lisa/surf_week/tasks.parquet")
    assert len(wl) == 6295 and wl.name == "surf_week"
    with pytest.raises(SchedlabError, match="stays inside"):
        load_trace("data:surf_lisa/../x.parquet")


# ---------------------------------------------------------------------------- shared data
def test_alibaba_pod_list():
    root = _dataset("alibaba_openb2023", ["openb_pod_list_default.csv.gz"])
    wl = load_trace(root / "openb_pod_list_default.csv.gz")
    c = wl.cleaning
    # README: 8,152 pods, 897 Pending (never scheduled); no time limits, no users
    assert (c.read, c.kept) == (8152, 7255)
    assert c.dropped == {NEVER: 897}
    assert c.changed == {NO_LIMIT_RULE: 7255, ID_RULE: 7255}
    assert any("pods in phase Running" in n for n in c.notes)
    assert wl.unix_start is None and wl.submit[0] == 0.0 and (wl.user == -1).all()
    assert np.array_equal(wl.req_time, wl.run)
    r = wl.resources
    assert (r.nodes == 1).all()
    # first pods: openb-pod-0000 12000 milli-CPUs, 16384 MiB, 1 GPU of 1000; pod-0001 6 CPUs, 0.46 GPU
    assert r.cpus_per_node[:2].tolist() == [12.0, 6.0] and r.gpus_per_node[:2].tolist() == [1.0, 0.46]
    assert r.mem_per_node[:2].tolist() == [16384.0, 12288.0] and _res(wl, "qos")[:2] == ["LS", "LS"]
    assert wl.run[0] == 12537496.0
    assert set(_res(wl, "qos")) == {"LS", "BE", "Burstable", "Guaranteed"}
    assert r.gpus_per_node.max() == 8.0 and (r.gpus_per_node[(r.gpus_per_node > 0)] < 1).any()


@pytest.mark.parametrize(
    "dataset, file, jobs, cpus",
    [
        ("surf_lisa", "surf_week/tasks.parquet", 6295, 16),
        ("surf_lisa", "surf_month/tasks.parquet", 68648, 16),
        ("marconi100", "marconi-22/tasks.parquet", 8376, 48),
    ],
)
def test_surf_and_marconi_tables(dataset, file, jobs, cpus):
    root = _dataset(dataset, [file])
    wl = workload_from_jobs(root / file)
    c = wl.cleaning
    assert (c.read, c.kept, c.dropped) == (jobs, jobs, {})
    assert c.changed[NO_LIMIT_RULE] == jobs
    lacks = next(n for n in c.notes if n.startswith("not in this opendc table"))
    for what in ("users", "partitions", "GPU counts", "memory", "time limits"):
        assert what in lacks
    assert (wl.procs == cpus).all() and (wl.resources.nodes == 1).all()
    assert wl.unix_start is not None and np.all(np.diff(wl.submit) >= 0)


# ---------------------------------------------------------------------------- hostile inputs
SACCT_HEAD = "JobID|User|Submit|Start|End|NNodes|NCPUS|ReqMem|AllocTRES|Timelimit|State\n"
GOOD = (
    "1|u|2024-03-01T09:00:00|2024-03-01T09:00:00|2024-03-01T10:00:00|1|4|4000M|cpu=4,mem=4G,node=1|01:00:00|COMPLETED"
)


@pytest.mark.parametrize(
    "row, message",
    [
        (GOOD.replace("4000M", "lots"), r"column 'ReqMem', line 2: cannot read 'lots'"),
        (GOOD.replace("4000M", "-4000M"), r"column 'ReqMem', line 2"),
        (GOOD.replace("mem=4G", "mem=-4G"), r"column 'AllocTRES', line 2"),
        (GOOD.replace("|4|4000M", "|1e30|4000M"), r"column 'NCPUS', line 2"),
        (GOOD.replace("|4|4000M", "|NaN|4000M"), r"column 'NCPUS', line 2"),
        (GOOD.replace("cpu=4", "cpu=1000000000000000000000000000000"), r"column 'AllocTRES', line 2"),
        (GOOD.replace("4000M", "99999999999T"), r"column 'ReqMem', line 2: .* not a number in \[0, 1,000,000,000\]"),
        (GOOD.replace("cpu=4", "cpu=four"), r"column 'AllocTRES', line 2: cannot read 'cpu=four'"),
        (GOOD.replace("cpu=4", "cpu=" + "9," * 3000), r"column 'AllocTRES', line 2"),
    ],
)
def test_hostile_sacct_values_are_one_line_errors(tmp_path, row, message):
    p = tmp_path / "s.txt"
    p.write_text(SACCT_HEAD + row + "\n")
    with pytest.raises(JobFormatError, match=message) as exc:
        workload_from_jobs(p)
    assert "\n" not in str(exc.value)


def _json(tmp_path, job_patch=None, doc=None):
    base = json.loads((FIX / "sacct_v0041.json").read_text())
    if job_patch is not None:
        job_patch(base["jobs"][0])
    p = tmp_path / "j.json"
    p.write_text(doc if doc is not None else json.dumps(base))
    return p


@pytest.mark.parametrize(
    "patch, message",
    [
        (lambda j: j["tres"]["allocated"][0].update(count=-4), r"job 1 \(id 6001\): field tres.allocated\[0\].count"),
        (lambda j: j["tres"]["allocated"][0].update(count=10**30), r"job 1 \(id 6001\): .*out of range"),
        (lambda j: j["tres"]["allocated"][0].update(count=1e30), r"column 'NCPUS', row 1: 1e\+30 is not"),
        (lambda j: j["tres"]["allocated"][0].update(count="many"), r"job 1 \(id 6001\): field .*count: 'many' is not"),
        (lambda j: j["time"].update(submission={"number": [1]}), r"field time.submission"),
        (lambda j: j["time"].update(submission=1e30), r"column 'Submit', row 1: time 1e\+30 is out of range"),
        (lambda j: j.update(job_id=True), r"job 1 \(id True\): field job_id"),
        (lambda j: j.update(time=[]), r"field time: expected an object"),
        (lambda j: j["required"]["memory_per_node"].update(number=10**15), r"column 'ReqMem', row 1"),
        (lambda j: j.update(user={"name": "x"}), r"field user: expected text"),
    ],
)
def test_hostile_json_values_are_one_line_errors(tmp_path, patch, message):
    with pytest.raises(JobFormatError, match=message) as exc:
        workload_from_jobs(_json(tmp_path, patch))
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "doc, message",
    [
        ('{"jobs": [{"job_id": NaN}]}', "not valid JSON"),
        ('{"jobs": [{"job_id": Infinity}]}', "not valid JSON"),
        ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
        ('{"jobs": {}}', "no top-level 'jobs' list"),
        ('{"jobs": [7]}', r"job 1: not an object"),
        ('{"jobs": [{"time": {}}]}', "no job_id"),
        ("{", "not valid JSON"),
    ],
)
def test_hostile_json_documents(tmp_path, doc, message):
    with pytest.raises(JobFormatError, match=message) as exc:
        workload_from_jobs(_json(tmp_path, doc=doc))
    assert "\n" not in str(exc.value)


def test_huge_declared_files_are_refused_without_reading_them(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as fh:
        fh.write(b"{")
        fh.truncate(2 << 30)  # a sparse 2 GiB file
    with pytest.raises(JobFormatError, match="over 512 MiB of JSON"):
        workload_from_jobs(big)
    line = tmp_path / "line.txt"
    with open(line, "wb") as fh:
        fh.write(SACCT_HEAD.encode() + b"1|")
        fh.truncate(2 << 30)  # one 2 GiB line of NUL bytes
    with pytest.raises(JobFormatError, match="line longer than 1 MiB"):
        workload_from_jobs(line, format="sacct")
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b" " * (8 << 20), compresslevel=9))
    with pytest.raises(JobFormatError, match="not valid JSON"):
        workload_from_jobs(bomb)


def test_pod_list_hostile_values(tmp_path):
    head = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    head += "creation_time,deletion_time,scheduled_time\n"
    ok = "p0,1000,1024,1,500,,LS,Succeeded,0,100,10"
    for bad, message in [
        (ok.replace(",1024,", ",-1024,"), r"column 'memory_mib', line 2"),
        (ok.replace(",500,", ",1500,"), r"column 'gpu_milli', line 2"),
        (ok.replace("p0,1000", "p0,1e30"), r"column 'cpu_milli', line 2: '1e30' is not a number"),
        (ok.replace(",0,100,", ",nan,100,"), r"column 'creation_time', line 2"),
    ]:
        p = tmp_path / "pods.csv"
        p.write_text(head + bad + "\n")
        with pytest.raises(JobFormatError, match=message):
            workload_from_jobs(p)
    p = tmp_path / "pods.csv"
    p.write_text(head + ok + "\n" + ok.replace("p0", "p1").replace("Succeeded", "Evicted") + "\n")
    wl = workload_from_jobs(p)
    assert wl.cleaning.dropped == {"with a pod phase other than Running, Succeeded, Failed or Pending": 1}
    assert wl.resources.gpus_per_node.tolist() == [0.5] and wl.resources.cpus_per_node.tolist() == [1.0]
    no_times = tmp_path / "multigpu.csv"
    no_times.write_text("name,cpu_milli,memory_mib,num_gpu,gpu_milli\np0,1000,1024,1,1000\n")
    with pytest.raises(JobFormatError, match="missing pod_phase, creation_time"):
        workload_from_jobs(no_times)


def test_marconi_table_simulates_on_the_shipped_marconi100():
    """The OpenDC Marconi100 tasks run on the shipped machine; what the table lacks and what the
    machine refuses (runs longer than the partition's 24 h limit) is counted, not guessed."""
    from schedlab.cluster import load_cluster
    from schedlab.simulator import SimConfig, simulate

    root = _dataset("marconi100", ["marconi-22/tasks.parquet"])
    res = simulate(load_trace(root / "marconi-22/tasks.parquet"), SimConfig(cluster=load_cluster("marconi100")))
    c = res.workload.cleaning
    assert c.dropped == {"with a time limit above the partition's MaxTime": 485} and c.kept == 7891
    assert len(res.start) == 7891 and np.all(res.start >= res.workload.submit)
    assert any("GPU counts" in n for n in c.notes)


def test_surf_table_simulates_on_a_16_cpu_machine():
    """SURF Lisa's week (16 CPUs a task, no GPUs, no memory, no users stated) on 96 nodes of 16
    CPUs: every job runs, and the report says what the table lacks."""
    from pathlib import Path

    from schedlab.cluster import load_cluster
    from schedlab.simulator import SimConfig, simulate

    root = _dataset("surf_lisa", ["surf_week/tasks.parquet"])
    machine = load_cluster(Path(__file__).parent.parent / "fixtures" / "cluster" / "cpu16.toml")
    res = simulate(load_trace(root / "surf_week/tasks.parquet"), SimConfig(cluster=machine))
    c = res.workload.cleaning
    assert c.kept == len(res.start) == 6295 and not c.dropped
    assert np.all(res.start >= res.workload.submit)
    lacks = next(n for n in c.notes if n.startswith("not in this opendc table"))
    assert "GPU counts" in lacks and "memory" in lacks and "users" in lacks
    m = res.extra["multires"]
    assert (m["prepared"].req[:, 0] == 16).all()  # each task holds a whole 16-CPU node
