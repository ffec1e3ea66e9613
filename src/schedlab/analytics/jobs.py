"""One job table for every source: Slurm ``sacct``, CSV/Parquet, SWF, OpenDC and schedlab's own
simulation output, read into a canonical schema with a counted cleaning report.

The table lives in DuckDB (a view named by :attr:`JobTable.view`) so that the statistics in
:mod:`schedlab.analytics.characterize` run as SQL over the source file: a Parquet file is never
loaded whole into pandas.  Text formats (sacct, CSV, SWF) are parsed with pandas first and then
registered with the same connection.

Canonical columns (:data:`JOB_COLUMNS`; times are seconds since the Unix epoch, UTC):

==========  ========  ==============================================================================
job_id      VARCHAR   job id as the source writes it (Slurm array/het ids kept as text)
user        VARCHAR   user name or id; NULL if unknown
partition   VARCHAR   Slurm partition / queue; NULL if unknown
node_type   VARCHAR   hardware type of the nodes (from the hardware table or the partition); NULL
submit      DOUBLE    submit time
start       DOUBLE    start time; NULL if the job never started (e.g. cancelled while pending)
end         DOUBLE    end time; NULL if never started
nodes       BIGINT    nodes allocated (>= 1)
cores       BIGINT    CPU cores allocated; NULL if unknown
gpus        BIGINT    GPUs allocated (0 when the source has no GPU field)
time_limit  DOUBLE    requested wall time, seconds; NULL if unlimited/unknown
state       VARCHAR   final state, upper case: COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY,
                      NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, or UNKNOWN
exit_code   VARCHAR   ``code:signal`` as sacct prints it; NULL if unknown
nodelist    VARCHAR   Slurm hostlist of the allocated nodes; NULL if unknown
==========  ========  ==============================================================================

Time stamps with a UTC offset (``2024-03-01T10:00:00+01:00``, ``...Z``) are converted to UTC.
Naive time stamps (sacct prints local time without an offset) are read in the ``timezone``
argument (default UTC), and the report says so; DST-ambiguous or non-existent local times are
resolved to standard time / shifted forward and counted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schedlab.errors import HostlistError, JobFormatError
from schedlab.workload.cleaning_report import CleaningReport

JOB_COLUMNS: tuple[str, ...] = (
    "job_id",
    "user",
    "partition",
    "node_type",
    "submit",
    "start",
    "end",
    "nodes",
    "cores",
    "gpus",
    "time_limit",
    "state",
    "exit_code",
    "nodelist",
)
_SQL_TYPES = {
    "job_id": "VARCHAR",
    "user": "VARCHAR",
    "partition": "VARCHAR",
    "node_type": "VARCHAR",
    "submit": "DOUBLE",
    "start": "DOUBLE",
    "end": "DOUBLE",
    "nodes": "BIGINT",
    "cores": "BIGINT",
    "gpus": "BIGINT",
    "time_limit": "DOUBLE",
    "state": "VARCHAR",
    "exit_code": "VARCHAR",
    "nodelist": "VARCHAR",
}
REQUIRED = ("job_id", "submit")
STATES = (
    "COMPLETED",
    "FAILED",
    "TIMEOUT",
    "CANCELLED",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "UNKNOWN",
)
FORMATS = ("auto", "sacct", "csv", "parquet", "swf", "opendc", "schedlab")

#: Source column names accepted for each canonical column (case-insensitive), for CSV and Parquet.
ALIASES: dict[str, tuple[str, ...]] = {
    "job_id": ("job_id", "jobid", "jobidraw", "id", "job"),
    "user": ("user", "username", "user_id", "uid"),
    "partition": ("partition", "queue"),
    "node_type": ("node_type", "nodetype", "hardware", "node_class"),
    "submit": ("submit", "submit_time", "submission_time", "submitted", "eligible"),
    "start": ("start", "start_time", "started"),
    "end": ("end", "end_time", "ended", "finish", "finish_time"),
    "nodes": ("nodes", "nnodes", "node_count", "num_nodes", "allocnodes"),
    "cores": ("cores", "ncpus", "cpus", "cpu_count", "alloccpus", "num_cores", "procs"),
    "gpus": ("gpus", "ngpus", "gpu_count", "num_gpus"),
    "time_limit": ("time_limit", "timelimit", "walltime", "req_time", "time_limit_s"),
    "state": ("state", "status", "final_state", "job_state"),
    "exit_code": ("exit_code", "exitcode"),
    "nodelist": ("nodelist", "node_list", "hosts", "hostlist"),
}


# --------------------------------------------------------------------------------------------
# Slurm hostlists
# --------------------------------------------------------------------------------------------
_MAX_HOSTS = 1_000_000


def _split_top(text: str) -> list[str]:
    """Split at commas outside brackets; reject unbalanced or nested brackets."""
    parts, depth, cur = [], 0, []
    for i, ch in enumerate(text):
        if ch == "[":
            if depth:
                raise HostlistError(f"hostlist {text!r}: nested '[' at position {i}")
            depth = 1
        elif ch == "]":
            if not depth:
                raise HostlistError(f"hostlist {text!r}: ']' without '[' at position {i}")
            depth = 0
        if ch == "," and not depth:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth:
        raise HostlistError(f"hostlist {text!r}: '[' not closed")
    parts.append("".join(cur))
    return parts


def _range_values(body: str, text: str) -> list[str]:
    out = []
    for piece in body.split(","):
        piece = piece.strip()
        if not piece:
            raise HostlistError(f"hostlist {text!r}: empty range in [{body}]")
        lo, sep, hi = piece.partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            raise HostlistError(f"hostlist {text!r}: bad range {piece!r} in [{body}] (expected N or N-M)")
        if not sep:
            out.append(lo)
            continue
        a, b = int(lo), int(hi)
        if a > b:
            raise HostlistError(f"hostlist {text!r}: range {piece!r} runs backwards")
        if b - a + 1 > _MAX_HOSTS:
            raise HostlistError(f"hostlist {text!r}: range {piece!r} has more than {_MAX_HOSTS:,} hosts")
        width = len(lo)  # Slurm pads to the width of the lower bound: [001-010], [8-10] -> 8, 9, 10
        out += [str(v).zfill(width) for v in range(a, b + 1)]
    return out


def expand_hostlist(text: str | None) -> list[str]:
    """Host names of a Slurm hostlist, in order, zero padding kept.

    ``node[001-003,007],gpu[1-2]`` -> node001 node002 node003 node007 gpu1 gpu2;
    ``n[01-02]-ib`` -> n01-ib n02-ib; several bracket groups in one name give their product
    (``r[1-2]n[1-2]`` -> r1n1 r1n2 r2n1 r2n2, the Slurm order).  ``None``, ``""`` and Slurm's
    ``None assigned`` give ``[]``.  Raises :class:`HostlistError` for unbalanced or nested
    brackets, empty or backwards ranges and non-numeric bounds.
    """
    if text is None:
        return []
    text = str(text).strip()
    if not text or text in ("None assigned", "(null)", "None"):
        return []
    hosts: list[str] = []
    for item in _split_top(text):
        item = item.strip()
        if not item:
            raise HostlistError(f"hostlist {text!r}: empty host name between commas")
        names = [""]
        pos = 0
        for m in re.finditer(r"\[([^\]]*)\]", item):
            literal = item[pos : m.start()]
            names = [n + literal for n in names]
            vals = _range_values(m.group(1), text)
            names = [n + v for n in names for v in vals]
            if len(names) > _MAX_HOSTS:
                raise HostlistError(f"hostlist {text!r}: more than {_MAX_HOSTS:,} hosts")
            pos = m.end()
        names = [n + item[pos:] for n in names]
        hosts += names
    return hosts


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------
@dataclass
class JobTable:
    """A cleaned job table: a DuckDB view of :data:`JOB_COLUMNS` plus derived ``wait`` and ``run``.

    ``waits_known`` / ``states_known`` say whether the source records them at all (OpenDC traces
    have no start time and no final state); statistics on unknown fields are reported as such
    instead of as zeros.
    """

    con: object
    view: str
    source: str
    format: str
    cleaning: CleaningReport
    waits_known: bool = True
    states_known: bool = True
    timezone: str = "UTC"
    meta: dict = field(default_factory=dict)

    def sql(self, query: str):
        """Run ``query`` (``{jobs}`` is replaced by the view name) and return a DataFrame."""
        return self.con.sql(query.replace("{jobs}", self.view)).df()

    def scalar(self, query: str):
        return self.con.sql(query.replace("{jobs}", self.view)).fetchone()[0]

    def __len__(self) -> int:
        return int(self.scalar("SELECT count(*) FROM {jobs}"))

    def df(self):
        """Materialise the table as pandas, in submit order (small tables and tests; statistics use SQL)."""
        return self.sql("SELECT * FROM {jobs} ORDER BY submit, job_id")

    def with_classes(self, rule: str | None = None) -> JobTable:
        """A copy whose view adds ``job_class`` ('ml' or 'generic') from ``rule`` (see
        :func:`schedlab.analytics.characterize.class_expression`)."""
        from schedlab.analytics.characterize import class_expression

        expr = class_expression(rule)
        name = self.view + "_c"
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT *, {expr} AS job_class FROM {self.view}")
            self.con.sql(f"SELECT job_class FROM {name} LIMIT 1").fetchall()
        except Exception as exc:  # duckdb parser/binder errors
            from schedlab.analytics.characterize import ClassRuleError

            raise ClassRuleError(
                f"--class-rule {rule!r} is not a valid expression over the job columns "
                f"({', '.join((*JOB_COLUMNS, 'wait', 'run'))}): {exc}"
            ) from None
        meta = dict(self.meta, class_rule=rule or "default", class_sql=expr)
        return JobTable(
            self.con,
            name,
            self.source,
            self.format,
            self.cleaning,
            self.waits_known,
            self.states_known,
            self.timezone,
            meta,
        )


def _bytes(size: str) -> float | None:
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]?i?b?)\s*", str(size).lower())
    if not m:
        return None
    unit = m.group(2).rstrip("b").rstrip("i")
    return float(m.group(1)) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}[unit]


def _connect(memory_limit: str | None = None, temp_directory: str | Path | None = None, threads: int | None = None):
    """An in-memory DuckDB connection.  ``memory_limit`` (e.g. ``"40MB"``, ``"2GB"``) caps DuckDB's
    buffer memory; past it, the materialised job table, sorts, joins and window partitions spill
    to ``temp_directory`` (default: DuckDB's own, ``.tmp`` beside the process; give one on a fast
    local disk for tables larger than memory).  ``threads`` defaults to 2, or 1 under a limit below
    128 MB (each DuckDB thread holds its own buffers; two do not fit in a few tens of MB)."""
    import duckdb

    if threads is None:
        lim = _bytes(memory_limit) if memory_limit is not None else None
        threads = 1 if lim is not None and lim < 128 * 2**20 else 2
    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    if temp_directory is not None:
        Path(temp_directory).mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{_sql_str(temp_directory)}'")
    if memory_limit is not None:
        try:
            con.execute(f"SET memory_limit = '{_sql_str(memory_limit)}'")
        except Exception as exc:
            raise ValueError(
                f"memory_limit {memory_limit!r} is not a DuckDB memory size (e.g. '512MB', '4GB'): {exc}"
            ) from None
    return con


# --------------------------------------------------------------------------------------------
# Parsing helpers (pandas side)
# --------------------------------------------------------------------------------------------
_OFFSET_RE = re.compile(r"(?:Z|[+-]\d\d:?\d\d)$")
_NULL_TIMES = {"", "unknown", "none", "nan", "nat", "n/a", "(null)"}


def parse_times(values, *, tz: str, path: str, column: str, report: CleaningReport, rows=None):
    """Strings / numbers / datetimes -> float64 epoch seconds (NaN for 'Unknown', 'None', '').

    Numbers are epoch seconds, or milliseconds when above 1e11 (after 1973 in ms).  Offsets are
    honoured; naive values are read in ``tz``.  Unparseable text raises :class:`JobFormatError`
    naming the file, column and row (``rows[i]``, the file line of value i, when given; else i + 1).
    """
    import pandas as pd

    s = pd.Series(values)
    if pd.api.types.is_numeric_dtype(s):
        x = s.to_numpy(dtype=np.float64)
        big = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 0.0
        if big > 1e11:
            report.notes.append(f"{column}: numbers taken as epoch milliseconds")
            x = x / 1000.0
        return x
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return _dt_to_epoch(s.dt.tz_convert("UTC"))
    if pd.api.types.is_datetime64_any_dtype(s):
        return _localize(s, tz, column, report)
    text = s.astype("string").str.strip()
    null = text.isna() | text.str.lower().isin(_NULL_TIMES)
    out = np.full(len(s), np.nan)
    has_off = ~null & text.str.contains(_OFFSET_RE, na=False)
    naive = ~null & ~has_off
    for mask, aware in ((has_off, True), (naive, False)):
        if not mask.any():
            continue
        sub = text[mask]
        parsed = pd.to_datetime(sub, utc=aware, errors="coerce", format="ISO8601" if aware else "mixed")
        bad = parsed.isna()
        if bad.any():
            i = int(np.flatnonzero(mask.to_numpy())[np.flatnonzero(bad.to_numpy())[0]])
            where = f"line {rows[i]}" if rows is not None else f"row {i + 1}"
            raise JobFormatError(
                f"{path}: column {column!r}, {where}: cannot parse time "
                f"{sub[bad].iloc[0]!r} (expected ISO 8601, e.g. 2024-03-01T10:00:00[+01:00])"
            )
        if aware:
            out[mask.to_numpy()] = _dt_to_epoch(parsed)
        else:
            out[mask.to_numpy()] = _localize(parsed, tz, column, report)
    if has_off.any():
        report.change(f"{column}: time stamps with a UTC offset converted to UTC", int(has_off.sum()))
    return out


def _dt_to_epoch(s) -> np.ndarray:
    import pandas as pd

    s = pd.Series(s)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        d = s.dt.tz_convert("UTC") - pd.Timestamp("1970-01-01", tz="UTC")
    else:
        d = s.astype("datetime64[ns]") - pd.Timestamp("1970-01-01")
    return (d / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)


def _localize(s, tz: str, column: str, report: CleaningReport) -> np.ndarray:
    import pandas as pd

    s = pd.Series(s).astype("datetime64[ns]")
    if s.notna().any():
        note = f"naive time stamps read as {tz} (no UTC offset in the data; set --timezone if they are local time)"
        if note not in report.notes:
            report.notes.append(note)
    if tz.upper() == "UTC":
        return _dt_to_epoch(s)
    try:
        strict = s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    except Exception as exc:
        raise JobFormatError(f"unknown time zone {tz!r} ({exc})") from None
    fixed = strict.isna() & s.notna()
    if fixed.any():
        report.change(
            f"{column}: DST-ambiguous/non-existent local times resolved (standard time / shifted forward)",
            int(fixed.sum()),
        )
        loose = s.dt.tz_localize(tz, ambiguous=np.zeros(len(s), dtype=bool), nonexistent="shift_forward")
        strict = strict.where(~fixed, loose)
    return _dt_to_epoch(strict.dt.tz_convert("UTC"))


def parse_duration(text) -> float:
    """Slurm time ``[D-]HH:MM:SS`` / ``MM:SS`` / ``MM`` (minutes) -> seconds; NaN for UNLIMITED."""
    if text is None:
        return np.nan
    t = str(text).strip()
    if not t or t.upper() in ("UNLIMITED", "PARTITION_LIMIT", "INVALID", "NONE", "UNKNOWN", "NAN"):
        return np.nan
    days = 0
    if "-" in t:
        d, _, t = t.partition("-")
        days = int(d)
    parts = [float(p) for p in t.split(":")]
    if len(parts) == 1:
        secs = parts[0] * 60  # Slurm: a bare number is minutes
    elif len(parts) == 2:
        secs = parts[0] * 60 + parts[1]
    elif len(parts) == 3:
        secs = parts[0] * 3600 + parts[1] * 60 + parts[2]
    else:
        raise ValueError(t)
    return days * 86400 + secs


def normalize_state(values):
    """sacct states -> canonical: 'CANCELLED by 123' -> CANCELLED, 'OOM' -> OUT_OF_MEMORY, SWF codes."""
    import pandas as pd

    s = pd.Series(values).astype("string").str.strip().str.upper()
    s = s.str.split(" ", n=1).str[0].str.rstrip("+")
    s = s.replace(
        {
            "CA": "CANCELLED",
            "CD": "COMPLETED",
            "F": "FAILED",
            "TO": "TIMEOUT",
            "OOM": "OUT_OF_MEMORY",
            "NF": "NODE_FAIL",
            "PR": "PREEMPTED",
            "BF": "BOOT_FAIL",
            "DL": "DEADLINE",
            "CANCELED": "CANCELLED",
        }
    )
    return s.fillna("UNKNOWN")


def _gpus_from_tres(values):
    """``gres/gpu=4`` or ``gres/gpu:a100=4`` in an AllocTRES string -> 4 (0 when absent)."""
    import pandas as pd

    s = pd.Series(values).astype("string").fillna("")
    n = s.str.extract(r"gres/gpu(?::[^=,]*)?=(\d+)", expand=False)
    return pd.to_numeric(n, errors="coerce").fillna(0).astype("int64")


def _find_col(columns, canonical: str):
    low = {c.lower(): c for c in columns}
    for a in ALIASES[canonical]:
        if a in low:
            return low[a]
    return None


# --------------------------------------------------------------------------------------------
# Readers: each returns a pandas frame of JOB_COLUMNS (or registers a DuckDB relation)
# --------------------------------------------------------------------------------------------
def _frame_from_columns(df, path: str, tz: str, report: CleaningReport, rows=None):
    """Map a generic (CSV / sacct-style / Parquet-as-pandas) frame onto the canonical columns."""
    import pandas as pd

    out = pd.DataFrame(index=df.index)
    cols = {c: _find_col(df.columns, c) for c in JOB_COLUMNS}
    missing = [c for c in REQUIRED if cols[c] is None]
    if missing:
        raise JobFormatError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, df.columns))}. "
            f"Accepted names: " + "; ".join(f"{c}: {'/'.join(ALIASES[c])}" for c in missing)
        )
    if cols["start"] is None or cols["end"] is None:
        dur = next(
            (c for c in df.columns if c.lower() in ("elapsed", "duration", "run", "runtime", "elapsedraw")), None
        )
        if dur is None:
            raise JobFormatError(
                f"{path}: needs start and end columns (or a duration/elapsed column); "
                f"found {', '.join(map(str, df.columns))}"
            )
    out["job_id"] = df[cols["job_id"]].astype("string")
    for c in ("user", "partition", "node_type", "exit_code", "nodelist"):
        if cols[c] is None:
            out[c] = pd.Series(pd.NA, index=df.index, dtype="string")
            continue
        v = df[cols[c]].astype("string").str.strip()
        out[c] = v.mask(v.isin(["", "None assigned", "(null)", "None"]))
    for c in ("submit", "start", "end"):
        if cols[c] is not None:
            out[c] = parse_times(
                df[cols[c]].to_numpy() if not pd.api.types.is_datetime64_any_dtype(df[cols[c]]) else df[cols[c]],
                tz=tz,
                path=path,
                column=cols[c],
                report=report,
                rows=rows,
            )
    if cols["start"] is None:
        out["start"] = out["submit"]
        report.notes.append("no start column: start taken = submit (wait unknown)")
    if cols["end"] is None:
        d = df[dur]
        secs = (
            pd.to_numeric(d, errors="coerce")
            if pd.api.types.is_numeric_dtype(d)
            else d.map(lambda v: _dur_or_raise(v, path, dur))
        )
        if dur.lower() == "duration" and pd.api.types.is_numeric_dtype(d) and secs.max() > 1e7:
            secs = secs / 1000.0
            report.notes.append(f"{dur}: taken as milliseconds")
        out["end"] = out["start"] + secs.astype(float)
    for c in ("nodes", "cores", "gpus"):
        if cols[c] is not None:
            v = pd.to_numeric(df[cols[c]], errors="coerce")
            out[c] = v.round().astype("Int64")
        else:
            out[c] = pd.Series(pd.NA, index=df.index, dtype="Int64")
    if cols["gpus"] is None:
        tres = next((c for c in df.columns if c.lower() in ("alloctres", "reqtres", "tres")), None)
        out["gpus"] = _gpus_from_tres(df[tres]).to_numpy() if tres is not None else 0
    if cols["time_limit"] is not None:
        tl = df[cols["time_limit"]]
        out["time_limit"] = (
            pd.to_numeric(tl, errors="coerce")
            if pd.api.types.is_numeric_dtype(tl)
            else tl.map(lambda v: _dur_or_raise(v, path, cols["time_limit"]))
        )
    else:
        out["time_limit"] = np.nan
    if cols["state"] is not None:
        st = df[cols["state"]]
        if pd.api.types.is_numeric_dtype(st):
            st = st.map({1: "COMPLETED", 0: "FAILED", 5: "CANCELLED"}).fillna("UNKNOWN")
        out["state"] = normalize_state(st)
    else:
        out["state"] = "UNKNOWN"
    return out[list(JOB_COLUMNS)].reset_index(drop=True)


def _dur_or_raise(v, path, column):
    try:
        return parse_duration(v)
    except (ValueError, TypeError):
        raise JobFormatError(
            f"{path}: column {column!r}: cannot parse duration {v!r} (expected [D-]HH:MM:SS or UNLIMITED)"
        ) from None


def read_sacct(path: Path, tz: str, report: CleaningReport):
    """``sacct --parsable2`` output ('|'-separated, header line).  Job steps (``123.batch``,
    ``123.0``, ``123.extern``) are folded into their job and counted; the job's own line wins."""
    import io

    import pandas as pd

    text = Path(path).read_text(encoding="utf-8", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or "|" not in lines[0]:
        raise JobFormatError(f"{path}: not sacct --parsable2 output (no '|'-separated header line)")
    ncol = lines[0].count("|") + 1
    for i, ln in enumerate(lines[1:], start=2):
        if ln.count("|") + 1 != ncol:
            raise JobFormatError(f"{path}: line {i} has {ln.count('|') + 1} fields, the header has {ncol}")
    df = pd.read_csv(io.StringIO("\n".join(lines)), sep="|", dtype=str, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    idcol = next((c for c in df.columns if c.lower() in ("jobid", "jobidraw")), None)
    if idcol is None:
        raise JobFormatError(f"{path}: no JobID column; found {', '.join(df.columns)}")
    step = df[idcol].str.contains(".", regex=False)
    report.read = int((~step).sum())
    report.notes.append(f"{int(step.sum()):,} job-step lines (e.g. 123.batch) folded into their jobs")
    lines_no = np.flatnonzero(~step.to_numpy()) + 2  # file lines (header = line 1), for error messages
    jobs = df[~step].reset_index(drop=True)
    return _frame_from_columns(jobs, str(path), tz, report, rows=lines_no)


def read_csv_jobs(path: Path, tz: str, report: CleaningReport):
    """A CSV with canonical or sacct-style column names (see :data:`ALIASES`)."""
    import pandas as pd

    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise JobFormatError(f"{path}: not a readable CSV ({exc})") from None
    for c in df.columns:  # numbers stay numbers, text stays text
        num = pd.to_numeric(df[c], errors="coerce")
        if len(df) and num.notna().sum() == (df[c].str.strip() != "").sum() and c.lower() not in ALIASES["job_id"]:
            df[c] = num
    report.read = len(df)
    return _frame_from_columns(df, str(path), tz, report, rows=np.arange(len(df)) + 2)


def read_swf_jobs(path: Path, report: CleaningReport):
    """An SWF trace via :func:`schedlab.workload.read_swf`: submit + wait = start, status 1/0/5 =
    COMPLETED/FAILED/CANCELLED, processors = cores, nodes from the MaxProcs/MaxNodes header."""
    import pandas as pd

    from schedlab.workload import read_swf
    from schedlab.workload.swf import COL

    raw = read_swf(path, lenient=True)
    report.read = len(raw) + raw.malformed_skipped
    report.malformed_skipped = raw.malformed_skipped
    f = raw.fields
    origin = raw.header_int("UnixStartTime")
    if origin is None:
        origin = 0
        report.notes.append("SWF has no UnixStartTime header: times count from 1970-01-01 00:00 UTC")
    submit = origin + f[:, COL["submit"]]
    wait = f[:, COL["wait"]]
    run = f[:, COL["run"]]
    # wait or runtime -1 (unknown; e.g. cancelled before start): no start, kept for state counts
    start = np.where((wait >= 0) & (run >= 0), submit + np.maximum(wait, 0), np.nan)
    end = np.where(run >= 0, start + run, np.nan)
    procs = np.where(f[:, COL["alloc_procs"]] > 0, f[:, COL["alloc_procs"]], f[:, COL["req_procs"]])
    mp, mn = raw.header_int("MaxProcs"), raw.header_int("MaxNodes")
    nodes = np.ceil(procs * mn / mp - 1e-9) if mp and mn else np.ones(len(f))
    if not (mp and mn):
        report.notes.append("SWF has no MaxProcs/MaxNodes header: each job counted as one node")
    status = f[:, COL["status"]].astype(int)
    if len(status) > 1 and np.all(status == 0) and np.any(f[:, COL["run"]] > 0):
        # "failed" for every job that ran is a trace that does not record the status (theta_2022
        # writes 0 throughout), not a machine where nothing succeeded
        report.change("SWF status 0 (failed) on every job: taken as not recorded (state UNKNOWN)", len(status))
        status = np.full(len(status), -1)
    state = pd.Series(status).map({1: "COMPLETED", 0: "FAILED", 5: "CANCELLED"}).fillna("UNKNOWN")
    user = f[:, COL["user"]]
    req = f[:, COL["req_time"]]
    queue = f[:, COL["queue"]]
    partition = f[:, COL["partition"]]
    return pd.DataFrame(
        {
            "job_id": pd.Series(f[:, COL["job_id"]].astype(np.int64)).astype("string"),
            "user": pd.Series(np.where(user >= 0, user, np.nan)).astype("Int64").astype("string"),
            "partition": pd.Series(np.where(partition >= 0, partition, np.where(queue >= 0, queue, np.nan)))
            .astype("Int64")
            .astype("string"),
            "node_type": pd.Series([pd.NA] * len(f), dtype="string"),
            "submit": submit,
            "start": start,
            "end": end,
            "nodes": pd.Series(np.maximum(nodes, 1)).astype("Int64"),
            "cores": pd.Series(np.where(procs > 0, procs, np.nan)).round().astype("Int64"),
            "gpus": 0,
            "time_limit": np.where(req > 0, req, np.nan),
            "state": state.astype("string"),
            "exit_code": pd.Series([pd.NA] * len(f), dtype="string"),
            "nodelist": pd.Series([pd.NA] * len(f), dtype="string"),
        }
    )


def _describe(con, src: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()}


def _time_sql(con, src: str, col: str, typ: str, tz: str, report: CleaningReport) -> str | None:
    """SQL giving epoch seconds for a Parquet time column, or None when it must go through pandas."""
    q = f'"{col}"'
    if typ.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"epoch({q})"
    if typ.startswith("TIMESTAMP") or typ == "DATE":
        note = f"naive time stamps read as {tz} (no UTC offset in the data; set --timezone if they are local time)"
        if note not in report.notes:
            report.notes.append(note)
        return f"epoch({q})" if tz.upper() == "UTC" else f"epoch(timezone('{tz}', CAST({q} AS TIMESTAMP)))"
    if typ in ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "HUGEINT", "UBIGINT", "DECIMAL") or typ.startswith("DECIMAL"):
        big = con.sql(f"SELECT max(abs({q})) FROM {src}").fetchone()[0] or 0
        if big > 1e11:
            report.notes.append(f"{col}: numbers taken as epoch milliseconds")
            return f"CAST({q} AS DOUBLE) / 1000.0"
        return f"CAST({q} AS DOUBLE)"
    return None


_STATE_SQL = """CASE
  WHEN {s} IN ('COMPLETED','FAILED','TIMEOUT','CANCELLED','OUT_OF_MEMORY','NODE_FAIL','PREEMPTED','BOOT_FAIL','DEADLINE') THEN {s}
  WHEN {s} IN ('CD') THEN 'COMPLETED' WHEN {s} IN ('F') THEN 'FAILED' WHEN {s} IN ('TO') THEN 'TIMEOUT'
  WHEN {s} IN ('CA','CANCELED') THEN 'CANCELLED' WHEN {s} IN ('OOM') THEN 'OUT_OF_MEMORY' WHEN {s} = 'NF' THEN 'NODE_FAIL'
  ELSE coalesce({s}, 'UNKNOWN') END"""


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
                f"""CASE "{cols["state"]}" WHEN 1 THEN 'COMPLETED' WHEN 0 THEN 'FAILED' WHEN 5 THEN 'CANCELLED' ELSE 'UNKNOWN' END"""
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
        f'CAST(NULL AS VARCHAR) AS node_type, {t} AS submit, {t} AS start, {t} + CAST(duration AS DOUBLE) / 1000.0 AS "end", '
        f"CAST(1 AS BIGINT) AS nodes, {cores} AS cores, {gpus} AS gpus, CAST(NULL AS DOUBLE) AS time_limit, "
        f"'UNKNOWN' AS state, CAST(NULL AS VARCHAR) AS exit_code, CAST(NULL AS VARCHAR) AS nodelist, "
        f"file_row_number AS _row FROM read_parquet('{_sql_str(path)}', file_row_number = true)"
    )


