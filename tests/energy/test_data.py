"""Converters of schedlab.energy.data on tiny self-written fixtures in the upstream formats.

Every value below is made up; the layouts follow the EcoSched run logs / perf_metrics.txt and the
OPEN ``*_performance.csv`` / per-pair series / ``performance_matrix.csv`` formats.
"""

from __future__ import annotations

import io
import urllib.error
from pathlib import Path

import pandas as pd
import pytest

from schedlab.datasets import DataNotFound
from schedlab.energy import data as D

# ------------------------------------------------------------------------------- EcoSched fixtures

PERF = """
===== SPEC/lbm =====
cap=2800
gpu_count\tperformance\tavg_power\tdram_sum\tsm_sum\tfp_sum
2\t10.50\t100.25\t0.500\t2000.00\t0.10
1\t20.00\t120.00\t0.300\t1000.00\t0.05

===== ML/bert =====
cap=2800
gpu_count\tperformance\tavg_power\tdram_sum\tsm_sum\tfp_sum
1\t8.00\t50.00\t0.100\t900.00\t0.00

===== ML/simpleP2P =====
cap=2800
gpu_count\tperformance\tavg_power\tdram_sum\tsm_sum\tfp_sum
2\t5.00\t40.00\t0.010\t1800.00\t0.00
"""

SEQ = """Results log: /x/run_cosched_sequential.txt
Sequential GPU strategy: max
Job queue and GPU assignments (sequential uses max available GPUs from perf_metrics.txt):
  {a}             -> 2 GPUs
  {b}             -> 1 GPUs

Sequential execution: 2 apps on 4 GPUs
================================================================================
  t=    0.00s | START {a}             | 2 GPUs [0, 1] | NUMA 0
  t=   10.00s | END   {a}             | runtime=10.00s | OK
  t=   10.00s | START {b}             | 1 GPUs [0] | NUMA 0
  t=   30.00s | END   {b}             | runtime=19.99s | FAILED(rc=1)
  ERROR: {b} failed, check ./log.txt for details

Total makespan: 30.00s

Power monitoring: 90 samples over 29.9s
Total GPU energy: 1000.00 J (1.00 kJ)
"""

ECO = """Results log: /x/EcoPack_cmab_run.txt
Online policy parameters:
  policy            = cmab
  score_metric      = energy
  slowdown_tol      = 0.20
  idle_power        = {idle} W
  idle_weight       = 0.2000
  blocking_weight   = 0.0000
  ucb_alpha         = 0.5000
  candidate modes:
    {a}             -> 2GPU(rt=10.50, pred=dram_sum=0.5000, nrt=1.00, ne=1.00, nedp=1.00)

Online co-scheduling: 2 apps on 4 GPUs (metric=energy, policy=cmab)
================================================================================
  t=    0.00s | START {a}             | 2 GPUs [0, 1] | NUMA 0 | score=0.0000 | regret=0.0000
  t=    0.01s | START {b}             | 1 GPUs [2] | NUMA 1 | score=0.0000 | regret=0.0000
    CMAB update | action={a}:2GPU | x=(0.0000, 0.0000) | reward=-0.4000
  t=    9.00s | END   {b}             | freed 1 GPUs [2] | NUMA 1 | runtime=8.99s
  t=   12.00s | END   {a}             | freed 2 GPUs [0, 1] | NUMA 0 | runtime=12.00s

Total makespan: 12.00s

Power monitoring: 40 samples over 11.9s
Total GPU energy: 500.00 J (0.50 kJ)
"""

SOLVER_RUN = """Results log: /x/solver_execution_run.txt
Planned solver decisions:
  1. t=0.00s | {a}             | 2 GPUs | placement (2, 0) | planned_end=10.50s

Solver-driven execution: 2 apps on 4 GPUs
  t=    0.00s | START {a}             | 2 GPUs [0, 1] | NUMA 0 | planned=0.00s | delay=+0.00s
  t=    1.00s | START {b}             | 1 GPUs [3] | NUMA 1 | planned=0.50s | delay=+0.50s
  t=   11.00s | END   {a}             | freed 2 GPUs [0, 1] | NUMA 0 | runtime=11.00s | OK
  t=   11.50s | END   {b}             | freed 1 GPUs [3] | NUMA 1 | runtime=10.50s | OK

Total makespan: 11.50s

Power monitoring: 35 samples over 11.4s
Total GPU energy: 400.00 J (0.40 kJ)
"""

