"""OPEN conversion: the power_2 originals in their repository layout -> the ``open_a100/`` CSVs."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from schedlab.energy.data.common import _bad, _need, _Notes
from schedlab.energy.data.sources import (
    ALTIS_APPS,
    ALTIS_VALIDATION,
    CPU_CAPS,
    ECP_APPS,
    GPU_CAPS,
    OPEN_SOURCES,
    PERF_COLUMNS,
    PERF_MATRIX,
    RAW_COLUMNS,
    pair_paths,
)
from schedlab.errors import SchedlabError
from schedlab.report.outputs import write_csv


def _read_performance(path: Path, app: str) -> pd.DataFrame:
    """A ``<app>_performance.csv`` -> the eight columns renamed, caps as int."""
    df = pd.read_csv(_need(path))
    missing = [c for c in PERF_COLUMNS if c not in df.columns]
    if missing:
        raise SchedlabError(f"{path}: missing column(s) {', '.join(missing)}")
    df = df[list(PERF_COLUMNS)].rename(columns=PERF_COLUMNS)
    for c in ("cpu_cap_w", "gpu_cap_w"):
        if df[c].isna().any() or (df[c] != df[c].round()).any():
            bad = int(np.flatnonzero(df[c].isna() | (df[c] != df[c].round()))[0])
            raise SchedlabError(f"{path}:{bad + 2}: {c} is not a whole number of watts")
        df[c] = df[c].astype(np.int64)
    for c in list(PERF_COLUMNS.values())[2:]:
        if not pd.api.types.is_float_dtype(df[c]) and not pd.api.types.is_integer_dtype(df[c]):
            raise SchedlabError(f"{path}: column {c} is not numeric")
        df[c] = df[c].astype(float)
    if df.duplicated(["cpu_cap_w", "gpu_cap_w"]).any():
        raise SchedlabError(f"{path}: duplicate cap pairs")
    df.insert(0, "app", app)
    return df


def _read_series(path: Path, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named columns of a small per-pair time-series CSV, as float arrays."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        missing = [c for c in columns if c not in header]
        if missing:
            raise SchedlabError(f"{path}: missing column(s) {', '.join(missing)}")
        idx = [header.index(c) for c in columns]
        values = []
        for lineno, row in enumerate(reader, 2):
            if not row:
                continue
            try:
                values.append([float(row[i]) for i in idx])
            except (ValueError, IndexError):
                raise _bad(path, lineno, ",".join(row), "sample row") from None
    if not values:
        raise SchedlabError(f"{path}: no samples")
    arr = np.asarray(values, dtype=float)
    return {c: arr[:, k] for k, c in enumerate(columns)}


def pair_stats(cpu_power: Path, gpu_metrics: Path | None) -> dict:
    """Runtime and mean powers of one run from its CPU-power and (optional) GPU-metrics series."""
    cpu = _read_series(cpu_power, ("Time (s)", "Package Power (W)", "DRAM Power (W)"))
    pkg, dram = cpu["Package Power (W)"], cpu["DRAM Power (W)"]
    out = {
        "_runtime": float(cpu["Time (s)"][-1]),
        "cpu_pkg_power_w": round(float(pkg[pkg >= 0].mean()), 4),
        "cpu_dram_power_w": round(float(dram[dram >= 0].mean()), 4),
        "n_negative_rapl_samples_dropped": int((pkg < 0).sum() + (dram < 0).sum()),
        "gpu_power_w": np.nan,
    }
    out["runtime_s"] = round(out["_runtime"], 4)
    if gpu_metrics is not None:
        gpu = _read_series(gpu_metrics, ("Time (s)", "Power (W)"))
        out["gpu_power_w"] = round(float(gpu["Power (W)"].mean()), 4)
    return out


def _raw_columns(raw_dir: Path, folder: str, perf: pd.DataFrame, notes: _Notes, label: str) -> pd.DataFrame:
    stats = []
    n_cpu_missing = n_gpu_missing = 0
    for cpu, gpu in zip(perf["cpu_cap_w"], perf["gpu_cap_w"], strict=False):
        cpath, gpath = (raw_dir / p for p in pair_paths(folder, int(cpu), int(gpu)))
        if not cpath.exists():
            n_cpu_missing += 1
            stats.append({"_runtime": np.nan})
            continue
        if not gpath.exists():
            n_gpu_missing += 1
            notes.add(f"{label} ({cpu}, {gpu}): GPU metrics file missing; gpu_power_w left empty")
        stats.append(pair_stats(cpath, gpath if gpath.exists() else None))
    if n_cpu_missing:
        notes.add(f"{label}: {n_cpu_missing} pair(s) without a CPU-power series; their derived columns are empty")
    st = pd.DataFrame(stats, index=perf.index)
    for c in (*RAW_COLUMNS, "_runtime"):
        if c not in st:
            st[c] = np.nan
    rt = st["_runtime"]
    best = rt.min()
    ok = [
        bool(math.isclose(best / r, p, rel_tol=1e-9)) if r == r else None
        for r, p in zip(rt, perf["perf_norm"], strict=False)
    ]
    st["runtime_matches_perf_norm"] = pd.array(ok, dtype="boolean")
    st["n_negative_rapl_samples_dropped"] = st["n_negative_rapl_samples_dropped"].astype("Int64")
    n_bad = sum(v is False for v in ok)
    if n_bad:
        notes.add(f"{label}: min(runtime)/runtime differs from perf_norm in {n_bad} pair(s)")
    return st[list(RAW_COLUMNS)]


def convert_open_a100(raw_dir: Path, dest: Path, raw_series: bool = True, progress=None) -> list[Path]:
    """Convert OPEN originals in ``raw_dir`` (repository layout) into the CSVs in ``dest``.

    With ``raw_series=False`` the per-pair series are not read and the derived columns
    (``runtime_s`` … ``runtime_matches_perf_norm``) are written empty.
    """
    raw_dir, dest = Path(raw_dir), Path(dest)
    notes = _Notes(progress)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    frames = []
    full = pd.MultiIndex.from_product([CPU_CAPS, GPU_CAPS], names=["cpu_cap_w", "gpu_cap_w"])
    for (source_set, suite, app), (table, folder) in OPEN_SOURCES.items():
        perf = _read_performance(raw_dir / table, app)
        absent = full.difference(pd.MultiIndex.from_frame(perf[["cpu_cap_w", "gpu_cap_w"]]))
        if len(absent):
            notes.add(
                f"{app}: {len(absent)} cap pair(s) missing from {table.rsplit('/', 1)[-1]}: "
                + ", ".join(f"({c}, {g})" for c, g in absent)
            )
        perf.insert(0, "suite", suite)
        perf.insert(0, "source_set", source_set)
        if raw_series:
            perf = pd.concat([perf, _raw_columns(raw_dir, folder, perf, notes, app)], axis=1)
        else:
            for c in RAW_COLUMNS:
                dtype = {"n_negative_rapl_samples_dropped": "Int64", "runtime_matches_perf_norm": "boolean"}.get(c)
                perf[c] = pd.Series(pd.NA, index=perf.index, dtype=dtype) if dtype else np.nan
        frames.append(perf)
    measured = pd.concat(frames).sort_values(["source_set", "app", "cpu_cap_w", "gpu_cap_w"]).reset_index(drop=True)
    if raw_series:
        neg = int(measured["n_negative_rapl_samples_dropped"].sum())
        if neg:
            notes.add(f"{neg} negative RAPL samples dropped from the CPU power means")
    else:
        notes.add(
            "raw per-pair series not used: runtime_s, cpu/gpu power, n_negative_rapl_samples_dropped and "
            "runtime_matches_perf_norm are empty"
        )
    written.append(write_csv(dest / "dual_cap_measured.csv", measured))

    val = pd.concat([_read_performance(raw_dir / p, a) for a, p in ALTIS_VALIDATION.items()])
    val = val.sort_values(["app", "cpu_cap_w", "gpu_cap_w"]).reset_index(drop=True)
    written.append(write_csv(dest / "dual_cap_altis_validation_counters.csv", val))
    key = ["app", "cpu_cap_w", "gpu_cap_w"]
    train = measured[measured.source_set == "altis_train"][[*key, "perf_norm"]]
    cmp_ = val[[*key, "perf_norm"]].merge(train, on=key, how="left", suffixes=("", "_train"))
    n_diff = int((cmp_["perf_norm"] != cmp_["perf_norm_train"]).sum())
    if n_diff:
        notes.add(f"Altis validation: perf_norm differs from altis_train in {n_diff} row(s)")

    written.append(_convert_matrix(raw_dir / PERF_MATRIX, measured, dest, notes))
    written.append(notes.write(dest))
    return written


_PAIR = re.compile(r"^\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


def _convert_matrix(path: Path, measured: pd.DataFrame, dest: Path, notes: _Notes) -> Path:
    mat = pd.read_csv(_need(path), index_col=0)
    pairs = []
    for i, label in enumerate(mat.index):
        m = _PAIR.match(str(label).strip())
        if not m:
            raise SchedlabError(f"{path}:{i + 2}: cannot parse cap pair {label!r} (expected '(cpu, gpu)')")
        pairs.append((int(m[1]), int(m[2])))
    missing = [a for a in ECP_APPS if a not in mat.columns]
    if missing:
        raise SchedlabError(f"{path}: no column for {', '.join(missing)}")
    extra = [c for c in mat.columns if c not in ECP_APPS and c not in ALTIS_APPS]
    if extra:
        notes.add(
            f"performance_matrix.csv: column(s) {', '.join(extra)} not converted (neither Altis nor the 10 ECP/ML apps)"
        )
    idx = pd.MultiIndex.from_tuples(pairs, names=["cpu_cap_w", "gpu_cap_w"])
    altis = measured[measured.source_set == "altis_train"].set_index(["app", "cpu_cap_w", "gpu_cap_w"])["perf_norm"]
    n_alt_diff = 0
    for a in ALTIS_APPS:
        if a in mat.columns:
            ref = altis.xs(a, level="app").reindex(idx)
            n_alt_diff += int((mat[a].to_numpy(float) != ref.to_numpy(float)).sum())
    if n_alt_diff:
        notes.add(f"performance_matrix.csv: {n_alt_diff} Altis entries differ from the measured altis_train values")
    meas = measured[measured.source_set == "ecp_validation"].set_index(["app", "cpu_cap_w", "gpu_cap_w"])["perf_norm"]
    rows = []
    for a in ECP_APPS:
        ref = meas.xs(a, level="app").reindex(idx) if a in meas.index.get_level_values(0) else pd.Series(np.nan, idx)
        rows.append(
            pd.DataFrame(
                {
                    "app": a,
                    "cpu_cap_w": [c for c, _ in pairs],
                    "gpu_cap_w": [g for _, g in pairs],
                    "predicted_perf_norm": mat[a].to_numpy(float),
                    "measured_perf_norm": ref.to_numpy(float),
                }
            )
        )
    pred = pd.concat(rows).sort_values(["app", "cpu_cap_w", "gpu_cap_w"]).reset_index(drop=True)
    n_unmeasured = int(pred["measured_perf_norm"].isna().sum())
    if n_unmeasured:
        notes.add(f"dual_cap_predicted_not_measured.csv: {n_unmeasured} predicted pair(s) have no measurement")
    return write_csv(dest / "dual_cap_predicted_not_measured.csv", pred)