def _schedlab_frame(path: Path, report: CleaningReport):
    """``schedlab simulate --out DIR`` output (DIR or its jobs.parquet/jobs.csv).

    Simulated times are seconds from the first submit (placed at the Unix epoch); the simulator
    models no job outcomes, so state is UNKNOWN; ``size`` is nodes only when the run held whole
    nodes (``capacity_unit = nodes`` in summary.json), else nodes are unknown.
    """
    import pandas as pd

    folder = path if path.is_dir() else path.parent
    f = next((p for p in (path / "jobs.parquet", path / "jobs.csv") if p.exists()), None) if path.is_dir() else path
    if f is None:
        raise JobFormatError(f"{path}: no jobs.parquet or jobs.csv (write one with `schedlab simulate --out {path}`)")
    df = pd.read_parquet(f) if f.suffix == ".parquet" else pd.read_csv(f)
    need = [c for c in ("job_id", "submit", "start", "end", "procs") if c not in df.columns]
    if need:
        raise JobFormatError(f"{f}: not a schedlab simulation table: missing {', '.join(need)}")
    unit = "procs"
    summ = folder / "summary.json"
    if summ.exists():
        try:
            cfg = json.loads(summ.read_text()).get("config", {})
            unit = cfg.get("capacity_unit", unit)
            report.notes.append(
                f"simulation: policy {cfg.get('policy')} + {cfg.get('backfill')} backfill "
                f"({cfg.get('preset')}), capacity unit {unit}"
            )
        except (OSError, ValueError):
            report.notes.append(f"{summ}: unreadable, capacity unit assumed procs")
    report.read = len(df)
    report.notes.append(
        "simulated times count from the first submit (shown as 1970-01-01 00:00 UTC); "
        "the simulator models no job outcomes (state UNKNOWN)"
    )
    n = len(df)
    return pd.DataFrame(
        {
            "job_id": df["job_id"].astype("string"),
            "user": df["user"].astype("string") if "user" in df else pd.Series([pd.NA] * n, dtype="string"),
            "partition": pd.Series([pd.NA] * n, dtype="string"),
            "node_type": pd.Series([pd.NA] * n, dtype="string"),
            "submit": df["submit"].astype(float),
            "start": df["start"].astype(float),
            "end": df["end"].astype(float),
            "nodes": (df["size"] if unit == "nodes" and "size" in df else pd.Series([pd.NA] * n)).astype("Int64"),
            "cores": df["procs"].astype("Int64"),
            "gpus": 0,
            "time_limit": df["req_time"].astype(float) if "req_time" in df else np.nan,
            "state": "UNKNOWN",
            "exit_code": pd.Series([pd.NA] * n, dtype="string"),
            "nodelist": pd.Series([pd.NA] * n, dtype="string"),
        }
    )