SCHEDULE = """Solver schedule output: /x/solver_schedule.txt
Exact offline energy-optimal schedule
Idle power per GPU: 70.00 W
Slowdown tolerance vs max-GPU baseline: 0.20
Makespan: 10.50 s
Active energy: 2505.25 J (2.51 kJ)
Idle energy: 10.00 J (0.01 kJ)
Total energy: 2515.25 J (2.52 kJ)
Objective value: 2515.25 J
Best bound: 2400.00 J
Solver wall time: 1.25 s

#       Start      End App              GPU    Place  Runtime   P_gpu(W)   P_tot(W)     E_act(J)
------------------------------------------------------------------------------------------------
1        0.00    10.50 {a}                2    (2,0)    10.50     100.25     200.50      2105.25
2        0.50     8.50 {b}                1    (0,1)     8.00      50.00      50.00       400.00

Execution order:
  1. t=0.00s start {a} on 2 GPU(s) at placement (2, 0)
"""


def _log_text(gpu: str, sub: str, name: str) -> str:
    a, b = ("lbm", "lbm") if (gpu, sub) == ("A100", "volume/med/") else ("lbm", "bert")
    if name == D.SOLVER_SCHEDULE:
        return SCHEDULE.format(a=a, b=b)
    if name.startswith("run_cosched"):
        return SEQ.format(a=a, b=b)
    if name.startswith("EcoPack"):
        return ECO.format(a=a, b=b, idle="70.00" if gpu == "A100" else f"{D.IDLE_POWER_W[gpu]:.2f}")
    return SOLVER_RUN.format(a=a, b=b)


def make_ecosched_tree(root: Path) -> Path:
    for path in D.ecosched_paths():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.endswith("perf_metrics.txt"):
            target.write_text(PERF)
        else:
            gpu, rest = path.split("results/", 1)[1].split("/", 1)
            sub, name = rest.rsplit("/", 1) if "/" in rest else ("", rest)
            target.write_text(_log_text(gpu, sub + "/" if sub else "", name))
    return root


@pytest.fixture(scope="module")
def eco(tmp_path_factory):
    raw = make_ecosched_tree(tmp_path_factory.mktemp("eco_raw"))
    dest = tmp_path_factory.mktemp("eco_out")
    notes = []
    files = D.convert_ecosched(raw, dest, progress=notes.append)
    return raw, dest, files, notes


def test_ecosched_files_written(eco):
    _, _dest, files, _ = eco
    assert [f.name for f in files] == [
        "app_profiles.csv",
        "job_queues.csv",
        "eval_runs_summary.csv",
        "eval_runs_jobs.csv",
        "eval_solver_plans.csv",
        "conversion_notes.txt",
    ]
    assert not any(n in [f.name for f in files] for n in D.ECOSCHED_NOT_PRODUCED)


def test_app_profiles_rows(eco):
    prof = pd.read_csv(eco[1] / "app_profiles.csv")
    assert list(prof.gpu_model.unique()) == ["V100", "A100", "H100"]
    h = prof[prof.gpu_model == "H100"].reset_index(drop=True)
    # sorted by category, app, gpu_count; simpleP2P under "ML/" is a CUDA sample
    assert list(zip(h.category, h.app, h.gpu_count, strict=False)) == [
        ("CUDA_sample", "simpleP2P", 2),
        ("ML", "bert", 1),
        ("SPEC_HPC", "lbm", 1),
        ("SPEC_HPC", "lbm", 2),
    ]
    row = h.iloc[3].to_dict()
    assert row == {
        "gpu_model": "H100",
        "app": "lbm",
        "category": "SPEC_HPC",
        "gpu_count": 2,
        "runtime_s": 10.5,
        "avg_power_w_per_gpu": 100.25,
        "total_power_w": 200.5,
        "energy_j": 2105.25,
        "edp_js": 22105.125,
        "dram_active_sum": 0.5,
        "sm_clock_sum_mhz": 2000.0,
        "fp_active_sum": 0.1,
        "node_power_budget_w": 2800,
        "idle_power_w_per_gpu": 70.0,
    }
    assert prof[prof.gpu_model == "V100"].idle_power_w_per_gpu.unique().tolist() == [43.0]


