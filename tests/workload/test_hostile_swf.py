"""Hostile SWF files (issue 17): each known fault class is refused with a one-line
:class:`SchedlabError` naming the file and the line, or handled by a counted cleaning rule.
Never a traceback, a hang, or a value silently cast."""

from __future__ import annotations

import gzip
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from schedlab.errors import SchedlabError, TraceFormatError
from schedlab.workload import RULE_SETS, clean, load_trace, read_swf
from schedlab.workload.cleaning import DUPLICATE_ID_RULE
from schedlab.workload.swf import MAX_LINE_BYTES

HEADER = "; Version: 2.2\n; MaxNodes: 8\n; MaxProcs: 16\n; UnixStartTime: 1000\n"
N_HEADER = HEADER.count("\n")


def line(job=1, submit=0, run=10, procs=4, req_procs=None, req_time=100, user=1, status=1):
    req_procs = procs if req_procs is None else req_procs
    return f"{job} {submit} -1 {run} {procs} -1 -1 {req_procs} {req_time} -1 {status} {user} 1 -1 1 -1 -1 -1\n"


GOOD = line(1, 0, 10, 4) + line(2, 5, 20, 2)


def write(tmp_path, data: bytes | str, name="t.swf"):
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def refused(path, match: str, lenient: bool = False) -> str:
    """The message of the SchedlabError that reading and cleaning ``path`` raises; it names the file."""
    with pytest.raises(SchedlabError) as e:
        clean(read_swf(path, lenient=lenient))
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg, msg
    assert match in msg, msg
    return msg


# -- corrupt files -------------------------------------------------------------------------------
def test_corrupt_gzip_is_a_trace_error_not_zlib_error(tmp_path):
    gz = gzip.compress((HEADER + GOOD * 200).encode())
    bad = gz[:12] + b"\xff" * 40 + gz[52:]
    refused(write(tmp_path, bad, "c.swf.gz"), "cannot read trace")


