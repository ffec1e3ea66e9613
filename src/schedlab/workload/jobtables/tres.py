"""The multi-resource columns of a job table: account, qos, cpus, mem_per_node (MiB), gpu_type,
gpu_share and nice, from whatever the source has.

Slurm spells a request several ways; each column takes, per job, the first source that has it:

* ``cpus`` (total CPUs): a cpus column, the cores column (``NCPUS``/``AllocCPUS``), ``cpu=`` of
  ``AllocTRES``, ``ReqCPUS``, ``cpu=`` of ``ReqTRES``;
* ``mem_per_node`` (MiB per node): a mem_per_node column (numbers are MiB; Slurm sizes such as
  ``64G`` are per node, ``4000Mc`` per CPU), ``mem=`` of ``AllocTRES`` (the job's total, divided by
  its nodes), ``ReqMem`` (``4000Mn`` per node and ``4000Mc`` per CPU in Slurm before 21.08; without
  the suffix, Slurm 21.08 and later print the job's total, from ``ReqTRES``), ``mem=`` of ``ReqTRES``;
* ``gpu_type``: a gpu_type column, the type of ``gres/gpu:TYPE=`` in ``AllocTRES`` / ``ReqTRES``,
  the type of ``gpu:TYPE:N`` in ``AllocGRES`` / ``ReqGRES``;
* ``gpus`` without a GPU or TRES column: the count of ``gpu[:TYPE]:N`` in ``AllocGRES`` / ``ReqGRES``.

Sizes take Slurm's binary units (K, M, G, T, P; none: M).  A value that is not a number or a size,
a negative one or one out of range (more than :data:`MAX_MEM_MIB` MiB per node, more than
:data:`~.fields.MAX_COUNT` CPUs) raises :class:`JobFormatError` naming the file, column and line.
NULL is "not in the source".
"""

from __future__ import annotations

import re

import numpy as np

from schedlab.errors import JobFormatError
from schedlab.workload.cleaning_report import CleaningReport
from schedlab.workload.jobtables.fields import MAX_COUNT, _where, check_numbers, counts

#: the most memory per node accepted, MiB (10^9 MiB is about a petabyte)
MAX_MEM_MIB = 1e9
#: the largest nice magnitude accepted (Slurm allows up to 2^31 - 3; sites use a few thousand)
MAX_NICE = MAX_COUNT
#: the longest TRES or GRES text accepted
MAX_TRES_CHARS = 4096
_UNIT_MIB = {"": 1.0, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0**2, "P": 1024.0**3}
_SIZE = re.compile(r"([0-9]{1,15}(?:\.[0-9]{1,9})?)([KMGTP]?)([nc]?)", re.ASCII)
_NUMBER = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,9})?", re.ASCII)
_GRES_GPU = re.compile(r"(?:gres[:/])?gpu(?::([^:,()=\s]+))?(?::([0-9]{1,9}))?(?:\([^)]*\))?", re.ASCII)
_TRES_NAMES = {"alloc": ("alloctres", "tres"), "req": ("reqtres",)}
_GRES_NAMES = ("allocgres", "reqgres", "gres")
_TRES_EXAMPLE = "Slurm TRES/GRES such as cpu=4,mem=16G,gres/gpu:a100=2 or gpu:a100:2"


def parse_size(text: str) -> tuple[float, str]:
    """A Slurm memory size -> (MiB, scope): scope ``n`` per node, ``c`` per CPU, ``''`` as given.
    Raises ValueError for anything else (signs, ``inf``, non-ASCII digits, other units)."""
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        raise ValueError(text)
    return float(m.group(1)) * _UNIT_MIB[m.group(2)], m.group(3)


def parse_tres(text: str) -> dict[str, str]:
    """``cpu=64,mem=500G,node=2,gres/gpu:a100=8`` -> {name: value text}; empty for ''."""
    if len(text) > MAX_TRES_CHARS:
        raise ValueError(f"{len(text):,} characters")
    out: dict[str, str] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, eq, value = item.partition("=")
        if not eq or not name:
            raise ValueError(item)
        out.setdefault(name.strip(), value.strip())
    return out


def _tres_row(text: str) -> tuple[float, float, float, float, str]:
    """(cpu, mem MiB total, node, GPUs, GPU type) of one TRES string; NaN / '' where absent."""
    t = parse_tres(text)
    cpu = float(t["cpu"]) if "cpu" in t and _NUMBER.fullmatch(t["cpu"]) else np.nan
    if "cpu" in t and np.isnan(cpu):
        raise ValueError(f"cpu={t['cpu']}")
    node = float(t["node"]) if "node" in t and _NUMBER.fullmatch(t["node"]) else np.nan
    if "node" in t and np.isnan(node):
        raise ValueError(f"node={t['node']}")
    mem = parse_size(t["mem"])[0] if "mem" in t else np.nan
    gpus, gtype = np.nan, ""
    for k, v in t.items():
        if k == "gres/gpu" or k.startswith("gres/gpu:"):
            if not _NUMBER.fullmatch(v) or "." in v:
                raise ValueError(f"{k}={v}")
            gpus = float(v) if np.isnan(gpus) else gpus
            if not gtype and ":" in k:
                gtype = k.split(":", 1)[1]
    return cpu, mem, node, gpus, gtype


