"""Parquet job tables and OpenDC ``tasks.parquet`` as DuckDB SELECTs over the file (never loaded
into pandas).

Before the SELECT is used, one streaming pass over the file checks the values (:func:`_check_values`):
a time that is infinite or beyond year 5138, a node/core/GPU count that is fractional, infinite or
above 10^8, an infinite or absurd time limit is refused with a :class:`JobFormatError` naming the
file, the column and the row (DuckDB would otherwise cast or fail with a conversion error).  NaN is
a missing value.  Negative times (before 1970) become missing and negative time limits NULL, counted
as in the text readers.
"""

from __future__ import annotations

from pathlib import Path

from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.fields import MAX_COUNT
from schedlab.workload.jobtables.schema import ALIASES, JOB_COLUMNS, REQUIRED, _find_col
from schedlab.workload.jobtables.store import _describe, _sql_str
from schedlab.workload.jobtables.timezones import MAX_EPOCH, _note_naive, check_timezone
from schedlab.workload.jobtables.tres import MAX_MEM_MIB, MAX_NICE


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
    for c in ("job_id", "user", "partition", "node_type", "exit_code", "nodelist", "account", "qos", "gpu_type"):
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
    checks = [(cols[c] or c, sel[c], "time", c) for c in ("submit", "start", "end")]
    if not _number_sql(cols, types, sel, checks):
        return None  # text counts, sizes or TRES: parsed (and checked) with pandas
    sel["state"] = _state_sql(cols["state"], types)
    _check_values(con, path, checks, sel, report)
    return (
        "SELECT "
        + ", ".join(f'{sel[c]} AS "{c}"' for c in JOB_COLUMNS)
        + f", file_row_number AS _row FROM read_parquet('{_sql_str(path)}', file_row_number = true)"
    )


#: columns read only through pandas (Slurm TRES, GRES and memory strings, sacct's ReqCPUS)
_PANDAS_ONLY = ("alloctres", "reqtres", "tres", "allocgres", "reqgres", "gres", "reqmem", "reqcpus", "req_cpus")


def _number_sql(cols: dict, types: dict, sel: dict, checks: list) -> bool:
    """Fill ``sel`` and ``checks`` for the numeric columns (counts, time limit, cpus, memory, GPU
    share, nice); False when one of them is text or the file has TRES/GRES/ReqMem columns, which
    pandas parses (see :mod:`.tres`)."""
    if any(c.lower() in _PANDAS_ONLY for c in types):
        return False
    numeric = ("nodes", "cores", "gpus", "time_limit", "cpus", "mem_per_node", "gpu_share", "nice")
    if any(cols[c] and not _numeric(types[cols[c]]) for c in numeric):
        return False
    for c in ("nodes", "cores", "gpus", "nice"):
        sel[c] = _count_sql(f'"{cols[c]}"') if cols[c] else "CAST(NULL AS BIGINT)"
        if cols[c]:
            checks.append((cols[c], f'CAST("{cols[c]}" AS DOUBLE)', "nice" if c == "nice" else "count", c))
    for c, kind in (("time_limit", "limit"), ("cpus", "cpus"), ("mem_per_node", "mem"), ("gpu_share", "share")):
        if c == "cpus" and not cols[c] and cols["cores"]:
            sel[c] = f'CAST("{cols["cores"]}" AS DOUBLE)'  # checked as a count above
            continue
        sel[c] = f'CAST("{cols[c]}" AS DOUBLE)' if cols[c] else "CAST(NULL AS DOUBLE)"
        if c == "time_limit" and cols[c] and cols[c].lower() == "timelimitraw":
            sel[c] += " * 60.0"  # sacct's TimelimitRaw: minutes
        if cols[c]:
            checks.append((cols[c], sel[c], kind, c))
    return True


