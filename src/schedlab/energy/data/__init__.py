"""Where the EcoSched and OPEN measurements live, and how to fetch and convert them.

Neither source repository has a licence, so schedlab does not ship the data.  The folders are
looked up like every other dataset (see :mod:`schedlab.datasets`): ``--data-dir``, then
``$SCHEDLAB_DATA``, then the cache that ``schedlab data fetch`` fills, then ``shared/data`` beside a
source checkout.

``schedlab data fetch ecosched`` downloads, from GitHub ``zzheng33/EcoSched`` at commit
``6722febbf21a88b1ac46b7d1ef9be565e4c24f46`` (explicit file list, no API listing):

* ``GPGPU/coSched/data/{V100,A100,H100}/perf_metrics.txt`` -> ``app_profiles.csv``.  Copied:
  ``runtime_s`` (the source's ``performance``), ``avg_power_w_per_gpu``, ``dram_active_sum``,
  ``sm_clock_sum_mhz``, ``fp_active_sum``.  Derived: ``category`` (from the app name),
  ``total_power_w = gpu_count * avg_power`` (2 dp), ``energy_j = runtime * total_power`` (4 dp),
  ``edp_js = energy_j * runtime`` (4 dp), ``node_power_budget_w`` (the ``cap=`` line, 2800) and
  ``idle_power_w_per_gpu`` (V100 43, A100 53, H100 70 W).
* the run logs ``GPGPU/coSched/results/<GPU>/[volume/{low,med,high}/ | arxiv/]*.txt`` ->
  ``job_queues.csv`` (from the sequential baselines' "Job queue" headers), ``eval_runs_summary.csv``
  (``edp_js = makespan_s * gpu_energy_j`` derived, 2 dp; EcoSched parameters kept as printed),
  ``eval_runs_jobs.csv`` (START/END lines paired per job label, and by GPU ids where the END line
  names them) and ``eval_solver_plans.csv`` (from ``solver_schedule.txt``; model-predicted plans).

**Not produced by fetch** (their per-app file lists are not pinned down well enough to download
without listing the repository): ``gpu_timeseries.csv.gz``, ``wallclock_runtime_runs.csv`` and
``ml_throughput_vs_power_budget.csv``.  Use the project's shared copies for those.

``schedlab data fetch open_a100`` downloads, from GitHub ``zzheng33/power_2`` at commit
``e5822ee985ea8b8612772b087563a124df14239f``, under ``GPGPU/data/``:

* ``altis_power_cap_res/2_dual_cap/train/<app>_performance.csv`` (17 Altis apps),
  ``ecp_power_cap_res/2_dual_cap/validation/<app>_performance.csv`` (10 ECP/ML apps) and
  ``ecp_power_cap_res/2_dual_cap/archive/CRADL_performance.csv`` -> ``dual_cap_measured.csv``.  The
  ``*_norm`` counters and ``perf_norm`` are copied unchanged (the authors' values).
* with ``raw_series=True`` (the default) also the per-pair time series
  ``{altis,ecp}_power_cap_res/2_dual_cap/<app>/<cpu>_<gpu>_{cpu_power,gpu_metrics}.csv`` (about
  5,500 files), from which the "added by us" columns are derived: ``runtime_s`` = last time stamp of
  the CPU-power series (4 dp); ``cpu_pkg_power_w`` and ``cpu_dram_power_w`` = means of the
  non-negative samples of each column (negative RAPL glitches dropped and counted in
  ``n_negative_rapl_samples_dropped``); ``gpu_power_w`` = mean GPU board power (empty where the GPU
  file is missing); ``runtime_matches_perf_norm`` = whether ``min(runtime)/runtime`` (unrounded
  runtimes, over the app's rows) equals ``perf_norm`` to a relative 1e-9.  With
  ``raw_series=False`` those six columns are written empty.
* ``altis_power_cap_res/2_dual_cap/validation/{raytracing,sort,srad}_performance.csv`` ->
  ``dual_cap_altis_validation_counters.csv`` (copied).
* ``prediction_res/performance_matrix.csv`` -> ``dual_cap_predicted_not_measured.csv``: only the 10
  ECP/ML columns (they are **predictions**), with the measured ``perf_norm`` beside them.

Upstream quirks are handled as the data README describes and reported as counted notes (through
``progress`` and in ``conversion_notes.txt`` next to the CSVs): queue duplicates without ``#k``,
runs whose job list differs from their queue, non-zero exit codes, EcoSched headers whose idle
power differs from the GPU's, pairs missing from a performance table, missing per-pair files.
A required file that is missing, or a line that cannot be parsed, raises an error naming the file
(and the line number).

Every download goes through :mod:`schedlab.datasets.download`: each file is pinned by its URL at
the commit above and its SHA-256 (``ECOSCHED_SHA256``, ``OPEN_SHA256``); a mismatch is an error and
a cached file is reused only if its hash matches.  Files whose SHA-256 is not established
(``None``) are refused unless ``allow_unverified=True`` is passed to the fetch function.

Modules: :mod:`~schedlab.energy.data.sources` (repositories, commits, paths, hashes, constants),
:mod:`~schedlab.energy.data.fetch` (download, then convert), :mod:`~schedlab.energy.data.ecosched_logs`
and :mod:`~schedlab.energy.data.ecosched` (EcoSched parsers and conversion),
:mod:`~schedlab.energy.data.open_a100` (OPEN conversion), :mod:`~schedlab.energy.data.lookup`
(where the converted CSVs are).  Every name is re-exported here.
"""