def test_eval_runs_summary(eco):
    s = pd.read_csv(eco[1] / "eval_runs_summary.csv", dtype=str, keep_default_na=False)
    assert len(s) == 66
    assert s.groupby("policy").size().to_dict() == {
        "cpsat_plan_executed": 13,
        "ecosched_cmab": 13,
        "ecosched_heuristic": 1,
        "marble": 13,
        "sequential_best_gpu": 13,
        "sequential_max_gpu": 13,
    }
    seq = s[(s.gpu_model == "V100") & (s.workload == "default") & (s.policy == "sequential_max_gpu")].iloc[0]
    assert seq[
        [
            "n_jobs",
            "makespan_s",
            "gpu_energy_j",
            "edp_js",
            "power_samples",
            "power_monitored_s",
            "n_jobs_logged_nonzero_exit",
            "slowdown_tol",
            "source_log",
        ]
    ].tolist() == [
        "2",
        "30.0",
        "1000.0",
        "30000.0",
        "90",
        "29.9",
        "1",
        "",
        "GPGPU/coSched/results/V100/run_cosched_sequential.txt",
    ]
    eco_row = s[(s.gpu_model == "H100") & (s.workload == "high_opp") & (s.policy == "ecosched_cmab")].iloc[0]
    # EcoSched parameters are kept as printed in the log header
    assert eco_row[
        [
            "slowdown_tol",
            "idle_power_w",
            "idle_weight",
            "blocking_weight",
            "ucb_alpha",
            "score_metric",
            "n_jobs_logged_nonzero_exit",
            "edp_js",
        ]
    ].tolist() == ["0.20", "70.00", "0.2000", "0.0000", "0.5000", "energy", "0", "6000.0"]
    assert set(s.workload[s.gpu_model == "H100"]) == {
        "default",
        "default_arxiv_version",
        "low_opp",
        "med_opp",
        "high_opp",
    }


def test_eval_runs_jobs(eco):
    j = pd.read_csv(eco[1] / "eval_runs_jobs.csv", dtype=str, keep_default_na=False)
    run = j[(j.gpu_model == "A100") & (j.workload == "low_opp") & (j.policy == "ecosched_cmab")]
    assert run.drop(columns=["gpu_model", "workload", "policy"]).values.tolist() == [
        ["1", "lbm", "lbm", "2", "0 1", "0", "0.0", "12.0", "12.0", "", "not_logged"],
        ["2", "bert", "bert", "1", "2", "1", "0.01", "9.0", "8.99", "", "not_logged"],
    ]
    run = j[(j.gpu_model == "A100") & (j.workload == "low_opp") & (j.policy == "cpsat_plan_executed")]
    assert run.planned_start_s.tolist() == ["0.0", "0.5"] and run.gpu_ids.tolist() == ["0 1", "3"]
    run = j[(j.gpu_model == "A100") & (j.workload == "low_opp") & (j.policy == "sequential_best_gpu")]
    assert run.exit_status.tolist() == ["OK", "FAILED(rc=1)"]


def test_duplicate_labels_without_k_are_paired_by_gpus_and_noted(eco):
    _, dest, _, notes = eco
    j = pd.read_csv(dest / "eval_runs_jobs.csv")
    run = j[(j.gpu_model == "A100") & (j.workload == "med_opp") & (j.policy == "ecosched_cmab")]
    # two running "lbm" jobs: each END is matched to the START on the same GPUs
    assert run[["job", "gpu_ids", "end_s", "runtime_s"]].values.tolist() == [
        ["lbm", "0 1", 12.0, 12.0],
        ["lbm", "2", 9.0, 8.99],
    ]
    q = pd.read_csv(dest / "job_queues.csv")
    assert q[(q.gpu_model == "A100") & (q.workload == "med_opp")].job.tolist() == ["lbm", "lbm"]
    text = (dest / "conversion_notes.txt").read_text()
    assert "A100 med_opp: queue lists lbm more than once without a #k label" in text
    assert "A100 default ecosched_cmab: log header prints idle_power = 70.00 W" in text
    assert any("non-zero exit code" in n for n in notes)
    assert any("not produced by fetch" in n for n in notes)