def _numeric(typ: str) -> bool:
    return typ.startswith(("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "DECIMAL", "HUGEINT", "UBIGINT", "SMALLINT"))


def _count_sql(q: str) -> str:
    """A count column as BIGINT once :func:`_check_values` has passed (NaN is NULL, nothing rounds)."""
    return f"CAST(CASE WHEN isnan(CAST({q} AS DOUBLE)) THEN NULL ELSE CAST({q} AS DOUBLE) END AS BIGINT)"


def _state_sql(col: str | None, types: dict[str, str]) -> str:
    if not col:
        return "'UNKNOWN'"
    if types[col] == "VARCHAR":
        return _STATE_SQL.replace("{s}", f"""rtrim(split_part(upper(trim("{col}")), ' ', 1), '+')""")
    return f"""CASE "{col}" WHEN 1 THEN 'COMPLETED' WHEN 0 THEN 'FAILED' WHEN 5 THEN 'CANCELLED' ELSE 'UNKNOWN' END"""


_BAD = {
    "cpus": f"NOT ({{v}} IS NULL OR isnan({{v}}) OR ({{v}} >= 0 AND {{v}} <= {MAX_COUNT}))",
    "mem": f"NOT ({{v}} IS NULL OR isnan({{v}}) OR ({{v}} >= 0 AND {{v}} <= {MAX_MEM_MIB:.0f}))",
    "share": "NOT ({v} IS NULL OR isnan({v}) OR ({v} >= 0 AND {v} <= 1))",
    "nice": f"NOT ({{v}} IS NULL OR isnan({{v}}) OR (abs({{v}}) <= {MAX_NICE} AND {{v}} = floor({{v}})))",
    "time": f"NOT ({{v}} IS NULL OR isnan({{v}}) OR abs({{v}}) <= {MAX_EPOCH:.0f})",
    "count": f"NOT ({{v}} IS NULL OR isnan({{v}}) OR (abs({{v}}) <= {MAX_COUNT} AND {{v}} = floor({{v}})))",
    "limit": f"NOT ({{v}} IS NULL OR isnan({{v}}) OR abs({{v}}) <= {MAX_EPOCH:.0f})",
}
_WHAT = {
    "cpus": f"a CPU count in [0, {MAX_COUNT:,}]",
    "mem": f"a memory size in [0, {MAX_MEM_MIB:g}] MiB per node",
    "share": "a GPU share in [0, 1]",
    "nice": f"a whole nice value in [-{MAX_NICE:,}, {MAX_NICE:,}]",
    "time": f"a time in epoch seconds up to {MAX_EPOCH:g} (year 5138)",
    "count": f"a whole number up to {MAX_COUNT:,}",
    "limit": f"a time limit in seconds up to {MAX_EPOCH:g}",
}


def _check_values(con, path: Path, checks: list, sel: dict, report: CleaningReport) -> None:
    """One pass over the file: refuse the first out-of-range value of each checked column (naming
    column and row), count negative times / limits and rewrite them to NULL in ``sel``.

    ``checks``: ``(source column, DOUBLE expression, kind, canonical column)``, kind time/count/limit."""
    if not checks:
        return
    src = f"read_parquet('{_sql_str(path)}', file_row_number = true)"
    aggs = []
    for _, expr, kind, _ in checks:
        v = f"({expr})"
        aggs.append(f"count(*) FILTER (WHERE {_BAD[kind].replace('{v}', v)})")
        aggs.append(f"count(*) FILTER (WHERE {v} < 0)")
    got = con.sql(f"SELECT {', '.join(aggs)} FROM {src}").fetchone()
    for k, (col, expr, kind, canon) in enumerate(checks):
        n_bad, n_neg = int(got[2 * k] or 0), int(got[2 * k + 1] or 0)
        if n_bad:
            row, val = con.sql(
                f"SELECT file_row_number, ({expr}) FROM {src} WHERE {_BAD[kind].replace('{v}', f'({expr})')} "
                "ORDER BY file_row_number LIMIT 1"
            ).fetchone()
            raise JobFormatError(f"{path}: column {col!r}, row {int(row) + 1}: {val!r} is not {_WHAT[kind]}")
        if n_neg and kind in ("time", "limit"):
            rule = (
                f"{canon}: negative time (before 1970) -> missing"
                if kind == "time"
                else "time_limit < 0 -> unknown (NULL)"
            )
            report.change(rule, n_neg)
            sel[canon] = f"CASE WHEN ({sel[canon]}) < 0 THEN NULL ELSE ({sel[canon]}) END"


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
    for c in ("duration", "cpu_count", "gpu_count"):
        if c in types and not _numeric(types[c]):
            raise JobFormatError(f"{path}: OpenDC column {c} has type {types[c]}; expected a number")
    gpus = _count_sql("gpu_count") if "gpu_count" in types else "CAST(NULL AS BIGINT)"
    cores = _count_sql("cpu_count") if "cpu_count" in types else "CAST(NULL AS BIGINT)"
    sel = {"submit": t, "end": f"{t} + CAST(duration AS DOUBLE) / 1000.0"}
    checks = [("submission_time", t, "time", "submit"), ("duration", sel["end"], "time", "end")]
    checks += [(c, f"CAST({c} AS DOUBLE)", "count", c) for c in ("cpu_count", "gpu_count") if c in types]
    _check_values(con, path, checks, sel, report)
    t = sel["submit"]
    report.notes.append(
        "OpenDC trace: no start time (start = submit, wait unknown), no final state (UNKNOWN), one host per task"
        + ("; mem_capacity not read (the format states no unit)" if "mem_capacity" in types else "")
    )
    return (
        f'SELECT CAST(id AS VARCHAR) AS job_id, CAST(NULL AS VARCHAR) AS "user", CAST(NULL AS VARCHAR) AS partition, '
        f"CAST(NULL AS VARCHAR) AS node_type, {t} AS submit, {t} AS start, "
        f'{sel["end"]} AS "end", '
        f"CAST(1 AS BIGINT) AS nodes, {cores} AS cores, {gpus} AS gpus, CAST(NULL AS DOUBLE) AS time_limit, "
        f"'UNKNOWN' AS state, CAST(NULL AS VARCHAR) AS exit_code, CAST(NULL AS VARCHAR) AS nodelist, "
        "CAST(NULL AS VARCHAR) AS account, CAST(NULL AS VARCHAR) AS qos, "
        f"CAST({cores} AS DOUBLE) AS cpus, CAST(NULL AS DOUBLE) AS mem_per_node, CAST(NULL AS VARCHAR) AS gpu_type, "
        "CAST(NULL AS DOUBLE) AS gpu_share, CAST(NULL AS BIGINT) AS nice, "
        f"file_row_number AS _row FROM read_parquet('{_sql_str(path)}', file_row_number = true)"
    )