def _gres_row(text: str) -> tuple[float, str]:
    """(GPUs, GPU type) of a GRES string (``gpu:a100:4(IDX:0-3),mps:100``, ``gpu:2``); NaN / ''."""
    if len(text) > MAX_TRES_CHARS:
        raise ValueError(f"{len(text):,} characters")
    for item in re.split(r",(?![^(]*\))", text):
        item = item.strip()
        if not re.match(r"(?:gres[:/])?gpu(?:[:(]|$)", item):
            continue
        m = _GRES_GPU.fullmatch(item)
        if m is None:
            raise ValueError(item)
        kind, n = m.group(1) or "", m.group(2)
        if n is None and kind.isdigit():  # gpu:4
            kind, n = "", kind
        return float(n) if n is not None else 1.0, kind
    return np.nan, ""


def _per_value(values, parse, path: str, column: str, rows, width: int, expected: str = _TRES_EXAMPLE):
    """``parse`` applied once per distinct non-empty text; a ValueError names the first bad line."""
    import pandas as pd

    s = pd.Series(values).astype("string").fillna("").str.strip().reset_index(drop=True)
    empty = tuple([np.nan] * (width - 1) + [""]) if width > 1 else (np.nan,)
    table = {}
    for u in s.unique():
        if not u:
            table[u] = empty
            continue
        try:
            table[u] = parse(u)
        except ValueError as exc:
            i = int(np.flatnonzero((s == u).to_numpy())[0])
            raise JobFormatError(
                f"{path}: column {column!r}, {_where(rows, i)}: cannot read {str(exc)[:80]!r} "
                f"in {u[:80]!r} (expected {expected})"
            ) from None
    return [table[u] for u in s]


def _tres(df, which: str, path: str, rows):
    """Per-row tuples of :func:`_tres_row` of the alloc or req TRES column, or None without one."""
    col = next((c for c in df.columns if c.lower() in _TRES_NAMES[which]), None)
    if col is None:
        return None
    return _per_value(df[col].to_numpy(), _tres_row, path, col, rows, 5)


def _fill(target: np.ndarray, values: np.ndarray) -> None:
    """Fill NaN entries of ``target`` from ``values`` (in place)."""
    miss = np.isnan(target)
    target[miss] = values[miss]