def test_job_queues_and_solver_plans(eco):
    dest = eco[1]
    q = pd.read_csv(dest / "job_queues.csv")
    assert len(q) == 26 and q.groupby(["gpu_model", "workload"]).size().eq(2).all()
    assert q.iloc[0].to_dict() == {
        "gpu_model": "V100",
        "workload": "default",
        "n_jobs": 2,
        "position": 1,
        "job": "lbm",
        "app": "lbm",
    }
    p = pd.read_csv(dest / "eval_solver_plans.csv")
    assert len(p) == 26
    assert p.iloc[1].to_dict() == {
        "gpu_model": "V100",
        "workload": "default",
        "plan_order": 2,
        "job": "bert",
        "app": "bert",
        "gpu_count": 1,
        "gpus_numa0": 0,
        "gpus_numa1": 1,
        "start_s": 0.5,
        "end_s": 8.5,
        "runtime_s": 8.0,
        "power_w_per_gpu": 50.0,
        "power_w_total": 50.0,
        "active_energy_j": 400.0,
        "slowdown_tol": 0.2,
        "plan_makespan_s": 10.5,
        "plan_active_energy_j": 2505.25,
        "plan_idle_energy_j": 10.0,
        "plan_total_energy_j": 2515.25,
        "best_bound_j": 2400.0,
        "solver_wall_s": 1.25,
    }


