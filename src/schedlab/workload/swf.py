"""Standard Workload Format (SWF) reader.

Reads the 18 whitespace-separated SWF fields (plain or ``.gz``), keeps every field in a
float64 matrix (``RawTrace.fields``) and the ``; Key: value`` header comments.  Interpreting
those fields (what "procs" and "requested time" mean, which jobs to drop) is the job of the
cleaning rules in :mod:`schedlab.workload.cleaning`, so that different peers' loading rules can
be applied to the same parsed file.

Reference: https://www.cs.huji.ac.il/labs/parallel/workload/swf.html
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from schedlab.errors import DataNotFound, TraceFormatError

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

_HEADER_RE = re.compile(r"^;\s*([A-Za-z][A-Za-z0-9_]*)\s*:\s*(.*?)\s*$")


@dataclass
class RawTrace:
    """An SWF file as parsed, before any cleaning rule.

    ``fields`` has one row per data line and the 18 SWF columns; ``line_numbers`` gives the
    1-based line of each row in the file; ``header`` maps header keys to their text values.
    """

    source: str
    fields: np.ndarray
    line_numbers: np.ndarray
    header: dict[str, str]
    malformed_skipped: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    extra_field_lines: int = 0

    def __len__(self) -> int:
        return int(self.fields.shape[0])

    def column(self, name: str) -> np.ndarray:
        return self.fields[:, COL[name]]

    def header_int(self, key: str) -> int | None:
        """Integer header value (e.g. ``MaxProcs``), or None if absent or not a positive number."""
        for k, v in self.header.items():
            if k.lower() == key.lower():
                try:
                    value = int(float(v.split()[0]))
                except (ValueError, IndexError):
                    return None
                return value if value > 0 else None
        return None


def _open_text(path: Path):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _locate_bad_field(parts: list[str]) -> int | None:
    for i, p in enumerate(parts[:N_FIELDS]):
        try:
            float(p)
        except ValueError:
            return i
    return None


def read_swf(path: str | Path, lenient: bool = False) -> RawTrace:
    """Parse an SWF file (plain or gzip).

    Lines with fewer than 18 fields or a non-numeric field raise :class:`TraceFormatError`
    naming the file, line and field; with ``lenient=True`` they are skipped and counted in
    ``RawTrace.malformed_skipped`` instead.  Fields after the 18th are accepted and ignored
    (counted in ``extra_field_lines``).
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFound(f"trace file not found: {path}")
    header: dict[str, str] = {}
    rows: list[list[str]] = []
    lines: list[int] = []
    skipped = 0
    examples: list[str] = []
    extra = 0

    def bad(lineno: int, msg: str) -> None:
        nonlocal skipped
        text = f"{path}:{lineno}: {msg}"
        if not lenient:
            raise TraceFormatError(text + " (use --lenient to skip and count malformed lines)")
        skipped += 1
        if len(examples) < 5:
            examples.append(text)

    try:
        with _open_text(path) as fh:
            for lineno, line in enumerate(fh, start=1):
                s = line.strip()
                if not s:
                    continue
                if s[0] == ";":
                    m = _HEADER_RE.match(s)
                    if m and m.group(1) not in header:
                        header[m.group(1)] = m.group(2)
                    continue
                parts = s.split()
                if len(parts) < N_FIELDS:
                    bad(lineno, f"expected {N_FIELDS} fields, found {len(parts)}")
                    continue
                if len(parts) > N_FIELDS:
                    extra += 1
                    parts = parts[:N_FIELDS]
                rows.append(parts)
                lines.append(lineno)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise TraceFormatError(f"{path}: cannot read trace ({exc})") from exc

    line_numbers = np.asarray(lines, dtype=np.int64)
    if not rows:
        fields = np.empty((0, N_FIELDS), dtype=np.float64)
    else:
        try:
            fields = np.array(rows, dtype=np.float64)
        except ValueError:
            # Slow path: find the offending lines, report or drop them.
            good_rows, good_lines = [], []
            for parts, lineno in zip(rows, lines, strict=False):
                i = _locate_bad_field(parts)
                if i is None:
                    good_rows.append(parts)
                    good_lines.append(lineno)
                else:
                    bad(lineno, f"field {i + 1} ({SWF_FIELDS[i]}) is not a number: {parts[i]!r}")
            fields = np.array(good_rows, dtype=np.float64).reshape(-1, N_FIELDS)
            line_numbers = np.asarray(good_lines, dtype=np.int64)
        finite = np.isfinite(fields).all(axis=1)
        if not finite.all():
            for idx in np.flatnonzero(~finite):
                col = int(np.flatnonzero(~np.isfinite(fields[idx]))[0])
                bad(int(line_numbers[idx]), f"field {col + 1} ({SWF_FIELDS[col]}) is not finite")
            fields = fields[finite]
            line_numbers = line_numbers[finite]
    return RawTrace(
        source=str(path),
        fields=fields,
        line_numbers=line_numbers,
        header=header,
        malformed_skipped=skipped,
        malformed_examples=examples,
        extra_field_lines=extra,
    )
