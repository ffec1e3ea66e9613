"""Standard Workload Format (SWF) reader.

Reads the 18 whitespace-separated SWF fields (plain or ``.gz``), keeps every field in a
float64 matrix (``RawTrace.fields``) and the ``; Key: value`` header comments.  Interpreting
those fields (what "procs" and "requested time" mean, which jobs to drop) is the job of the
cleaning rules in :mod:`schedlab.workload.cleaning`, so that different peers' loading rules can
be applied to the same parsed file.

The file is untrusted: a value is either read exactly or refused, never cast.  A data line is
refused (:class:`TraceFormatError` naming file, line and field; with ``lenient=True`` skipped and
counted as malformed) when it

* has fewer than 18 fields, or a field that is not a plain ASCII decimal number (``inf``, ``nan``,
  ``0x10``, ``1_000`` and non-ASCII digits such as ``١٢`` are not numbers here) or is not UTF-8;
* has a field of magnitude 2^53 or more (``1e30``, ``1e400``: beyond the integers a float64 holds
  exactly, so ids would wrap when cast to int64);
* has a fractional value in a whole-number field (ids, processor counts, status, user, group,
  executable, queue, partition, preceding job: ``2.5`` processors is not a job);
* asks for more than :data:`MAX_PROCS` processors (fields 5 and 8) or has a negative job number.

Whatever the mode, the reader refuses a line longer than :data:`MAX_LINE_BYTES` (``/dev/zero``,
binary files), more than :data:`MAX_READ_BYTES` in all, and corrupt or truncated gzip.  A UTF-8
byte-order mark before the first line is skipped.  Comment lines that are not UTF-8 are decoded
with replacement characters (they hold no value schedlab uses; numeric headers are checked by
:meth:`RawTrace.header_int`).

Reference: https://www.cs.huji.ac.il/labs/parallel/workload/swf.html
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schedlab.errors import DataNotFound, SchedlabError, TraceFormatError

#: SWF field names, in file order (1-based field numbers in the SWF spec).
SWF_FIELDS: tuple[str, ...] = (
    "job_id",  # 1
    "submit",  # 2  seconds
    "wait",  # 3  seconds (as logged)
    "run",  # 4  seconds (actual runtime)
    "alloc_procs",  # 5
    "avg_cpu",  # 6
    "used_mem",  # 7
    "req_procs",  # 8
    "req_time",  # 9  seconds (user estimate / walltime)
    "req_mem",  # 10
    "status",  # 11
    "user",  # 12
    "group",  # 13
    "executable",  # 14
    "queue",  # 15
    "partition",  # 16
    "prev_job",  # 17
    "think_time",  # 18
)
N_FIELDS = len(SWF_FIELDS)
COL = {name: i for i, name in enumerate(SWF_FIELDS)}

#: a line longer than this (bytes) is refused: SWF lines are ~100 bytes; this stops /dev/zero
MAX_LINE_BYTES = 1 << 20
#: the most bytes (after decompression) read from one file
MAX_READ_BYTES = 16 << 30
#: every field's magnitude must be below this: the integers a float64 holds exactly (no id wraps)
MAX_FIELD = float(2**53)
#: the largest processor (or node) count accepted, for jobs and for the MaxProcs/MaxNodes headers
MAX_PROCS = 10**8
#: the latest UnixStartTime accepted (year 5138)
MAX_UNIX_TIME = 10**11
#: fields that hold whole numbers (ids, counts, codes); a fraction there is refused, not truncated
INT_FIELDS: tuple[int, ...] = tuple(
    COL[c]
    for c in (
        "job_id",
        "alloc_procs",
        "req_procs",
        "status",
        "user",
        "group",
        "executable",
        "queue",
        "partition",
        "prev_job",
    )
)
PROC_FIELDS: tuple[int, ...] = (COL["alloc_procs"], COL["req_procs"])

_HEADER_RE = re.compile(r"^;\s*([A-Za-z][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$")
#: a plain decimal number, ASCII only (Python's float() also takes inf, nan, 1_000 and ١٢)
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_NUMBER_BYTES = b"0123456789+-.eE \t\r\n\x0b\x0c"
_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 16


def iter_lines(
    path: Path, error: type[SchedlabError] = TraceFormatError, what: str = "trace"
) -> Iterator[tuple[int, bytes]]:
    """``(line number, raw bytes)`` of a plain or gzip file, bounded: a line over
    :data:`MAX_LINE_BYTES`, more than :data:`MAX_READ_BYTES` in all, an unreadable file or corrupt
    or truncated gzip raise ``error`` naming the file (and the line).  A leading UTF-8 BOM is dropped."""
    lineno = 0
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            total = 0
            while True:
                line = fh.readline(MAX_LINE_BYTES + 1)
                if not line:
                    return
                lineno += 1
                total += len(line)
                if len(line) > MAX_LINE_BYTES:
                    raise error(
                        f"{path}:{lineno}: line longer than {MAX_LINE_BYTES // 2**20} MiB; not a {what} (binary data?)"
                    )
                if total > MAX_READ_BYTES:
                    raise error(f"{path}: more than {MAX_READ_BYTES // 2**30} GiB of text; not a {what} schedlab reads")
                if lineno == 1 and line.startswith(_BOM):
                    line = line[len(_BOM) :]
                yield lineno, line
    except (OSError, EOFError, zlib.error) as exc:
        where = f"{path}:{lineno + 1}" if lineno else str(path)
        raise error(f"{where}: cannot read {what} ({exc})") from None


def parse_number(token: str, lo: float = -MAX_FIELD, hi: float = MAX_FIELD, whole: bool = False) -> float | str:
    """``token`` as a float, or a string saying why it is refused (not a plain ASCII decimal
    number, not finite or outside ``[lo, hi]``, or, with ``whole``, not a whole number)."""
    if not NUMBER_RE.fullmatch(token):
        return "is not a number"
    x = float(token)
    if x > hi:  # also inf (1e400)
        return f"is out of range (at most {hi:,.0f})"
    if x < lo:
        return f"is out of range (at least {lo:,.0f})"
    if whole and x != int(x):
        return "is not a whole number"
    return x


@dataclass
class RawTrace:
    """An SWF file as parsed, before any cleaning rule.

    ``fields`` has one row per data line and the 18 SWF columns; ``line_numbers`` gives the
    1-based line of each row in the file; ``header`` maps header keys to their text values
    (``header_lines`` to their line numbers).
    """

    source: str
    fields: np.ndarray
    line_numbers: np.ndarray
    header: dict[str, str]
    malformed_skipped: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    extra_field_lines: int = 0
    header_lines: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.fields.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.fields[:, COL[name]]

    def header_int(self, key: str, limit: float = MAX_FIELD) -> int | None:
        """Integer header value (e.g. ``MaxProcs``), or None if absent, empty or <= 0 (SWF's -1:
        unknown).  A value that is not a whole ASCII decimal number up to ``limit`` (``nan``,
        ``1e400``, ``15.5``, ``١٢``) raises :class:`TraceFormatError` naming the file and line."""
        for k, v in self.header.items():
            if k.lower() == key.lower():
                token = v.split()[0] if v.split() else ""
                if not token:
                    return None
                x = parse_number(token, -MAX_FIELD, limit, whole=True)
                if isinstance(x, str):
                    raise TraceFormatError(
                        f"{self.source}:{self.header_lines.get(k, '?')}: header {k}: {token[:40]!r} {x}"
                    )
                return int(x) if x > 0 else None
        return None

    def machine(self) -> tuple[int | None, int | None]:
        """``(MaxProcs, MaxNodes)`` headers (None when absent), each at most :data:`MAX_PROCS`;
        MaxNodes above MaxProcs (a node without a processor) raises :class:`TraceFormatError`."""
        procs = self.header_int("MaxProcs", MAX_PROCS)
        nodes = self.header_int("MaxNodes", MAX_PROCS)
        if procs is not None and nodes is not None and nodes > procs:
            raise TraceFormatError(
                f"{self.source}: header MaxNodes ({nodes:,}) is above MaxProcs ({procs:,}); "
                "every node has at least one processor"
            )
        return procs, nodes

    def unix_start(self) -> int | None:
        """The UnixStartTime header (None when absent or <= 0), at most :data:`MAX_UNIX_TIME`."""
        return self.header_int("UnixStartTime", MAX_UNIX_TIME)


class _Parser:
    """Line-by-line SWF parsing into float64 chunks; bad lines raise or (lenient) are counted."""

    def __init__(self, path: Path, lenient: bool) -> None:
        self.path, self.lenient = path, lenient
        self.header: dict[str, str] = {}
        self.header_lines: dict[str, int] = {}
        self.rows: list[list[bytes]] = []
        self.lines: list[int] = []
        self.chunks: list[np.ndarray] = []
        self.chunk_lines: list[np.ndarray] = []
        self.skipped = 0
        self.examples: list[str] = []
        self.extra = 0

    def bad(self, lineno: int, msg: str) -> None:
        text = f"{self.path}:{lineno}: {msg}"
        if not self.lenient:
            self.flush()  # an earlier line's bad number is reported first
            raise TraceFormatError(text + " (use --lenient to skip and count malformed lines)")
        self.skipped += 1
        if len(self.examples) < 5:
            self.examples.append(text)

    def feed(self, lineno: int, line: bytes) -> None:
        s = line.strip()
        if not s:
            return
        if s[:1] == b";":
            m = _HEADER_RE.match(s.decode("utf-8", errors="replace"))
            if m and m.group(1) not in self.header:
                self.header[m.group(1)] = m.group(2)
                self.header_lines[m.group(1)] = lineno
            return
        if s.translate(None, _NUMBER_BYTES):  # a byte that is in no SWF number: find the field
            try:
                text = s.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad(lineno, f"not UTF-8 text (byte 0x{s[exc.start]:02x} at column {exc.start + 1})")
                return
            parts = text.split()
            if len(parts) >= N_FIELDS:
                i = next((i for i, p in enumerate(parts[:N_FIELDS]) if not NUMBER_RE.fullmatch(p)), None)
                if i is not None:
                    self.bad(lineno, f"field {i + 1} ({SWF_FIELDS[i]}) is not a number: {parts[i][:40]!r}")
                    return
            parts = [p.encode() for p in parts]
        else:
            parts = s.split()
        if len(parts) < N_FIELDS:
            self.bad(lineno, f"expected {N_FIELDS} fields, found {len(parts)}")
            return
        if len(parts) > N_FIELDS:
            self.extra += 1
            parts = parts[:N_FIELDS]
        self.rows.append(parts)
        self.lines.append(lineno)
        if len(self.rows) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        """Convert the pending rows to floats and check every value (see the module docstring)."""
        if not self.rows:
            return
        rows, lines = self.rows, np.asarray(self.lines, dtype=np.int64)
        self.rows, self.lines = [], []
        try:
            f = np.array(rows, dtype=np.float64)
        except ValueError:  # a token of number characters that is no number ("1e", "--")
            ok = np.ones(len(rows), dtype=bool)
            for k, parts in enumerate(rows):
                i = next((i for i, p in enumerate(parts) if not NUMBER_RE.fullmatch(p.decode())), None)
                if i is not None:
                    ok[k] = False
                    self.bad(
                        int(lines[k]), f"field {i + 1} ({SWF_FIELDS[i]}) is not a number: {parts[i].decode()[:40]!r}"
                    )
            f = np.array([r for r, good in zip(rows, ok, strict=True) if good], dtype=np.float64).reshape(-1, N_FIELDS)
            lines = lines[ok]
        keep = self._check_values(f, lines)
        self.chunks.append(f[keep])
        self.chunk_lines.append(lines[keep])

    def _check_values(self, f: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """Rows whose values are all in range (bad ones reported through :meth:`bad`)."""
        with np.errstate(invalid="ignore"):
            out_of_range = ~(np.abs(f) < MAX_FIELD)
            ints = f[:, INT_FIELDS]
            fraction = np.zeros_like(out_of_range)
            fraction[:, INT_FIELDS] = ~out_of_range[:, INT_FIELDS] & (ints != np.floor(ints))
            too_many = np.zeros_like(out_of_range)
            too_many[:, PROC_FIELDS] = f[:, PROC_FIELDS] > MAX_PROCS
            too_many[:, 0] = f[:, 0] < 0  # a negative job number
        bad = out_of_range | fraction | too_many
        rows = np.flatnonzero(bad.any(axis=1))
        for k in rows:
            i = int(np.flatnonzero(bad[k])[0])
            name = f"field {i + 1} ({SWF_FIELDS[i]})"
            if out_of_range[k, i]:
                self.bad(int(lines[k]), f"{name} is out of range: {f[k, i]:g} (its magnitude must be below 2^53)")
            elif fraction[k, i]:
                self.bad(int(lines[k]), f"{name} is not a whole number: {f[k, i]:g}")
            elif i == 0:
                self.bad(int(lines[k]), f"{name} is negative: {f[k, i]:g}")
            else:
                self.bad(int(lines[k]), f"{name} is out of range: {f[k, i]:g} processors (at most {MAX_PROCS:,})")
        keep = np.ones(len(f), dtype=bool)
        keep[rows] = False
        return keep

    def result(self) -> RawTrace:
        self.flush()
        fields = np.concatenate(self.chunks) if self.chunks else np.empty((0, N_FIELDS), dtype=np.float64)
        lines = np.concatenate(self.chunk_lines) if self.chunk_lines else np.empty(0, dtype=np.int64)
        return RawTrace(
            source=str(self.path),
            fields=fields.reshape(-1, N_FIELDS),
            line_numbers=lines,
            header=self.header,
            malformed_skipped=self.skipped,
            malformed_examples=self.examples,
            extra_field_lines=self.extra,
            header_lines=self.header_lines,
        )


def read_swf(path: str | Path, lenient: bool = False) -> RawTrace:
    """Parse an SWF file (plain or gzip).

    Lines with fewer than 18 fields or a field that is not a number, is out of range or is a
    fraction where a whole number belongs (see the module docstring) raise
    :class:`TraceFormatError` naming the file, line and field; with ``lenient=True`` they are
    skipped and counted in ``RawTrace.malformed_skipped`` instead.  Fields after the 18th are
    accepted and ignored (counted in ``extra_field_lines``).  Over-long lines and unreadable or
    corrupt files raise in either mode.
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFound(f"trace file not found: {path}")
    parser = _Parser(path, lenient)
    for lineno, line in iter_lines(path):
        parser.feed(lineno, line)
    return parser.result()
