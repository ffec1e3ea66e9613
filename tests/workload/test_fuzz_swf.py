"""Property-based fuzzing of the SWF reader and the cleaning rules (issue 17).

Valid SWF files are generated and then mutated (random or hostile tokens, huge, negative,
fractional, inf/nan and non-ASCII numbers, missing fields, a BOM, bad header values, binary
garbage, corrupt gzip).  Every case either raises a :class:`SchedlabError` whose single-line
message names the file, or succeeds with a workload whose values are finite, in range and equal
to the input after the documented cleaning rules, with every line accounted for.  Any other
exception fails the test.

Bounded: derandomized (reproducible in CI), a fixed number of examples.  ``scripts/fuzz_long.py``
runs the same strategies (:func:`swf_cases`, :func:`check_swf_case`) for minutes.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schedlab.errors import SchedlabError
from schedlab.workload import RULE_SETS, clean, read_swf

HOSTILE_TOKENS = (
    "inf",
    "-inf",
    "nan",
    "NaN",
    "1e400",
    "-1e400",
    "1e30",
    "99999999999999999999",
    "9007199254740993",
    "-9223372036854775809",
    "0.5",
    "2.5",
    "-0.5",
    "-1",
    "-7",
    "0",
    "١٢",
    "１",
    "٣.٥",
    "1_000",
    "0x10",
    "1e",
    "--1",
    ".",
    "+",
    "",
    "\x00",
    "\ufeff1",
    "\u00a0",
    "1,5",
    "abc",
    "200000000",
)
BAD_HEADER_VALUES = ("1e400", "inf", "nan", "-1", "0", "15.5", "١٢", "1000000000000", "", "abc", "64", "1e3", "-5")


@dataclass
class SwfCase:
    data: bytes
    name: str  # file name (.swf or .swf.gz)
    rows: list[list[str]]  # the valid rows before mutation (for the equality check)
    mutated: bool
    lenient: bool
    rules: str


def _row(job: int, draw) -> list[str]:
    """One valid SWF row (18 fields), mostly whole numbers, some -1 (unknown)."""
    i = st.integers
    vals = [
        job,
        draw(i(0, 10**6)),
        draw(st.sampled_from([-1, 0, draw(i(0, 10**4))])),
        draw(st.sampled_from([-1, 0, draw(i(1, 10**5))])),
        draw(st.sampled_from([-1, draw(i(1, 64))])),
        -1,
        -1,
        draw(st.sampled_from([-1, 0, draw(i(1, 64))])),
        draw(st.sampled_from([-1, draw(i(1, 10**5))])),
        -1,
        draw(st.sampled_from([0, 1, 5])),
        draw(i(-1, 20)),
        1,
        -1,
        draw(i(-1, 3)),
        draw(i(-1, 3)),
        -1,
        -1,
    ]
    return [str(v) for v in vals]


@st.composite
def swf_cases(draw) -> SwfCase:
    n = draw(st.integers(1, 8))
    ids = draw(st.lists(st.integers(1, 10**6), min_size=n, max_size=n, unique=True))
    rows = [_row(j, draw) for j in ids]
    header = []
    if draw(st.booleans()):
        procs = draw(st.integers(64, 4096))
        header += [f"; MaxProcs: {procs}", f"; MaxNodes: {draw(st.integers(1, procs))}"]
    if draw(st.booleans()):
        header.append(f"; UnixStartTime: {draw(st.integers(0, 2 * 10**9))}")
    lines = header + [" ".join(r) for r in rows]
    mutated = False
    for _ in range(draw(st.integers(0, 3))):
        mutated = True
        lines = _mutate_lines(draw, lines)
    data = "\n".join(lines).encode() + b"\n"
    if draw(st.integers(0, 9)) == 0:
        mutated = True
        data = _mutate_bytes(draw, data)
    name = "trace.swf"
    if draw(st.integers(0, 4)) == 0:
        name = "trace.swf.gz"
        data = gzip.compress(data, mtime=0)
        if draw(st.booleans()):
            mutated = True
            data = _corrupt_gzip(draw, data)
    return SwfCase(data, name, rows, mutated, draw(st.booleans()), draw(st.sampled_from(RULE_SETS)))


def _mutate_lines(draw, lines: list[str]) -> list[str]:
    lines = list(lines)
    k = draw(st.integers(0, max(len(lines) - 1, 0)))
    kind = draw(st.integers(0, 6))
    target = lines[k].split() if lines else []
    if kind == 0 and target and not lines[k].startswith(";"):  # a hostile or random token in a field
        tok = draw(st.one_of(st.sampled_from(HOSTILE_TOKENS), st.text(min_size=0, max_size=6)))
        target[draw(st.integers(0, len(target) - 1))] = tok
        lines[k] = " ".join(target)
    elif kind == 1 and target:  # missing fields
        lines[k] = " ".join(target[: draw(st.integers(0, len(target) - 1))])
    elif kind == 2:  # a header line with a bad value
        key = draw(st.sampled_from(["MaxProcs", "MaxNodes", "UnixStartTime", "maxprocs"]))
        lines.insert(0, f"; {key}: {draw(st.sampled_from(BAD_HEADER_VALUES))}")
    elif kind == 3:  # extra trailing fields
        lines[k] = lines[k] + " " + draw(st.sampled_from(["0.5", "x", "1 2", "١"]))
    elif kind == 4:  # a duplicate line (duplicate id)
        lines.insert(k, lines[k])
    elif kind == 5:  # random text line
        lines.insert(k, draw(st.text(max_size=40)).replace("\n", " "))
    else:  # a BOM in front of the file
        lines[0] = "\ufeff" + lines[0] if lines else "\ufeff"
    return lines


def _mutate_bytes(draw, data: bytes) -> bytes:
    garbage = draw(st.binary(min_size=1, max_size=64))
    at = draw(st.integers(0, len(data)))
    if draw(st.booleans()):
        return data[:at] + garbage + data[at:]
    return data[:at] + b"\xff\xfe" + data[at:]


def _corrupt_gzip(draw, data: bytes) -> bytes:
    if draw(st.booleans()):
        return data[: draw(st.integers(2, max(len(data) - 1, 2)))]  # truncated
    at = draw(st.integers(10, max(len(data) - 1, 10)))
    flip = draw(st.binary(min_size=1, max_size=8))
    return data[:at] + flip + data[at + len(flip) :]


def _data_lines(data: bytes) -> int | None:
    """Non-empty, non-comment lines in the (uncompressed) file, or None when it cannot be told."""
    try:
        text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError, Exception):
        return None
    text = text.removeprefix("\ufeff")
    return sum(
        1 for ln in text.split("\n") if ln.strip(" \t\r\x0b\x0c") and not ln.lstrip(" \t\r\x0b\x0c").startswith(";")
    )


def check_swf_case(case: SwfCase, folder: Path) -> str:
    """Run one case; return its outcome ("ok" or the error class name).  Asserts the contract."""
    path = folder / case.name
    path.write_bytes(case.data)
    try:
        raw = read_swf(path, lenient=case.lenient)
        wl = clean(raw, rules=case.rules)
    except SchedlabError as exc:
        msg = str(exc)
        assert str(path) in msg, msg
        assert "\n" not in msg, msg
        return type(exc).__name__
    _check_workload(case, raw, wl)
    return "ok"


def _check_workload(case: SwfCase, raw, wl) -> None:
    rep = wl.cleaning
    n_lines = _data_lines(case.data)
    if n_lines is not None and not (b"\x00" in case.data or b"\r" in case.data):
        assert rep.read == n_lines, (rep.read, n_lines)
    assert rep.read == len(raw) + raw.malformed_skipped
    assert rep.kept == len(wl) and rep.kept + sum(rep.dropped.values()) == len(raw)
    if not case.lenient:
        assert raw.malformed_skipped == 0
    for name in ("submit", "run", "req_time", "raw_submit"):
        assert np.isfinite(getattr(wl, name)).all(), name
    assert wl.job_id.dtype == np.int64 and (wl.job_id >= 0).all()
    assert wl.procs.dtype == np.int64 and (wl.procs >= 1).all()
    assert 1 <= wl.max_nodes <= wl.max_procs <= 10**8
    assert (wl.run > 0).all()
    dups = len(wl.job_id) - len(np.unique(wl.job_id))
    assert rep.changed.get("duplicate job id (job kept; ids not unique)", 0) == dups
    if case.rules == "textbook":
        assert (wl.req_time > 0).all() and (wl.submit >= 0).all() and (np.diff(wl.submit) >= 0).all()
        assert (wl.procs <= wl.max_procs).all()
        if not case.mutated:
            _check_textbook_values(case.rows, wl)


def _check_textbook_values(rows: list[list[str]], wl) -> None:
    """Unmutated input: every kept job equals its row after the textbook rules."""
    by_id = {int(r[0]): [float(v) for v in r] for r in rows}
    first = min(by_id[int(j)][1] for j in wl.job_id)
    for k, j in enumerate(wl.job_id):
        f = by_id[int(j)]
        procs = f[7] if f[7] > 0 else f[4]
        assert wl.procs[k] == procs and wl.run[k] == f[3] and wl.raw_submit[k] == f[1]
        assert wl.req_time[k] == (f[8] if f[8] > 0 else f[3]) and wl.submit[k] == f[1] - first
    kept_ids = set(wl.job_id.tolist())
    for j, f in by_id.items():  # a job dropped only by a documented rule
        if j not in kept_ids:
            procs = f[7] if f[7] > 0 else f[4]
            assert procs <= 0 or f[3] <= 0 or f[1] < 0 or procs > wl.max_procs, f


FUZZ = settings(
    max_examples=400,
    deadline=5000,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(swf_cases())
def test_fuzz_swf_reader_refuses_or_reads_exactly(case):
    with tempfile.TemporaryDirectory() as d:
        check_swf_case(case, Path(d))
