"""Parquet job tables and OpenDC ``tasks.parquet`` as DuckDB SELECTs over the file (never loaded
into pandas)."""

from __future__ import annotations

from pathlib import Path

from schedlab.analytics.jobs.schema import ALIASES, JOB_COLUMNS, REQUIRED, _find_col
from schedlab.analytics.jobs.store import _describe, _sql_str
from schedlab.analytics.jobs.timezones import _note_naive, check_timezone
from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport


def _time_sql(con, src: str, col: str, typ: str, tz: str, report: CleaningReport) -> str | None:
    """SQL giving epoch seconds for a Parquet time column, or None when it must go through pandas."""
    q = f'"{col}"'
    if typ.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"epoch({q})"
    if typ.startswith("TIMESTAMP") or typ == "DATE":
        _note_naive(report, tz)
        if tz.upper() == "UTC":
            return f"epoch({q})"
        return f"epoch(timezone('{_sql_str(check_timezone(tz))}', CAST({q} AS TIMESTAMP)))"
    if typ in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "UBIGINT", "DECIMAL") or typ.startswith("DECIMAL"):
        big = con.sql(f"SELECT max(abs({q})) FROM {src}").fetchone()[0] or 0
        if big > 1e11:
            report.notes.append(f"{col}: numbers taken as epoch milliseconds")
            return f"CAST({q} AS DOUBLE) / 1000.0"
        return f"CAST({q} AS DOUBLE)"
    return None


_STATE_SQL = (
    "CASE\n"
    "  WHEN {s} IN ('COMPLETED','FAILED','TIMEOUT','CANCELLED','OUT_OF_MEMORY','NODE_FAIL','PREEMPTED','BOOT_FAIL',"
    "'DEADLINE') THEN {s}\n"
    "  WHEN {s} IN ('CD') THEN 'COMPLETED' WHEN {s} IN ('F') THEN 'FAILED' WHEN {s} IN ('TO') THEN 'TIMEOUT'\n"
    "  WHEN {s} IN ('CA','CANCELED') THEN 'CANCELLED' WHEN {s} IN ('OOM') THEN 'OUT_OF_MEMORY' "
    "WHEN {s} = 'NF' THEN 'NODE_FAIL'\n"
    "  ELSE coalesce({s}, 'UNKNOWN') END"
)