from __future__ import annotations

# ``data.urllib.request.urlopen`` is where tests patch the downloader's transport (urllib.request is
# imported by schedlab.datasets.download, below)
import urllib as urllib

from schedlab.datasets import DataNotFound, cache_dir, find_dataset
from schedlab.energy.data.common import _GPU_ORDER as _GPU_ORDER
from schedlab.energy.data.common import _app_of as _app_of
from schedlab.energy.data.common import _bad as _bad
from schedlab.energy.data.common import _category as _category
from schedlab.energy.data.common import _need as _need
from schedlab.energy.data.common import _Notes as _Notes
from schedlab.energy.data.ecosched import _queue_from as _queue_from
from schedlab.energy.data.ecosched import convert_ecosched
from schedlab.energy.data.ecosched_logs import _ids as _ids
from schedlab.energy.data.ecosched_logs import parse_perf_metrics, parse_run_log, parse_solver_schedule
from schedlab.energy.data.fetch import ecosched_files, fetch_ecosched, fetch_open_a100, open_files
from schedlab.energy.data.lookup import ecosched_dir, open_a100_dir
from schedlab.energy.data.open_a100 import _convert_matrix as _convert_matrix
from schedlab.energy.data.open_a100 import _raw_columns as _raw_columns
from schedlab.energy.data.open_a100 import _read_performance as _read_performance
from schedlab.energy.data.open_a100 import _read_series as _read_series
from schedlab.energy.data.open_a100 import convert_open_a100, pair_stats
from schedlab.energy.data.sources import (
    ALTIS_APPS,
    ALTIS_DUAL,
    ALTIS_VALIDATION,
    ALTIS_VALIDATION_APPS,
    ARCHIVE_APPS,
    COSCHED,
    CPU_CAPS,
    ECOSCHED_BASE,
    ECOSCHED_COMMIT,
    ECOSCHED_NOT_PRODUCED,
    ECOSCHED_REQUIRED,
    ECOSCHED_SHA256,
    ECP_APPS,
    ECP_DUAL,
    GPU_CAPS,
    GPU_MODELS,
    IDLE_POWER_W,
    ML_APPS,
    OPEN_BASE,
    OPEN_COMMIT,
    OPEN_DATA,
    OPEN_REQUIRED,
    OPEN_SHA256,
    OPEN_SOURCES,
    PERF_COLUMNS,
    PERF_MATRIX,
    POLICY_LOGS,
    RAW_COLUMNS,
    SOLVER_SCHEDULE,
    WORKLOAD_DIRS,
    ecosched_paths,
    open_table_paths,
    pair_paths,
)
from schedlab.energy.data.sources import _ecosched_runs as _ecosched_runs

__all__ = [
    "ALTIS_APPS",
    "ALTIS_DUAL",
    "ALTIS_VALIDATION",
    "ALTIS_VALIDATION_APPS",
    "ARCHIVE_APPS",
    "COSCHED",
    "CPU_CAPS",
    "ECOSCHED_BASE",
    "ECOSCHED_COMMIT",
    "ECOSCHED_NOT_PRODUCED",
    "ECOSCHED_REQUIRED",
    "ECOSCHED_SHA256",
    "ECP_APPS",
    "ECP_DUAL",
    "GPU_CAPS",
    "GPU_MODELS",
    "IDLE_POWER_W",
    "ML_APPS",
    "OPEN_BASE",
    "OPEN_COMMIT",
    "OPEN_DATA",
    "OPEN_REQUIRED",
    "OPEN_SHA256",
    "OPEN_SOURCES",
    "PERF_COLUMNS",
    "PERF_MATRIX",
    "POLICY_LOGS",
    "RAW_COLUMNS",
    "SOLVER_SCHEDULE",
    "WORKLOAD_DIRS",
    "DataNotFound",
    "cache_dir",
    "convert_ecosched",
    "convert_open_a100",
    "ecosched_dir",
    "ecosched_files",
    "ecosched_paths",
    "fetch_ecosched",
    "fetch_open_a100",
    "find_dataset",
    "open_a100_dir",
    "open_files",
    "open_table_paths",
    "pair_paths",
    "pair_stats",
    "parse_perf_metrics",
    "parse_run_log",
    "parse_solver_schedule",
]