def test_truncated_gzip_names_the_file(tmp_path):
    gz = gzip.compress((HEADER + GOOD).encode())
    refused(write(tmp_path, gz[: len(gz) // 2], "t.swf.gz"), "cannot read trace")
    refused(write(tmp_path, b"\x1f\x8b" + b"garbage" * 10, "g.swf.gz"), "cannot read trace")


def test_bytes_that_are_not_utf8_are_refused_naming_the_line(tmp_path):
    p = write(tmp_path, (HEADER + GOOD).encode() + b"3 \xff\xfe 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n")
    msg = refused(p, "not UTF-8")
    assert f":{N_HEADER + 3}:" in msg
    raw = read_swf(p, lenient=True)
    assert len(raw) == 2 and raw.malformed_skipped == 1


def test_non_utf8_comment_lines_do_not_stop_a_trace(tmp_path):
    p = write(tmp_path, b"; Installation: Z\xfcrich\n" + (HEADER + GOOD).encode())
    assert len(read_swf(p)) == 2


@pytest.mark.parametrize("body", [HEADER + GOOD, GOOD])
def test_utf8_bom_does_not_eat_the_first_line(tmp_path, body):
    raw = read_swf(write(tmp_path, b"\xef\xbb\xbf" + body.encode()))
    assert len(raw) == 2
    if body.startswith(";"):
        assert raw.header_int("MaxNodes") == 8 and "Version" in raw.header


def test_binary_garbage_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    refused(write(tmp_path, rng.integers(0, 256, 5000, dtype=np.uint8).tobytes()), "swf:")


# -- unbounded input -----------------------------------------------------------------------------
def test_an_endless_line_is_refused_after_one_mebibyte(tmp_path):
    p = write(tmp_path, HEADER + GOOD + "1" * (3 * MAX_LINE_BYTES) + "\n")
    for lenient in (False, True):
        msg = refused(p, "longer than 1 MiB", lenient=lenient)
        assert f":{N_HEADER + 3}:" in msg


def test_dev_zero_is_refused_quickly():
    from pathlib import Path

    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    t0 = time.perf_counter()
    with pytest.raises(TraceFormatError, match="/dev/zero:1: line longer than 1 MiB"):
        read_swf("/dev/zero", lenient=True)
    assert time.perf_counter() - t0 < 5


# -- header values -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("1e400", "out of range"),
        ("inf", "not a number"),
        ("nan", "not a number"),
        ("15.5", "not a whole number"),
        ("١٢٨", "not a number"),
        ("1000000000", "out of range"),  # 10^9 processors: no such machine
        ("0x80", "not a number"),
    ],
)
def test_bad_machine_size_headers_are_refused_naming_the_line(tmp_path, value, match):
    p = write(tmp_path, f"; MaxProcs: {value}\n; MaxNodes: 8\n" + GOOD)
    msg = refused(p, match)
    assert ":1: header MaxProcs" in msg


def test_unix_start_time_overflow_is_refused(tmp_path):
    refused(write(tmp_path, HEADER.replace("1000", "1e400") + GOOD), ":4: header UnixStartTime")


def test_more_nodes_than_processors_is_refused(tmp_path):
    refused(write(tmp_path, "; MaxProcs: 16\n; MaxNodes: 64\n" + GOOD), "MaxNodes (64) is above MaxProcs (16)")


def test_unknown_machine_size_minus_one_stays_a_missing_header(tmp_path):
    wl = clean(read_swf(write(tmp_path, "; MaxProcs: -1\n; MaxNodes: 8\n" + GOOD)))
    assert wl.max_procs == 8 and any("MaxProcs header missing" in n for n in wl.cleaning.notes)


# -- job fields ----------------------------------------------------------------------------------
BAD_FIELDS = [
    # (field given as (job, submit, run, procs), expected message part)
    (dict(run="inf"), "field 4 (run) is not a number: 'inf'"),
    (dict(run="nan"), "field 4 (run) is not a number: 'nan'"),
    (dict(submit="1e400"), "field 2 (submit) is out of range"),
    (dict(procs="1e30"), "field 5 (alloc_procs) is out of range"),
    (dict(procs="99999999999999999999"), "field 5 (alloc_procs) is out of range"),
    (dict(procs="200000000"), "field 5 (alloc_procs) is out of range: 2e+08 processors"),
    (dict(job="1e30"), "field 1 (job_id) is out of range"),
    (dict(job="-7"), "field 1 (job_id) is negative"),
    (dict(procs="0.5"), "field 5 (alloc_procs) is not a whole number: 0.5"),
    (dict(procs="2.5"), "field 5 (alloc_procs) is not a whole number: 2.5"),
    (dict(user="3.5"), "field 12 (user) is not a whole number"),
    (dict(job="١٢"), "field 1 (job_id) is not a number: '١٢'"),
    (dict(job="１"), "field 1 (job_id) is not a number"),
    (dict(job="1_000"), "field 1 (job_id) is not a number: '1_000'"),
    (dict(job="0x10"), "field 1 (job_id) is not a number: '0x10'"),
    (dict(run="1e"), "field 4 (run) is not a number: '1e'"),
    (dict(status="1e300"), "field 11 (status) is out of range"),
]


@pytest.mark.parametrize(("fields", "match"), BAD_FIELDS)
def test_bad_job_fields_are_refused_naming_file_line_and_field(tmp_path, fields, match):
    p = write(tmp_path, HEADER + GOOD + line(**{"job": 3, "submit": 7, **fields}))
    msg = refused(p, match)
    assert f"{p}:{N_HEADER + 3}:" in msg
    raw = read_swf(p, lenient=True)  # lenient: skipped and counted, the rest kept as they are
    assert len(raw) == 2 and raw.malformed_skipped == 1 and match in raw.malformed_examples[0]
    wl = clean(raw)
    assert wl.cleaning.read == 3 and wl.cleaning.malformed_skipped == 1 and wl.job_id.tolist() == [1, 2]


def test_big_ids_within_range_are_exact_int64(tmp_path):
    big = 2**53 - 1
    wl = clean(read_swf(write(tmp_path, HEADER + line(big, 0) + line(2, 5))))
    assert sorted(wl.job_id.tolist()) == [2, big]


def test_negative_submit_is_dropped_and_counted(tmp_path):
    wl = clean(read_swf(write(tmp_path, HEADER + GOOD + line(3, -5))))
    assert wl.cleaning.dropped == {"with no submit time": 1} and len(wl) == 2


def test_duplicate_ids_are_kept_and_counted_in_every_rule_set(tmp_path):
    p = write(tmp_path, HEADER + GOOD + line(2, 7) + line(2, 9))
    for rules in RULE_SETS:
        wl = clean(read_swf(p), rules=rules)
        assert len(wl) == 4 and wl.cleaning.changed[DUPLICATE_ID_RULE] == 2, rules
    assert DUPLICATE_ID_RULE in clean(read_swf(p)).cleaning.summary()


def test_values_are_read_exactly(tmp_path):
    wl = clean(read_swf(write(tmp_path, HEADER + line(5, 100, 7, 3, req_time=50) + line(9, 90, 1, 16, req_time=2))))
    assert wl.job_id.tolist() == [9, 5] and wl.procs.tolist() == [16, 3] and wl.procs.dtype == np.int64
    assert wl.run.tolist() == [1.0, 7.0] and wl.req_time.tolist() == [2.0, 50.0] and wl.submit.tolist() == [0, 10]


# -- the command line ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        b"; MaxProcs: 1e400\n" + GOOD.encode(),
        gzip.compress((HEADER + GOOD * 300).encode())[:-40],
        (HEADER + line(job="1e30")).encode(),
        (HEADER + line(procs="2.5")).encode(),
    ],
)
def test_cli_simulate_prints_one_error_line_and_exits_2(tmp_path, data):
    from schedlab.cli import app

    name = "t.swf.gz" if data[:2] == b"\x1f\x8b" else "t.swf"
    p = write(tmp_path, data, name)
    r = CliRunner().invoke(app, ["simulate", "--trace", str(p)])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "error:" in r.output


def test_load_trace_lenient_counts_every_skipped_line(tmp_path):
    body = HEADER + GOOD + line(job="nan") + "1 2 3\n" + line(3, 9, procs="0.5") + line(4, 12)
    wl = load_trace(write(tmp_path, body), lenient=True)
    rep = wl.cleaning
    assert rep.read == 6 and rep.malformed_skipped == 3 and rep.kept == 3
    assert rep.kept + sum(rep.dropped.values()) + rep.malformed_skipped == rep.read