def _sql_str(path) -> str:
    return str(path).replace("'", "''")


def detect_format(path: Path) -> str:
    """Guess the format from the name and the first bytes / Parquet schema."""
    path = Path(path)
    if path.is_dir():
        if (path / "jobs.parquet").exists() or (path / "jobs.csv").exists():
            return "schedlab"
        if (path / "tasks.parquet").exists():
            return "opendc"
        raise JobFormatError(f"{path}: a folder without jobs.parquet (schedlab) or tasks.parquet (OpenDC)")
    name = path.name.lower()
    if name.endswith((".swf", ".swf.gz")):
        return "swf"
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        cols = set(pq.read_schema(path).names)
        if {"submission_time", "duration", "id"} <= cols:
            return "opendc"
        if {"bsld", "procs", "start", "end", "job_id"} <= cols:
            return "schedlab"
        return "parquet"
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:2] == b"\x1f\x8b":
        return "swf"
    first = head.decode("utf-8", errors="replace").splitlines()[0] if head else ""
    if "|" in first:
        return "sacct"
    if first.lstrip().startswith(";"):
        return "swf"
    low = first.lower()
    if "bsld" in low and "procs" in low:
        return "schedlab"
    if "," in first:
        return "csv"
    raise JobFormatError(f"{path}: cannot tell the format (give --format sacct|csv|parquet|swf|opendc|schedlab)")