def _parquet_sql(con, path: Path, tz: str, report: CleaningReport):
    """A DuckDB SELECT mapping a Parquet job table onto the canonical columns without loading it,
    or None when some column needs pandas parsing (text time stamps)."""
    src = f"read_parquet('{_sql_str(path)}')"
    types = _describe(con, src)
    cols = {c: _find_col(types, c) for c in JOB_COLUMNS}
    missing = [c for c in REQUIRED if cols[c] is None]
    if missing:
        raise JobFormatError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(types)}. "
            "Accepted names: " + "; ".join(f"{c}: {'/'.join(ALIASES[c])}" for c in missing)
        )
    sel = {}
    for c in ("job_id", "user", "partition", "node_type", "exit_code", "nodelist"):
        sel[c] = f'CAST("{cols[c]}" AS VARCHAR)' if cols[c] else "CAST(NULL AS VARCHAR)"
    for c in ("submit", "start", "end"):
        if cols[c]:
            t = _time_sql(con, src, cols[c], types[cols[c]], tz, report)
            if t is None:
                return None
            sel[c] = t
    dur = next((c for c in types if c.lower() in ("duration", "elapsed", "run", "runtime")), None)
    if "start" not in sel:
        sel["start"] = sel["submit"]
        report.notes.append("no start column: start taken = submit (wait unknown)")
    if "end" not in sel:
        if dur is None or not types[dur].startswith(("BIGINT", "INTEGER", "DOUBLE", "FLOAT")):
            raise JobFormatError(
                f"{path}: needs start and end columns (or a numeric duration); found {', '.join(types)}"
            )
        ms = "ms" if "/ 1000.0" in sel["submit"] else "s"
        sel["end"] = f'({sel["start"]}) + CAST("{dur}" AS DOUBLE)' + (" / 1000.0" if ms == "ms" else "")
        report.notes.append(f"end = start + {dur} ({'milliseconds' if ms == 'ms' else 'seconds'})")
    for c in ("nodes", "cores", "gpus"):
        sel[c] = (
            f'CAST(round("{cols[c]}") AS BIGINT)'
            if cols[c]
            else ("CAST(0 AS BIGINT)" if c == "gpus" else "CAST(NULL AS BIGINT)")
        )
    if cols["time_limit"]:
        if not types[cols["time_limit"]].startswith(("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "DECIMAL")):
            return None
        sel["time_limit"] = f'CAST("{cols["time_limit"]}" AS DOUBLE)'
    else:
        sel["time_limit"] = "CAST(NULL AS DOUBLE)"
    if cols["state"]:
        if types[cols["state"]] == "VARCHAR":
            s = f"""rtrim(split_part(upper(trim("{cols["state"]}")), ' ', 1), '+')"""
            sel["state"] = _STATE_SQL.replace("{s}", s)
        else:
            sel["state"] = (
                f"""CASE "{cols["state"]}" WHEN 1 THEN 'COMPLETED' WHEN 0 THEN 'FAILED' WHEN 5 THEN 'CANCELLED' """
                "ELSE 'UNKNOWN' END"
            )
    else:
        sel["state"] = "'UNKNOWN'"
    return (
        "SELECT "
        + ", ".join(f'{sel[c]} AS "{c}"' for c in JOB_COLUMNS)
        + f", file_row_number AS _row FROM read_parquet('{_sql_str(path)}', file_row_number = true)"
    )


def _opendc_sql(con, path: Path, tz: str, report: CleaningReport) -> str:
    """OpenDC ``tasks.parquet``: id, submission_time (ms or timestamp), duration (ms), cpu_count[, gpu_count].

    OpenDC traces hold no start time, final state, user or node list: start is taken = submit
    (OpenDC replays them so), each task runs on one host, state is UNKNOWN.
    """
    src = f"read_parquet('{_sql_str(path)}')"
    types = _describe(con, src)
    need = [c for c in ("id", "submission_time", "duration") if c not in types]
    if need:
        raise JobFormatError(f"{path}: not an OpenDC tasks table: missing {', '.join(need)} (found {', '.join(types)})")
    t = _time_sql(con, src, "submission_time", types["submission_time"], tz, report)
    if t is None:
        raise JobFormatError(
            f"{path}: submission_time has type {types['submission_time']}; expected int64 ms or timestamp"
        )
    if types["submission_time"] in ("BIGINT", "INTEGER") and "/ 1000.0" not in t:
        t = 'CAST("submission_time" AS DOUBLE) / 1000.0'  # OpenDC: always milliseconds
    gpus = "CAST(coalesce(gpu_count, 0) AS BIGINT)" if "gpu_count" in types else "CAST(0 AS BIGINT)"
    cores = "CAST(cpu_count AS BIGINT)" if "cpu_count" in types else "CAST(NULL AS BIGINT)"
    report.notes.append(
        "OpenDC trace: no start time (start = submit, wait unknown), no final state (UNKNOWN), one host per task"
    )
    return (
        f'SELECT CAST(id AS VARCHAR) AS job_id, CAST(NULL AS VARCHAR) AS "user", CAST(NULL AS VARCHAR) AS partition, '
        f"CAST(NULL AS VARCHAR) AS node_type, {t} AS submit, {t} AS start, "
        f'{t} + CAST(duration AS DOUBLE) / 1000.0 AS "end", '
        f"CAST(1 AS BIGINT) AS nodes, {cores} AS cores, {gpus} AS gpus, CAST(NULL AS DOUBLE) AS time_limit, "
        f"'UNKNOWN' AS state, CAST(NULL AS VARCHAR) AS exit_code, CAST(NULL AS VARCHAR) AS nodelist, "
        f"file_row_number AS _row FROM read_parquet('{_sql_str(path)}', file_row_number = true)"
    )
