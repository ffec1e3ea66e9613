"""Where the EcoSched and OPEN originals are: repositories, pinned commits, paths, SHA-256, constants.

Nothing here reads or downloads anything; :mod:`schedlab.energy.data.fetch` gets the files,
:mod:`~schedlab.energy.data.ecosched` and :mod:`~schedlab.energy.data.open_a100` convert them.
"""

from __future__ import annotations

# ------------------------------------------------------------------------------------------ sources

ECOSCHED_COMMIT = "6722febbf21a88b1ac46b7d1ef9be565e4c24f46"
ECOSCHED_BASE = f"https://raw.githubusercontent.com/zzheng33/EcoSched/{ECOSCHED_COMMIT}/"
OPEN_COMMIT = "e5822ee985ea8b8612772b087563a124df14239f"
OPEN_BASE = f"https://raw.githubusercontent.com/zzheng33/power_2/{OPEN_COMMIT}/"

ECOSCHED_REQUIRED = ("app_profiles.csv", "job_queues.csv", "eval_runs_summary.csv", "eval_runs_jobs.csv")
OPEN_REQUIRED = ("dual_cap_measured.csv",)
ECOSCHED_NOT_PRODUCED = ("gpu_timeseries.csv.gz", "wallclock_runtime_runs.csv", "ml_throughput_vs_power_budget.csv")

GPU_MODELS = ("V100", "A100", "H100")
IDLE_POWER_W = {"V100": 43.0, "A100": 53.0, "H100": 70.0}
COSCHED = "GPGPU/coSched/"
#: results sub-folder -> workload name
WORKLOAD_DIRS = {
    "": "default",
    "volume/low/": "low_opp",
    "volume/med/": "med_opp",
    "volume/high/": "high_opp",
    "arxiv/": "default_arxiv_version",
}
#: log file -> policy name
POLICY_LOGS = {
    "EcoPack_cmab_run.txt": "ecosched_cmab",
    "EcoPack_run.txt": "ecosched_heuristic",
    "run_cosched_marble.txt": "marble",
    "run_cosched_sequential.txt": "sequential_max_gpu",
    "run_cosched_sequential_bestGPU.txt": "sequential_best_gpu",
    "solver_execution_run.txt": "cpsat_plan_executed",
}
SOLVER_SCHEDULE = "solver_schedule.txt"
ML_APPS = frozenset({"bert", "gpt2", "resnet50", "resnet101", "resnet152", "vgg16", "vgg19"})


def _ecosched_runs() -> list[tuple[str, str, str]]:
    """(gpu_model, results sub-folder, log file) of every logged run that is converted."""
    runs = []
    for gpu in GPU_MODELS:
        for sub in WORKLOAD_DIRS:
            if sub == "arxiv/" and gpu != "H100":
                continue
            for log in POLICY_LOGS:
                if log == "EcoPack_run.txt" and not (gpu == "A100" and sub == ""):
                    continue
                runs.append((gpu, sub, log))
    return runs


def ecosched_paths() -> list[str]:
    """Every repository path ``fetch_ecosched`` downloads."""
    paths = [f"{COSCHED}data/{gpu}/perf_metrics.txt" for gpu in GPU_MODELS]
    paths += [f"{COSCHED}results/{gpu}/{sub}{log}" for gpu, sub, log in _ecosched_runs()]
    folders = dict.fromkeys((gpu, sub) for gpu, sub, _ in _ecosched_runs())
    paths += [f"{COSCHED}results/{gpu}/{sub}{SOLVER_SCHEDULE}" for gpu, sub in folders]
    return paths


OPEN_DATA = "GPGPU/data/"
ALTIS_APPS = (
    "bfs",
    "cfd",
    "cfd_double",
    "fdtd2d",
    "gemm",
    "gups",
    "kmeans",
    "lavamd",
    "maxflops",
    "nw",
    "particlefilter_float",
    "particlefilter_naive",
    "pathfinder",
    "raytracing",
    "sort",
    "srad",
    "where",
)
ALTIS_VALIDATION_APPS = ("raytracing", "sort", "srad")
ECP_APPS = ("Laghos", "NAMD", "Resnet50", "UNet", "XSBench", "bert_large", "gromacs", "lammps", "miniGAN", "sw4lite")
ARCHIVE_APPS = ("CRADL",)
CPU_CAPS = tuple(range(120, 201, 10))
GPU_CAPS = tuple(range(150, 251, 10))
ALTIS_DUAL = OPEN_DATA + "altis_power_cap_res/2_dual_cap/"
ECP_DUAL = OPEN_DATA + "ecp_power_cap_res/2_dual_cap/"
PERF_MATRIX = OPEN_DATA + "prediction_res/performance_matrix.csv"
#: (source_set, suite, app) -> (performance table path, per-pair series folder)
OPEN_SOURCES = {
    **{
        ("altis_train", "Altis", a): (f"{ALTIS_DUAL}train/{a}_performance.csv", f"{ALTIS_DUAL}{a}/") for a in ALTIS_APPS
    },
    **{
        ("ecp_validation", "ECP/ML", a): (f"{ECP_DUAL}validation/{a}_performance.csv", f"{ECP_DUAL}{a}/")
        for a in ECP_APPS
    },
    **{
        ("ecp_archive", "ECP/ML", a): (f"{ECP_DUAL}archive/{a}_performance.csv", f"{ECP_DUAL}{a}/")
        for a in ARCHIVE_APPS
    },
}
ALTIS_VALIDATION = {a: f"{ALTIS_DUAL}validation/{a}_performance.csv" for a in ALTIS_VALIDATION_APPS}

PERF_COLUMNS = {
    "CPU Power Cap": "cpu_cap_w",
    "GPU Power Cap": "gpu_cap_w",
    "IPS": "ips_norm",
    "Memory Throughput": "mem_throughput_norm",
    "SM Clock": "sm_clock_norm",
    "DRAM Active": "dram_active_norm",
    "FP Active": "fp_active_norm",
    "Performance": "perf_norm",
}
RAW_COLUMNS = (
    "runtime_s",
    "cpu_pkg_power_w",
    "cpu_dram_power_w",
    "gpu_power_w",
    "n_negative_rapl_samples_dropped",
    "runtime_matches_perf_norm",
)


def open_table_paths() -> list[str]:
    """The tables ``fetch_open_a100`` downloads (the per-pair series follow from their rows)."""
    return [p for p, _ in OPEN_SOURCES.values()] + list(ALTIS_VALIDATION.values()) + [PERF_MATRIX]


def pair_paths(series_dir: str, cpu: int, gpu: int) -> tuple[str, str]:
    """Repository paths of the CPU-power and GPU-metrics series of one cap pair."""
    return f"{series_dir}{cpu}_{gpu}_cpu_power.csv", f"{series_dir}{cpu}_{gpu}_gpu_metrics.csv"


# ------------------------------------------------------------------------------------------ SHA-256
# The SHA-256 of every pinned file, as ``sha256sum`` prints it for the file at the pinned commit.
# None: not established (no copy of the exact upstream bytes was at hand when the checksums were
# introduced); the downloader refuses such a file unless the caller passes allow_unverified=True.

#: EcoSched repository path -> SHA-256 at ECOSCHED_COMMIT (every file ``fetch_ecosched`` downloads)
ECOSCHED_SHA256: dict[str, str | None] = dict.fromkeys(ecosched_paths())
#: power_2 repository path -> SHA-256 at OPEN_COMMIT: the tables.  The per-pair series (their list
#: follows from the tables' rows) are looked up here too, and are unverified while absent.
OPEN_SHA256: dict[str, str | None] = dict.fromkeys(open_table_paths())