# --------------------------------------------------------------------------------------------
# Counted cleaning (SQL, so it also runs lazily over Parquet)
# --------------------------------------------------------------------------------------------
def _clean(con, staged: str, name: str, report: CleaningReport, materialize: bool = True) -> None:
    """Create view ``name`` from relation ``staged`` applying the documented rules, counting each.

    Drop rules run in order (a job is counted under the first that removes it): no id or submit
    time; end before start (negative runtime); started but no end (still running); duplicate id
    (the earliest submit is kept).  Rewrites: start before submit -> wait 0; nodes missing -> 1;
    unknown state -> UNKNOWN.  Jobs that never started stay (state counts) without runtime/wait.

    ``staged`` has a unique row number ``_row``.  Only the rows dropped as duplicates are stored
    (a temp table of their ``_row``, usually empty); with ``materialize=False`` the cleaned table
    is a view over ``staged`` (a Parquet scan), so nothing of size O(table) is held in memory and
    each statistic re-scans the file; with ``materialize=True`` it is a DuckDB temp table (columnar,
    spilled to the temp directory past the memory limit), which makes the statistics faster.
    """
    states = ", ".join(f"'{s}'" for s in STATES)
    con.execute(f"""CREATE OR REPLACE TEMP VIEW {name}_flag0 AS
        SELECT *, CASE
          WHEN job_id IS NULL OR submit IS NULL OR isnan(submit) THEN 'with no job id or submit time'
          WHEN start IS NOT NULL AND NOT isnan(start) AND "end" IS NOT NULL AND "end" < start
               THEN 'with end before start (negative runtime)'
          WHEN start IS NOT NULL AND NOT isnan(start) AND ("end" IS NULL OR isnan("end"))
               THEN 'still running (start but no end time)'
          ELSE NULL END AS _drop
        FROM {staged}""")
    # duplicates: a (spillable) hash aggregate finds the repeated ids, a window over those rows
    # alone picks the ones to drop; only their row numbers are kept
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {name}_dups AS
      WITH d AS (SELECT job_id FROM {name}_flag0 WHERE _drop IS NULL GROUP BY job_id HAVING count(*) > 1),
           r AS (SELECT _row, row_number() OVER (PARTITION BY job_id ORDER BY submit, start NULLS LAST, _row) AS rn
                 FROM {name}_flag0 WHERE _drop IS NULL AND job_id IN (SELECT job_id FROM d))
      SELECT _row FROM r WHERE rn > 1""")
    n_dups = int(con.sql(f"SELECT count(*) FROM {name}_dups").fetchone()[0])
    if n_dups:
        con.execute(f"""CREATE OR REPLACE TEMP VIEW {name}_flag AS
          SELECT f.*, CASE WHEN _drop IS NOT NULL THEN _drop WHEN d._row IS NOT NULL
                           THEN 'duplicate job id (first kept)' ELSE NULL END AS _why
          FROM {name}_flag0 f LEFT JOIN {name}_dups d ON f._row = d._row""")
    else:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name}_flag AS SELECT *, _drop AS _why FROM {name}_flag0")
    c = con.sql(f"""SELECT count(*),
        count(*) FILTER (WHERE _why IS NULL AND start IS NOT NULL AND NOT isnan(start) AND start < submit),
        count(*) FILTER (WHERE _why IS NULL AND (start IS NULL OR isnan(start))),
        count(*) FILTER (WHERE _why IS NULL AND (nodes IS NULL OR nodes < 1)),
        count(*) FILTER (WHERE _why IS NULL AND state NOT IN ({states})),
        count(*) FILTER (WHERE _why IS NULL)
      FROM {name}_flag""").fetchone()
    total, neg_wait, never, no_nodes, odd_state, kept = (int(v or 0) for v in c)
    if not report.read:
        report.read = total
    for why, n in con.sql(
        f"SELECT _why, count(*) FROM {name}_flag WHERE _why IS NOT NULL GROUP BY 1 ORDER BY 1"
    ).fetchall():
        report.drop(why, int(n))
    report.change("started before submit -> wait 0 (submit := start)", neg_wait)
    report.change("never started (no start time): kept for state counts, left out of runtime/wait/energy", never)
    report.change("nodes missing or < 1 -> 1", no_nodes)
    report.change("unrecognised state -> UNKNOWN", odd_state)
    kind = "TABLE" if materialize else "VIEW"
    con.execute(f"""CREATE OR REPLACE TEMP {kind} {name} AS
      WITH k AS (SELECT *, start IS NULL OR isnan(start) AS _ns FROM {name}_flag WHERE _why IS NULL)
      SELECT job_id, "user", partition, node_type,
             CASE WHEN NOT _ns AND start < submit THEN start ELSE submit END AS submit,
             CASE WHEN _ns THEN NULL ELSE start END AS start,
             CASE WHEN _ns THEN NULL ELSE "end" END AS "end",
             CASE WHEN nodes IS NULL OR nodes < 1 THEN 1 ELSE nodes END AS nodes,
             cores, coalesce(gpus, 0) AS gpus, time_limit,
             CASE WHEN state IN ({states}) THEN state ELSE 'UNKNOWN' END AS state,
             exit_code, nodelist,
             CASE WHEN _ns THEN NULL ELSE start - least(start, submit) END AS wait,
             CASE WHEN _ns THEN NULL ELSE "end" - start END AS run
      FROM k""")
    report.kept = kept
    if kept == 0:
        raise JobFormatError(f"{report.source}: no jobs left to analyse ({report.summary()})")


def _check_hostlists(con, view: str, path: str, report: CleaningReport, lenient: bool) -> None:
    """Parse every distinct node list once; bad ones raise (or, lenient, are cleared and counted)."""
    vals = [r[0] for r in con.sql(f"SELECT DISTINCT nodelist FROM {view} WHERE nodelist IS NOT NULL").fetchall()]
    bad = []
    for v in vals:
        try:
            expand_hostlist(v)
        except HostlistError as exc:
            if not lenient:
                row = con.execute(f"SELECT job_id FROM {view} WHERE nodelist = ? LIMIT 1", [v]).fetchone()[0]
                raise HostlistError(
                    f"{path}: job {row}: {exc} (use --lenient to clear such node lists and count them)"
                ) from None
            bad.append(v)
    if bad:
        n = con.execute(f"SELECT count(*) FROM {view} WHERE list_contains(?, nodelist)", [bad]).fetchone()[0]
        report.change("unparseable node list cleared (job kept; no per-node energy)", int(n))
        bad_sql = "[" + ", ".join("'" + b.replace("'", "''") + "'" for b in bad) + "]"
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view}_h AS SELECT * REPLACE "
            f"(CASE WHEN list_contains({bad_sql}, nodelist) THEN NULL ELSE nodelist END AS nodelist) FROM {view}"
        )
    return bad


def read_jobs(
    path: str | Path,
    format: str = "auto",
    timezone: str = "UTC",
    lenient: bool = False,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
    materialize: bool = True,
) -> JobTable:
    """Read a job table (see the module docstring for the schema) and clean it, counting each rule.

    ``format``: auto (from name and content), sacct (``sacct --parsable2``), csv, parquet, swf,
    opendc (``tasks.parquet``), schedlab (a ``schedlab simulate --out`` folder or its jobs table).
    ``timezone``: the zone of naive time stamps.  ``lenient``: clear unparseable node lists
    (counted) instead of raising :class:`HostlistError`.

    Memory: a Parquet (or OpenDC) file is never loaded into pandas; DuckDB scans it and keeps the
    cleaned table as a columnar temp table that it spills to ``temp_directory`` once its buffers
    reach ``memory_limit`` (e.g. ``"40MB"``; default DuckDB's, 80 % of RAM), so tables larger than
    memory work, only slower.  ``materialize=False`` keeps even that table out: the cleaned table
    is a view over the Parquet scan (slower statistics, each re-reads the file).  ``threads``: DuckDB
    threads (default 2; 1 under a memory limit below 128 MB).  Text formats (sacct, CSV, SWF,
    schedlab) are parsed with pandas.
    """
    path = Path(path)
    if not path.exists():  # a bundled trace name, as --trace takes elsewhere
        from schedlab.workload.bundled import BUNDLED, resolve_trace

        try:
            path = resolve_trace(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"job file not found: {path} (nor a bundled trace: {', '.join(BUNDLED)})") from None
    if format not in FORMATS:
        raise JobFormatError(f"unknown format {format!r}; choose from {', '.join(FORMATS)}")
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "opendc" and path.is_dir():
        path = path / "tasks.parquet"
    report = CleaningReport(source=str(path))
    con = _connect(memory_limit, temp_directory, threads)
    sql = None
    frame = None
    try:
        if fmt == "sacct":
            frame = read_sacct(path, timezone, report)
        elif fmt == "csv":
            frame = read_csv_jobs(path, timezone, report)
        elif fmt == "swf":
            frame = read_swf_jobs(path, report)
        elif fmt == "schedlab":
            frame = _schedlab_frame(path, report)
        elif fmt == "opendc":
            sql = _opendc_sql(con, path, timezone, report)
        elif fmt == "parquet":
            sql = _parquet_sql(con, path, timezone, report)
            if sql is None:
                import pandas as pd

                report.notes.append("text time columns in Parquet: parsed with pandas (whole file loaded)")
                df = pd.read_parquet(path)
                report.read = len(df)
                frame = _frame_from_columns(df, str(path), timezone, report)
    except JobFormatError:
        raise
    except Exception as exc:
        if type(exc).__module__.startswith(("duckdb", "_duckdb", "pyarrow")):
            raise JobFormatError(f"{path}: cannot read as {fmt}: {exc}") from None
        raise
    if frame is not None:
        frame = frame.copy()
        for c, t in _SQL_TYPES.items():
            if t == "VARCHAR":
                frame[c] = frame[c].astype("string").astype(object).where(frame[c].notna(), None)
            elif t == "DOUBLE":
                frame[c] = frame[c].astype(float)
            else:
                frame[c] = frame[c].astype("Int64")
        frame["_row"] = np.arange(len(frame), dtype=np.int64)
        con.register("jobs_src", frame)
        cast = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in _SQL_TYPES.items())
        con.execute(f"CREATE TEMP VIEW jobs_raw AS SELECT {cast}, _row FROM jobs_src")
    else:
        try:
            con.execute(f"CREATE TEMP VIEW jobs_raw AS {sql}")
        except Exception as exc:
            raise JobFormatError(f"{path}: cannot read as {fmt}: {exc}") from None
    lazy = frame is None and not materialize
    _clean(con, "jobs_raw", "jobs", report, materialize=not lazy)
    view = "jobs"
    if _check_hostlists(con, "jobs", str(path), report, lenient):
        view = "jobs_h"
    waits_known = fmt not in ("opendc",) and not any("start taken = submit" in n for n in report.notes)
    states_known = bool(con.sql(f"SELECT count(*) FILTER (WHERE state <> 'UNKNOWN') FROM {view}").fetchone()[0])
    return JobTable(
        con,
        view,
        str(path),
        fmt,
        report,
        waits_known=waits_known,
        states_known=states_known,
        timezone=timezone,
        meta={"format": fmt},
    )
