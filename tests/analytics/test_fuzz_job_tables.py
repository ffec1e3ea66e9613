"""Property-based fuzzing of the job-table readers behind ``schedlab analyze`` (issue 17), and
targeted regression tests for each known fault class.

Valid job tables are generated as sacct ``--parsable2`` text, CSV and Parquet and then mutated
(hostile numbers and time strings, changed column types, dropped columns, duplicate rows, a BOM,
bytes that are not UTF-8, over-long lines).  Every case either raises a :class:`SchedlabError`
whose single-line message names the file, or gives a cleaned table whose values are finite and
in range, whose counts add up (jobs kept + counted drops == jobs read), and which, for unmutated
input, equals the input.  Any other exception fails the test.

Derandomized and bounded; ``scripts/fuzz_long.py`` runs the same strategies for minutes.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from schedlab.analytics.jobs import STATES, read_jobs
from schedlab.errors import HostlistError, SchedlabError
from tests.workload.test_fuzz_swf import swf_cases

BASE = 1_700_000_000  # 2023-11-14 22:13:20 UTC
SACCT_COLS = ["JobID", "User", "Partition", "Submit", "Start", "End", "NNodes", "AllocCPUS", "Timelimit", "State"]
SACCT_COLS += ["ExitCode", "NodeList", "AllocTRES"]
CSV_COLS = ["job_id", "user", "partition", "submit", "start", "end", "nodes", "cores", "gpus", "time_limit", "state"]

HOSTILE_NUMBERS = (
    "inf",
    "-inf",
    "nan",
    "1e400",
    "1e30",
    "99999999999999999999",
    "2.5",
    "0.5",
    "-3",
    "-1",
    "0",
    "١٢",
    "１",
    "1_000",
    "0x10",
    "",
    "abc",
    "200000000",
    "9" * 400,
)
HOSTILE_TIMES = (
    "UNLIMITED",
    "Partition_Limit",
    "1-00:00:00",
    "INVALID",
    "Unknown",
    "None",
    "1-",
    "-",
    "::",
    "1:2:3:4",
    "99999999999999999999-00:00:00",
    "1e308:00",
    "١٢:٠٠",
    "2024-02-30T00:00:00",
    "99999-01-01T00:00:00",
    "1969-12-31T23:59:59",
    "2024-03-01T10:00:00+01:00",
    "2024-03-01T10:00:00Z",
    "0001-01-01",
    "x" * 300,
)


@dataclass
class JobCase:
    fmt: str  # sacct | csv | parquet | swf
    data: bytes
    jobs: list[dict]  # the valid jobs before mutation
    mutated: bool
    lenient: bool = False
    notes: list[str] = field(default_factory=list)


def _iso(t: float) -> str:
    return pd.Timestamp(int(t), unit="s").strftime("%Y-%m-%dT%H:%M:%S")


def _dur(s: int) -> str:
    d, r = divmod(s, 86400)
    return (f"{d}-" if d else "") + f"{r // 3600:02d}:{r % 3600 // 60:02d}:{r % 60:02d}"


@st.composite
def _jobs(draw) -> list[dict]:
    n = draw(st.integers(1, 6))
    ids = draw(st.lists(st.integers(1, 10**7), min_size=n, max_size=n, unique=True))
    jobs = []
    for j in ids:
        submit = BASE + draw(st.integers(0, 10**6))
        start = submit + draw(st.integers(0, 10**4))
        jobs.append(
            {
                "job_id": str(j),
                "user": draw(st.sampled_from(["alice", "bob", "u1"])),
                "partition": draw(st.sampled_from(["cpu", "gpu"])),
                "submit": submit,
                "start": start,
                "end": start + draw(st.integers(0, 10**5)),
                "nodes": draw(st.integers(1, 64)),
                "cores": draw(st.integers(1, 4096)),
                "gpus": draw(st.integers(0, 8)),
                "time_limit": draw(st.integers(1, 10**6)),
                "state": draw(st.sampled_from(["COMPLETED", "FAILED", "TIMEOUT", "CANCELLED by 12", "OOM"])),
                "nodelist": draw(st.sampled_from(["n[1-2]", "gpu01", "None assigned"])),
            }
        )
    return jobs


def _sacct_rows(jobs: list[dict]) -> list[list[str]]:
    rows = []
    for j in jobs:
        tres = f"cpu={j['cores']},node={j['nodes']}" + (f",gres/gpu={j['gpus']}" if j["gpus"] else "")
        rows.append(
            [
                j["job_id"],
                j["user"],
                j["partition"],
                _iso(j["submit"]),
                _iso(j["start"]),
                _iso(j["end"]),
                str(j["nodes"]),
                str(j["cores"]),
                _dur(j["time_limit"]),
                j["state"],
                "0:0",
                j["nodelist"],
                tres,
            ]
        )
    return rows


def _csv_rows(jobs: list[dict]) -> list[list[str]]:
    return [[str(j[c]) for c in CSV_COLS] for j in jobs]


def _mutate_cells(draw, header: list[str], rows: list[list[str]], times_text: bool) -> tuple[list, list]:
    header, rows = list(header), [list(r) for r in rows]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.integers(0, 5))
        r = draw(st.integers(0, len(rows) - 1))
        c = draw(st.integers(0, len(header) - 1))
        if kind <= 2:  # a hostile value in a cell
            pool = HOSTILE_TIMES if (times_text and kind == 2) else HOSTILE_NUMBERS
            rows[r][c] = draw(st.one_of(st.sampled_from(pool), st.sampled_from(HOSTILE_TIMES), st.text(max_size=8)))
        elif kind == 3:  # a duplicate job
            rows.insert(r, list(rows[r]))
        elif kind == 4 and len(header) > 2:  # a column dropped
            del header[c]
            for row in rows:
                del row[c]
        else:  # a job step line (sacct) or a stray row
            rows.append([rows[r][0] + ".batch", *rows[r][1:]])
    return header, rows


def _encode(draw, text: str) -> bytes:
    data = text.encode("utf-8")
    k = draw(st.integers(0, 12))
    if k == 0:
        data = b"\xef\xbb\xbf" + data
    elif k == 1:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
    elif k == 2:
        data = gzip.compress(data, mtime=0)[: draw(st.integers(2, 40))]
    return data


@st.composite
def sacct_cases(draw) -> JobCase:
    jobs = draw(_jobs())
    header, rows = SACCT_COLS, _sacct_rows(jobs)
    mutated = draw(st.integers(0, 3)) > 0
    if mutated:
        header, rows = _mutate_cells(draw, header, rows, times_text=True)
    text = "\n".join("|".join(r).replace("\n", " ") for r in [header, *rows]) + "\n"
    data = _encode(draw, text) if mutated else text.encode()
    return JobCase("sacct", data, jobs, mutated, lenient=draw(st.booleans()))


@st.composite
def csv_cases(draw) -> JobCase:
    jobs = draw(_jobs())
    header, rows = CSV_COLS, _csv_rows(jobs)
    mutated = draw(st.integers(0, 3)) > 0
    if mutated:
        header, rows = _mutate_cells(draw, header, rows, times_text=draw(st.booleans()))

    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\n\r') else v

    text = "\n".join(",".join(cell(v) for v in r) for r in [header, *rows]) + "\n"
    data = _encode(draw, text) if mutated else text.encode()
    return JobCase("csv", data, jobs, mutated, lenient=draw(st.booleans()))


PARQUET_BAD_VALUES = {
    "float": [np.inf, -np.inf, np.nan, 1e30, 2.5, -3.0, 1e300, -1.0],
    "int": [2**62, -(2**62), -1, 0, 10**12],
    "str": ["inf", "2.5", "١٢", "UNLIMITED", "1-00:00:00", "", "x" * 100, "2024-01-01T00:00:00"],
}


@st.composite
def parquet_cases(draw) -> JobCase:
    jobs = draw(_jobs())
    df = pd.DataFrame({c: [j[c] for j in jobs] for c in CSV_COLS})
    df["time_limit"] = df["time_limit"].astype(np.int64)
    if draw(st.booleans()):
        for c in ("submit", "start", "end"):
            df[c] = pd.to_datetime(df[c], unit="s")
    mutated = draw(st.integers(0, 3)) > 0
    if mutated:
        orig = df.copy()
        for _ in range(draw(st.integers(1, 3))):
            c = draw(st.sampled_from(CSV_COLS[3:10]))
            kind = draw(st.sampled_from(sorted(PARQUET_BAD_VALUES)))
            col = orig[c].astype(object) if kind == "str" else orig[c]
            if kind == "str":
                col = col.map(str)
            elif kind == "float" or pd.api.types.is_datetime64_any_dtype(col):
                col = (col.astype("int64") // 10**9 if pd.api.types.is_datetime64_any_dtype(col) else col).astype(float)
            else:
                col = col.astype(np.int64)
            r = draw(st.integers(0, len(df) - 1))
            col = col.copy()
            col.iloc[r] = draw(st.sampled_from(PARQUET_BAD_VALUES[kind]))
            df[c] = col
        if draw(st.integers(0, 4)) == 0:
            df = pd.concat([df, df.iloc[:1]], ignore_index=True)
    import io

    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    data = buf.getvalue()
    if mutated and draw(st.integers(0, 8)) == 0:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at + 16 :]
    return JobCase("parquet", data, jobs, mutated)


def check_job_case(case: JobCase, folder: Path) -> str:
    """Run one case through :func:`read_jobs`; return "ok" or the error class name.  Asserts the contract."""
    path = folder / ("jobs." + {"sacct": "txt", "csv": "csv", "parquet": "parquet", "swf": "swf"}[case.fmt])
    path.write_bytes(case.data)
    try:
        table = read_jobs(path, format=case.fmt, lenient=case.lenient)
        df = table.df()
    except SchedlabError as exc:
        msg = str(exc)
        assert str(path) in msg, msg
        assert "\n" not in msg, msg
        return type(exc).__name__
    _check_table(case, table, df)
    return "ok"


def _check_table(case: JobCase, table, df: pd.DataFrame) -> None:
    rep = table.cleaning
    assert rep.kept == len(df) and rep.kept + sum(rep.dropped.values()) + rep.malformed_skipped == rep.read
    assert df["job_id"].notna().all() and df["job_id"].is_unique
    assert np.isfinite(df["submit"].to_numpy(dtype=float)).all()
    for c in ("start", "end", "wait", "run", "time_limit"):
        x = df[c].to_numpy(dtype=float, na_value=np.nan)
        x = x[~np.isnan(x)]
        assert np.isfinite(x).all() and (x >= 0).all(), c
    assert (df["nodes"] >= 1).all() and (df["nodes"] <= 10**8).all()
    cores = df["cores"].dropna()
    assert (cores >= 0).all() and (cores <= 10**8).all() and (cores == cores.round()).all()
    assert (df["gpus"] >= 0).all() and (df["gpus"] <= 10**8).all()
    assert set(df["state"]) <= set(STATES)
    if not case.mutated:
        _check_values(case, df)


def _check_values(case: JobCase, df: pd.DataFrame) -> None:
    """Unmutated input: the table is the input."""
    want = pd.DataFrame(case.jobs).set_index("job_id").sort_index()
    got = df.set_index("job_id").sort_index()
    assert list(got.index) == list(want.index)
    for c in ("submit", "start", "end", "nodes", "cores", "time_limit"):
        assert got[c].astype(float).tolist() == want[c].astype(float).tolist(), c
    if case.fmt != "sacct" or want["gpus"].any():
        assert got["gpus"].tolist() == want["gpus"].tolist()


FUZZ = dict(
    deadline=5000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(max_examples=100, **FUZZ)
@given(sacct_cases())
def test_fuzz_sacct_text(case):
    with tempfile.TemporaryDirectory() as d:
        check_job_case(case, Path(d))


@settings(max_examples=100, **FUZZ)
@given(csv_cases())
def test_fuzz_csv(case):
    with tempfile.TemporaryDirectory() as d:
        check_job_case(case, Path(d))


@settings(max_examples=60, **FUZZ)
@given(parquet_cases())
def test_fuzz_parquet(case):
    with tempfile.TemporaryDirectory() as d:
        check_job_case(case, Path(d))


@settings(max_examples=60, **FUZZ)
@given(swf_cases())
def test_fuzz_swf_as_job_table(case):
    """The SWF cases of the trace fuzzer, read leniently by ``schedlab analyze``."""
    with tempfile.TemporaryDirectory() as d:
        check_job_case(JobCase("swf", case.data, [], mutated=True), Path(d))


# -- targeted regressions, one per fault class ---------------------------------------------------
SH = "JobID|User|Partition|Submit|Start|End|NNodes|AllocCPUS|Timelimit|State|ExitCode|NodeList\n"


def sacct_line(jid="1", nn="1", cpu="4", tl="01:00:00", sub="2024-01-01T00:00:00", nl="n[1-2]"):
    return f"{jid}|u|p|{sub}|2024-01-01T00:01:00|2024-01-01T01:00:00|{nn}|{cpu}|{tl}|COMPLETED|0:0|{nl}\n"


def _refused(path, match, **kw):
    with pytest.raises(SchedlabError) as e:
        read_jobs(path, **kw)
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg and match in msg, msg
    return msg


@pytest.mark.parametrize("value", ["1e400", "inf", "nan", "1e30", "99999999999999999999", "2.5", "0.5", "١", "x"])
@pytest.mark.parametrize("column", ["NNodes", "AllocCPUS"])
def test_sacct_counts_that_are_not_whole_numbers_are_refused(tmp_path, value, column):
    p = tmp_path / "s.txt"
    kw = {"nn": value} if column == "NNodes" else {"cpu": value}
    p.write_text(SH + sacct_line() + sacct_line("2", **kw))
    _refused(p, f"column {column!r}, line 3:")


@pytest.mark.parametrize(
    ("tl", "seconds"),
    [
        ("UNLIMITED", None),
        ("Partition_Limit", None),
        ("INVALID", None),
        ("1-00:00:00", 86400),
        ("1-02", 93600),
        ("1-02:30", 95400),
        ("90", 5400),
        ("05:30", 330),
        ("00:00:01.5", 1.5),
    ],
)
def test_slurm_time_strings(tmp_path, tl, seconds):
    p = tmp_path / "s.txt"
    p.write_text(SH + sacct_line(tl=tl))
    got = read_jobs(p).df()["time_limit"].iloc[0]
    assert (pd.isna(got) and seconds is None) or got == seconds


@pytest.mark.parametrize("tl", ["inf", "1e400", "1e308:00", "-5", "1-", "::", "1:2:3:4", "١٢", "9" * 400, "1" * 100])
def test_bad_slurm_time_strings_are_refused_naming_the_line(tmp_path, tl):
    p = tmp_path / "s.txt"
    p.write_text(SH + sacct_line() + sacct_line("2", tl=tl))
    _refused(p, "column 'Timelimit', line 3")


@pytest.mark.parametrize("fmt", ["sacct", "csv"])
def test_text_tables_not_utf8_bom_and_endless_lines(tmp_path, fmt):
    csv = ("job_id,submit,start,end,nodes\n", "1,1700000000,1700000010,1700000100,2\n")
    head, good = (SH, sacct_line()) if fmt == "sacct" else csv
    kw = {"format": fmt}
    p = tmp_path / f"t.{fmt}"
    p.write_bytes(b"\xef\xbb\xbf" + (head + good).encode())
    assert len(read_jobs(p, **kw)) == 1  # the BOM does not eat the first column name
    p.write_bytes((head + good).encode() + b"2\xff" + good[1:].encode())
    _refused(p, ":3: not UTF-8", **kw)
    p.write_bytes((head + good).encode() + b"x" * (2 << 20) + b"\n")
    _refused(p, ":3: line longer than 1 MiB", **kw)


@pytest.mark.parametrize("value", ["inf", "1e400", "1e30", "99999999999999999999"])
def test_csv_numeric_times_beyond_range_are_refused(tmp_path, value):
    p = tmp_path / "j.csv"
    p.write_text(f"job_id,submit,start,end\n1,1700000000,1700000010,1700000100\n2,{value},1700000010,1700000100\n")
    _refused(p, "column 'submit', line 3")


def test_negative_times_and_limits_and_counts_are_counted_rules(tmp_path):
    p = tmp_path / "j.csv"
    p.write_text(
        "job_id,submit,start,end,nodes,cores,gpus,time_limit\n"
        "1,1700000000,1700000010,1700000100,2,8,1,3600\n"
        "2,-1,1700000010,1700000100,2,8,1,3600\n"
        "3,1700000000,-1,-1,-3,-1,-2,-1\n"
    )
    t = read_jobs(p)
    rep = t.cleaning
    assert rep.changed["submit: negative time (before 1970) -> missing"] == 1
    assert rep.changed["start: negative time (before 1970) -> missing"] == 1
    assert rep.changed["end: negative time (before 1970) -> missing"] == 1
    assert rep.changed["time_limit < 0 -> unknown (NULL)"] == 1
    assert rep.dropped["with no job id or submit time"] == 1
    assert rep.changed["nodes missing or < 1 -> 1"] == 1
    assert rep.changed["cores < 0 -> unknown (NULL)"] == 1 and rep.changed["gpus < 0 -> 0"] == 1
    df = t.df().set_index("job_id")
    assert df.loc["3", "nodes"] == 1 and pd.isna(df.loc["3", "cores"]) and df.loc["3", "gpus"] == 0


def test_duplicate_job_ids_are_dropped_and_counted(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text(SH + sacct_line() + sacct_line())
    assert read_jobs(p).cleaning.dropped == {"duplicate job id (first kept)": 1}


@pytest.mark.parametrize("data", [b"not a parquet file", b"PAR1" + b"\x00" * 50, b""])
def test_corrupt_parquet_is_a_job_format_error(tmp_path, data):
    p = tmp_path / "j.parquet"
    p.write_bytes(data)
    for fmt in ("auto", "parquet", "opendc"):
        _refused(p, "", format=fmt)


@pytest.mark.parametrize(
    ("column", "value", "match"),
    [
        ("cores", np.inf, "column 'cores', row 2"),
        ("cores", 2.5, "column 'cores', row 2"),
        ("nodes", 1e30, "column 'nodes', row 2"),
        ("submit", np.inf, "column 'submit', row 2"),
        ("submit", 1e30, "column 'submit', row 2"),
        ("time_limit", np.inf, "column 'time_limit', row 2"),
    ],
)
def test_parquet_values_duckdb_would_cast_or_choke_on_are_refused(tmp_path, column, value, match):
    df = pd.DataFrame(
        {
            "job_id": [1, 2],
            "submit": [1.7e9, 1.7e9],
            "start": [1.7e9 + 10, 1.7e9 + 10],
            "end": [1.7e9 + 100, 1.7e9 + 100],
            "nodes": [1.0, 2.0],
            "cores": [4.0, 8.0],
            "time_limit": [100.0, 100.0],
        }
    )
    df.loc[1, column] = value
    p = tmp_path / "j.parquet"
    df.to_parquet(p)
    _refused(p, match)
    for materialize in (True, False):
        df.loc[1, column] = df.loc[0, column]
        df.to_parquet(p)
        assert len(read_jobs(p, materialize=materialize)) == 2


def test_hostlists_stay_capped_before_expansion(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text(SH + sacct_line(nl="n[0-999999]x[0-999999]"))
    with pytest.raises(HostlistError, match="at most"):
        read_jobs(p)
    assert read_jobs(p, lenient=True).cleaning.changed["unparseable node list cleared (job kept; no per-node energy)"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bad.parquet", b"not a parquet file"),
        ("s.txt", (SH + sacct_line(cpu="1e400")).encode()),
        ("j.csv", b"job_id,submit,start,end,nodes\n1,1700000000,1700000010,1700000100,inf\n"),
        ("t.swf", b"; MaxProcs: 1e400\n1 0 -1 10 4 -1 -1 4 100 -1 1 1 1 -1 1 -1 -1 -1\n"),
    ],
)
def test_cli_analyze_prints_one_error_line_and_exits_2(tmp_path, name, data):
    from schedlab.cli import app

    p = tmp_path / name
    p.write_bytes(data)
    r = CliRunner().invoke(app, ["analyze", "--jobs", str(p)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "error:" in r.output


def test_swf_job_tables_skip_and_count_refused_lines(tmp_path):
    p = tmp_path / "t.swf"
    line = "{} 0 -1 10 {} -1 -1 {} 100 -1 1 1 1 -1 1 -1 -1 -1\n"
    p.write_text(
        "; MaxProcs: 16\n; MaxNodes: 8\n" + line.format(1, 4, 4) + line.format("1e30", 4, 4) + line.format(3, 2.5, 2.5)
    )
    rep = read_jobs(p).cleaning
    assert rep.read == 3 and rep.malformed_skipped == 2 and rep.kept == 1