def _numeric(df, col: str, path: str, rows, *, lo: float, hi: float, whole: bool = False) -> np.ndarray:
    """A column of plain numbers (text must be an ASCII decimal) as float64, range-checked."""
    import pandas as pd

    s = df[col].reset_index(drop=True)
    if pd.api.types.is_bool_dtype(s):
        raise JobFormatError(f"{path}: column {col!r} holds true/false values, not numbers")
    if pd.api.types.is_numeric_dtype(s):
        x = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        t = s.astype("string").str.strip()
        missing = t.isna() | (t == "")
        ok = missing | t.str.fullmatch(r"[+-]?[0-9]{1,18}(?:\.[0-9]{1,9})?").fillna(False).astype(bool)
        if not ok.all():
            i = int(np.flatnonzero(~ok.to_numpy())[0])
            raise JobFormatError(f"{path}: column {col!r}, {_where(rows, i)}: {str(t.iloc[i])[:40]!r} is not a number")
        x = pd.to_numeric(t.mask(missing), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    check_numbers(x, path, col, rows, lo=lo, hi=hi, whole=whole)
    return np.array(x, dtype=np.float64)  # a writable copy


def _resource_columns(out, df, cols: dict, path: str, report: CleaningReport, rows) -> None:
    """Add cpus, mem_per_node, gpu_type, gpu_share and nice to ``out`` (see the module docstring);
    ``out`` already holds nodes, cores and gpus."""
    import pandas as pd

    alloc = _tres(df, "alloc", path, rows)
    req = _tres(df, "req", path, rows)
    n = len(out)
    cpus = _cpus(out, df, cols, alloc, req, path, rows)
    out["cpus"] = cpus
    out["mem_per_node"] = _memory(out, df, cols, cpus, alloc, req, path, rows)
    gtype = pd.Series([pd.NA] * n, dtype="string")
    if cols["gpu_type"] is not None:
        v = df[cols["gpu_type"]].astype("string").str.strip().reset_index(drop=True)
        gtype = v.mask(v.isin(["", "None", "(null)"]))
    for parsed in (alloc, req):
        if parsed is not None:
            gtype = gtype.fillna(pd.Series([p[4] or pd.NA for p in parsed], dtype="string"))
    gres_col = next((c for c in df.columns if c.lower() in _GRES_NAMES), None)
    if gres_col is not None:
        gres = _per_value(df[gres_col].to_numpy(), _gres_row, path, gres_col, rows, 2)
        gtype = gtype.fillna(pd.Series([g[1] or pd.NA for g in gres], dtype="string"))
        if out["gpus"].isna().all():
            g = np.array([x[0] for x in gres], dtype=np.float64)
            check_numbers(g, path, gres_col, rows, lo=0, hi=MAX_COUNT)
            out["gpus"] = pd.Series(g).astype("Int64").array
    out["gpu_type"] = gtype.array
    share = np.full(n, np.nan)
    if cols["gpu_share"] is not None:
        share = _numeric(df, cols["gpu_share"], path, rows, lo=0, hi=1)
    out["gpu_share"] = share
    nice = pd.Series([pd.NA] * n, dtype="Int64")
    if cols["nice"] is not None:
        nice = counts(df[cols["nice"]], path, cols["nice"], rows)  # whole, |nice| <= MAX_NICE
    out["nice"] = nice.array


def _cpus(out, df, cols: dict, alloc, req, path: str, rows) -> np.ndarray:
    """Total CPUs per job (fractions allowed from a cpus column; see the module docstring)."""
    n = len(out)
    cpus = np.full(n, np.nan)
    if cols["cpus"] is not None and cols["cpus"] != cols["cores"]:
        cpus = _numeric(df, cols["cpus"], path, rows, lo=0, hi=MAX_COUNT)
    cores = out["cores"].to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        _fill(cpus, np.where(cores >= 0, cores, np.nan))
    if alloc is not None:
        _fill(cpus, np.array([p[0] for p in alloc]))
    reqcpus = next((c for c in df.columns if c.lower() in ("reqcpus", "req_cpus")), None)
    if reqcpus is not None:
        _fill(cpus, counts(df[reqcpus], path, reqcpus, rows).to_numpy(dtype=np.float64, na_value=np.nan))
    if req is not None:
        _fill(cpus, np.array([p[0] for p in req]))
    check_numbers(cpus, path, "cpus (CPU counts)", rows, lo=0, hi=MAX_COUNT)
    return cpus


def _memory(out, df, cols: dict, cpus: np.ndarray, alloc, req, path: str, rows) -> np.ndarray:
    """MiB per node (see the module docstring); NaN where no source states it."""
    import pandas as pd

    nodes = out["nodes"].to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        nodes = np.where(nodes >= 1, nodes, 1.0)
    mem = np.full(len(out), np.nan)
    col = cols["mem_per_node"]
    if col is not None and pd.api.types.is_numeric_dtype(df[col]):
        mem = _numeric(df, col, path, rows, lo=0, hi=MAX_MEM_MIB)
    elif col is not None:  # Slurm sizes: per node unless they say per CPU
        _fill(mem, _sizes(df, col, "n", nodes, cpus, path, rows))
    if alloc is not None:
        _fill(mem, _checked(np.array([p[1] for p in alloc]) / nodes, path, "AllocTRES mem=", rows))
    reqmem = next((k for k in df.columns if k.lower() == "reqmem"), None)
    if reqmem is not None:  # no suffix: Slurm >= 21.08 prints the job's total
        _fill(mem, _sizes(df, reqmem, "t", nodes, cpus, path, rows))
    if req is not None:
        _fill(mem, _checked(np.array([p[1] for p in req]) / nodes, path, "ReqTRES mem=", rows))
    return mem


def _checked(x: np.ndarray, path: str, column: str, rows) -> np.ndarray:
    check_numbers(x, path, column, rows, lo=0, hi=MAX_MEM_MIB)
    return x


def _sizes(df, col: str, default: str, nodes: np.ndarray, cpus: np.ndarray, path: str, rows) -> np.ndarray:
    """MiB per node from a column of Slurm sizes: ``n`` per node, ``c`` per CPU, no suffix ``default``
    (``n``, or ``t``: the job's total)."""
    sizes = _per_value(df[col].to_numpy(), _size_row, path, col, rows, 2, "a memory size such as 4000M, 64G, 4000Mn")
    x = np.array([s[0] for s in sizes], dtype=np.float64)
    scope = np.array([s[1] or default for s in sizes])
    with np.errstate(invalid="ignore"):
        x = np.where(scope == "c", x * cpus / nodes, np.where(scope == "t", x / nodes, x))
    return _checked(x, path, col, rows)


def _size_row(text: str) -> tuple[float, str]:
    try:
        return parse_size(text)
    except ValueError:
        raise ValueError(text) from None


__all__ = ["MAX_MEM_MIB", "MAX_NICE", "parse_size", "parse_tres"]