def test_ecosched_missing_file(tmp_path):
    raw = make_ecosched_tree(tmp_path / "raw")
    (raw / "GPGPU/coSched/data/A100/perf_metrics.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"A100/perf_metrics.txt"):
        D.convert_ecosched(raw, tmp_path / "out")


def test_malformed_profile_row_names_file_and_line(tmp_path):
    p = tmp_path / "perf_metrics.txt"
    p.write_text(PERF.replace("1\t20.00\t120.00\t0.300\t1000.00\t0.05", "1\t20.00\tabc\t0.300\t1000.00\t0.05"))
    with pytest.raises(ValueError, match=r"perf_metrics.txt:6: cannot parse profile row"):
        D.parse_perf_metrics(p, "V100")
    p.write_text("1\t2\t3\t4\t5\t6\n")
    with pytest.raises(ValueError, match=r"perf_metrics.txt:1: .*outside"):
        D.parse_perf_metrics(p, "V100")


def test_malformed_log_lines_name_file_and_line(tmp_path):
    p = tmp_path / "run_cosched_marble.txt"
    p.write_text(SEQ.format(a="lbm", b="bert").replace("| 1 GPUs [0] | NUMA 0", "| one GPU | NUMA 0"))
    with pytest.raises(ValueError, match=r"run_cosched_marble.txt:11: cannot parse START line"):
        D.parse_run_log(p)
    p.write_text(
        SEQ.format(a="lbm", b="bert")
        .replace("| runtime=10.00s", "| runtime=10.00s")
        .replace("END   lbm", "END   vgg16")
    )
    with pytest.raises(ValueError, match=r":10: cannot parse END line \(no running job"):
        D.parse_run_log(p)
    p.write_text(SEQ.format(a="lbm", b="bert").split("Total makespan")[0])
    with pytest.raises(ValueError, match="Total makespan"):
        D.parse_run_log(p)
    s = tmp_path / "solver_schedule.txt"
    s.write_text(SCHEDULE.format(a="lbm", b="bert").replace("(0,1)", "(0;1)"))
    with pytest.raises(ValueError, match=r"solver_schedule.txt:16: cannot parse plan row"):
        D.parse_solver_schedule(s)


# ----------------------------------------------------------------------------------- OPEN fixtures

PAIRS = ((120, 150), (130, 150))
PERF_HEAD = "CPU Power Cap,GPU Power Cap,IPS,Memory Throughput,SM Clock,DRAM Active,FP Active,Performance\n"
CPU_POWER = {  # (cpu, gpu) -> series; runtimes 40 s and 50 s -> perf_norm 1.0 and 0.8
    (120, 150): "Time (s),Package Power (W),DRAM Power (W)\n0.0,100.0,10.0\n20.0,110.0,-5.0\n40.0,120.0,20.0\n",
    (130, 150): "Time (s),Package Power (W),DRAM Power (W)\n0.0,130.0,12.0\n50.0,140.0,14.0\n",
}
GPU_METRICS = (
    "Time (s),SM Clock (MHz),DRAM Active,FP16 Active,FP32 Active,FP64 Active,Power (W)\n"
    "0.0,1400.0,0.2,0.0,0.1,0.0,60\n1.0,1400.0,0.3,0.0,0.1,0.0,90\n"
)


def make_open_tree(root: Path, drop_gpu_for: str = "lammps", perf_wrong_for: str = "NAMD") -> Path:
    def write(path, text):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)

    for (_, _, app), (table, folder) in D.OPEN_SOURCES.items():
        perf2 = "0.79" if app == perf_wrong_for else "0.8"
        write(table, PERF_HEAD + f"120,150,0.9,0.8,0.7,0.6,0.5,1.0\n130,150,1.0,1.0,1.0,1.0,0.0,{perf2}\n")
        for pair in PAIRS:
            cpu_path, gpu_path = D.pair_paths(folder, *pair)
            write(cpu_path, CPU_POWER[pair])
            if not (app == drop_gpu_for and pair == (130, 150)):
                write(gpu_path, GPU_METRICS)
    for _app, path in D.ALTIS_VALIDATION.items():
        write(path, PERF_HEAD + "120,150,0.5,0.5,0.5,0.5,0.5,1.0\n130,150,0.4,0.4,0.4,0.4,0.4,0.8\n")
    cols = list(D.ALTIS_APPS) + list(D.ECP_APPS) + ["CRADL"]
    lines = [",".join(["", *cols])]
    for (c, g), base in zip(PAIRS, (1.0, 0.8), strict=False):
        vals = [str(base) if a in D.ALTIS_APPS else str(round(base - 0.05, 2)) for a in cols]
        lines.append(",".join([f'"({c}, {g})"', *vals]))
    write(D.PERF_MATRIX, "\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def open_out(tmp_path_factory):
    raw = make_open_tree(tmp_path_factory.mktemp("open_raw"))
    dest = tmp_path_factory.mktemp("open_out")
    notes = []
    files = D.convert_open_a100(raw, dest, progress=notes.append)
    return raw, dest, files, notes


def test_dual_cap_measured_rows(open_out):
    _, dest, files, _ = open_out
    assert [f.name for f in files] == [
        "dual_cap_measured.csv",
        "dual_cap_altis_validation_counters.csv",
        "dual_cap_predicted_not_measured.csv",
        "conversion_notes.txt",
    ]
    m = pd.read_csv(dest / "dual_cap_measured.csv")
    assert len(m) == 2 * 28
    assert m.source_set.unique().tolist() == ["altis_train", "ecp_archive", "ecp_validation"]
    assert m.app.iloc[:2].tolist() == ["bfs", "bfs"] and m.app.iloc[34] == "CRADL"
    row = m[(m.app == "gemm") & (m.cpu_cap_w == 120)].iloc[0].to_dict()
    assert row == {
        "source_set": "altis_train",
        "suite": "Altis",
        "app": "gemm",
        "cpu_cap_w": 120,
        "gpu_cap_w": 150,
        "ips_norm": 0.9,
        "mem_throughput_norm": 0.8,
        "sm_clock_norm": 0.7,
        "dram_active_norm": 0.6,
        "fp_active_norm": 0.5,
        "perf_norm": 1.0,
        "runtime_s": 40.0,
        "cpu_pkg_power_w": 110.0,
        "cpu_dram_power_w": 15.0,
        "gpu_power_w": 75.0,
        "n_negative_rapl_samples_dropped": 1,
        "runtime_matches_perf_norm": True,
    }
    assert m[(m.app == "lammps") & (m.cpu_cap_w == 130)].gpu_power_w.isna().all()
    namd = m[m.app == "NAMD"].runtime_matches_perf_norm.tolist()
    assert namd == [True, False]
    assert m.n_negative_rapl_samples_dropped.sum() == 28


def test_open_notes(open_out):
    text = (open_out[1] / "conversion_notes.txt").read_text()
    assert "lammps (130, 150): GPU metrics file missing" in text
    assert "NAMD: min(runtime)/runtime differs from perf_norm in 1 pair(s)" in text
    assert "28 negative RAPL samples dropped" in text
    assert "column(s) CRADL not converted" in text
    assert "bfs: 97 cap pair(s) missing from bfs_performance.csv" in text


def test_validation_counters_and_predictions(open_out):
    dest = open_out[1]
    v = pd.read_csv(dest / "dual_cap_altis_validation_counters.csv")
    assert list(v.columns) == [
        "app",
        "cpu_cap_w",
        "gpu_cap_w",
        "ips_norm",
        "mem_throughput_norm",
        "sm_clock_norm",
        "dram_active_norm",
        "fp_active_norm",
        "perf_norm",
    ]
    assert v.app.tolist() == ["raytracing", "raytracing", "sort", "sort", "srad", "srad"]
    p = pd.read_csv(dest / "dual_cap_predicted_not_measured.csv")
    assert sorted(p.app.unique()) == sorted(D.ECP_APPS) and "CRADL" not in set(p.app)
    assert p[p.app == "Laghos"].values.tolist() == [["Laghos", 120, 150, 0.95, 1.0], ["Laghos", 130, 150, 0.75, 0.8]]


def test_open_without_raw_series_leaves_columns_empty(tmp_path):
    raw = make_open_tree(tmp_path / "raw")
    D.convert_open_a100(raw, tmp_path / "out", raw_series=False)
    m = pd.read_csv(tmp_path / "out" / "dual_cap_measured.csv")
    assert m[list(D.RAW_COLUMNS)].isna().all().all()
    assert m.perf_norm.notna().all()
    assert "raw per-pair series not used" in (tmp_path / "out" / "conversion_notes.txt").read_text()


def test_open_errors(tmp_path):
    raw = make_open_tree(tmp_path / "raw")
    (raw / D.OPEN_SOURCES[("ecp_validation", "ECP/ML", "UNet")][0]).unlink()
    with pytest.raises(FileNotFoundError, match=r"UNet_performance.csv"):
        D.convert_open_a100(raw, tmp_path / "out", raw_series=False)
    raw = make_open_tree(tmp_path / "raw2")
    bad = raw / D.OPEN_SOURCES[("altis_train", "Altis", "nw")][0]
    bad.write_text(PERF_HEAD + "120,150,0.9,0.8,0.7,0.6,0.5,1.0\n130.5,150,1,1,1,1,0,0.8\n")
    with pytest.raises(ValueError, match=r"nw_performance.csv:3: cpu_cap_w is not a whole number"):
        D.convert_open_a100(raw, tmp_path / "out", raw_series=False)


def test_malformed_matrix_pair(open_out, tmp_path):
    raw, dest, _, _ = open_out
    mat = tmp_path / "performance_matrix.csv"
    mat.write_text((raw / D.PERF_MATRIX).read_text().replace('"(130, 150)"', '"130/150"'))
    measured = pd.read_csv(dest / "dual_cap_measured.csv")
    with pytest.raises(ValueError, match=r"performance_matrix.csv:3: cannot parse cap pair"):
        D._convert_matrix(mat, measured, tmp_path, D._Notes(None))


# ------------------------------------------------------------------------------- fetch (offline)


def _serve_from(tree: Path, base: str, seen: list):
    def urlopen(url, timeout=None):
        assert url.startswith(base), url
        seen.append(url)
        path = tree / url[len(base) :]
        if not path.exists():
            raise urllib.error.HTTPError(url, 404, "Not Found", None, None)
        return io.BytesIO(path.read_bytes())

    return urlopen


def test_fetch_ecosched_downloads_pinned_paths(tmp_path, monkeypatch):
    tree = make_ecosched_tree(tmp_path / "upstream")
    seen, msgs = [], []
    monkeypatch.setattr(D.urllib.request, "urlopen", _serve_from(tree, D.ECOSCHED_BASE, seen))
    out = D.fetch_ecosched(tmp_path / "dest", progress=msgs.append, allow_unverified=True)  # fixture files: no pins
    assert out == tmp_path / "dest" / "ecosched"
    assert len(seen) == len(D.ecosched_paths()) == 3 + 66 + 13
    assert all(D.ECOSCHED_COMMIT in u for u in seen)
    assert (out / "eval_runs_jobs.csv").exists()
    assert msgs[-1].startswith("not produced by fetch: gpu_timeseries.csv.gz")


def test_fetch_open_a100_tolerates_missing_series(tmp_path, monkeypatch):
    tree = make_open_tree(tmp_path / "upstream")
    seen, msgs = [], []
    monkeypatch.setattr(D.urllib.request, "urlopen", _serve_from(tree, D.OPEN_BASE, seen))
    out = D.fetch_open_a100(tmp_path / "dest", progress=msgs.append, allow_unverified=True)
    assert len(seen) == len(D.open_table_paths()) + 28 * 2 * 2
    assert any("1 per-pair series files are absent upstream" in m for m in msgs)
    m = pd.read_csv(out / "dual_cap_measured.csv")
    assert m.runtime_s.notna().all()
    (tree / D.PERF_MATRIX).unlink()
    with pytest.raises(OSError, match="HTTP 404"):
        D.fetch_open_a100(tmp_path / "dest2", raw_series=False, allow_unverified=True)


# ------------------------------------------------------------------------------ lookup and registry


def test_lookup_in_data_dir(tmp_path):
    with pytest.raises(DataNotFound, match=r"ecosched data not found .*schedlab data fetch ecosched"):
        D.ecosched_dir(tmp_path)
    with pytest.raises(DataNotFound, match=r"open_a100 data not found .*schedlab data fetch open_a100"):
        D.open_a100_dir(tmp_path)
    for name in D.ECOSCHED_REQUIRED:
        (tmp_path / "ecosched").mkdir(exist_ok=True)
        (tmp_path / "ecosched" / name).write_text("x\n")
    assert D.ecosched_dir(tmp_path) == tmp_path / "ecosched"
    (tmp_path / "dual_cap_measured.csv").write_text("x\n")
    assert D.open_a100_dir(tmp_path) == tmp_path


def test_registered_in_data_fetch():
    from schedlab.fetchers import FETCHERS

    fetch, convert, label = FETCHERS["ecosched"]()
    assert fetch is D.fetch_ecosched and convert is D.convert_ecosched
    assert "not produced by fetch: gpu_timeseries.csv.gz" in label
    fetch, convert, label = FETCHERS["open_a100"]()
    assert fetch is D.fetch_open_a100 and convert is D.convert_open_a100 and label == "OPEN A100"


# ------------------------------------------------------------------------ parity with shared copies


def _shared(fn):
    try:
        return fn()
    except DataNotFound:
        return None


def test_schema_parity_with_shared_copies(eco, open_out):
    eco_dir = _shared(D.ecosched_dir)
    open_dir = _shared(D.open_a100_dir)
    if eco_dir is None and open_dir is None:
        pytest.skip("no shared ecosched/open_a100 data")
    for folder, produced in ((eco_dir, eco[2]), (open_dir, open_out[2])):
        if folder is None:
            continue
        for f in produced:
            if f.suffix != ".csv":
                continue
            shared = pd.read_csv(folder / f.name, nrows=50)
            mine = pd.read_csv(f)
            assert list(mine.columns) == list(shared.columns), f.name
            for c in mine.columns:  # same kinds of values (int / float / bool / text) where both have data
                if mine[c].notna().any() and shared[c].notna().any():
                    kind = lambda s: "b" if pd.api.types.is_bool_dtype(s) else s.dtype.kind
                    assert kind(mine[c].dropna()) == kind(shared[c].dropna()) or {
                        kind(mine[c].dropna()),
                        kind(shared[c].dropna()),
                    } <= {"i", "f"}, (f.name, c)
