"""The Alibaba GPU cluster's node list (clusterdata ``cluster-trace-gpu-v2023``,
``openb_node_list_all_node.csv``, also gzip-compressed) as a :class:`~schedlab.cluster.model.Cluster`.

Columns ``sn,cpu_milli,memory_mib,gpu,model``: a node's serial name, CPUs in thousandths, memory
in MiB, its GPU count and GPU model (empty without GPUs).  The pod list shares GPUs in
thousandths, so the machine counts both in milli-units (``cpu_unit = gpu_unit = 1000``: a node's
``gpus`` is ``gpu * 1000``), nodes are shared among pods (``allocation = "shared"``), node types group
identical (cpu_milli, memory_mib, gpu, model) in order of first appearance, and one partition
``all`` holds every node.  The pod list's QoS classes (Kubernetes' ``LS``, ``Burstable``,
``Guaranteed``, ``BE``) are defined as QOS without limits or priority, so a pod's class is kept and
reported per QOS but changes no decision.  Every value is checked (whole, non-negative, bounded); a bad row is a
ClusterError naming its line.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from pathlib import Path

from schedlab.cluster.fields import MAX_FILE_BYTES
from schedlab.cluster.model import MAX_NODES, MAX_PER_NODE, QOS, Cluster, NodeType, build_cluster
from schedlab.errors import ClusterError

COLUMNS = ("sn", "cpu_milli", "memory_mib", "gpu", "model")
#: the QoS classes of the pod list (Kubernetes'): QOS without limits on this machine
POD_QOS = ("BE", "Burstable", "Guaranteed", "LS")
#: the most text read from a (decompressed) node list: ~40 bytes a node, a million nodes
MAX_TEXT_BYTES = 64 * 2**20


def _text(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ClusterError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB; not a node list")
        if raw[:2] == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as gz:
                raw = gz.read(MAX_TEXT_BYTES + 1)
            if len(raw) > MAX_TEXT_BYTES:
                raise ClusterError(f"{path}: decompresses to more than {MAX_TEXT_BYTES // 2**20} MiB")
        return raw.decode("utf-8").removeprefix("\ufeff")
    except (OSError, EOFError, zlib.error) as exc:
        raise ClusterError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    except UnicodeDecodeError as exc:
        raise ClusterError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None


def _whole(value: str, column: str, where: str, hi: int = MAX_PER_NODE) -> int:
    """A whole number in [0, hi]; ``32000`` and ``32000.0`` both read."""
    text = (value or "").strip()
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not (0 <= number <= hi) or number != int(number):
        raise ClusterError(f"{where}: {column} must be a whole number in [0, {hi:,}], got {value!r}")
    return int(number)


def _rows(text: str, where: str):
    """(line, sn, cpu_milli, memory_mib, gpu, model) per data row, checked."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ClusterError(f"{where}: not the Alibaba node list (no column {', '.join(missing)}; header {header[:8]})")
    col = {c: header.index(c) for c in COLUMNS}
    for line, row in enumerate(reader, 2):
        if not row:
            continue
        w = f"{where} line {line}"
        if len(row) != len(header):
            raise ClusterError(f"{w}: {len(row)} fields, the header has {len(header)}")
        if line - 1 > MAX_NODES:
            raise ClusterError(f"{where}: more than {MAX_NODES:,} nodes")
        sn, model = row[col["sn"]].strip(), row[col["model"]].strip()
        if not sn:
            raise ClusterError(f"{w}: sn (the node's name) is empty")
        cpu = _whole(row[col["cpu_milli"]], "cpu_milli", w)
        mem = _whole(row[col["memory_mib"]], "memory_mib", w)
        gpu = _whole(row[col["gpu"]], "gpu", w, MAX_PER_NODE // 1000)
        if cpu == 0:
            raise ClusterError(f"{w}: cpu_milli must be positive, got {row[col['cpu_milli']]!r}")
        yield line, sn, cpu, mem, gpu, model if gpu else ""


def _type_name(cpu: int, mem: int, gpu: int, model: str, taken: set[str]) -> str:
    base = f"{model or 'cpu'}{f'x{gpu}' if gpu else ''}-{cpu / 1000:g}c-{mem / 1024:g}g"
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}-{k}"
    taken.add(name)
    return name


def read_node_list(path: str | Path) -> Cluster:
    """The Alibaba cluster's machine (see the module docstring)."""
    path = Path(path)
    where = str(path)
    groups: dict[tuple[int, int, int, str], list[str]] = {}
    for _, sn, cpu, mem, gpu, model in _rows(_text(path), where):
        groups.setdefault((cpu, mem, gpu, model), []).append(sn)
    if not groups:
        raise ClusterError(f"{where}: the node list has no rows")
    taken: set[str] = set()
    node_types = [
        NodeType(_type_name(cpu, mem, gpu, model, taken), len(sns), cpu, gpu * 1000, model, mem, tuple(sns))
        for (cpu, mem, gpu, model), sns in groups.items()
    ]
    return build_cluster(
        "alibaba-openb",
        node_types,
        [],
        qos=[QOS(name) for name in POD_QOS],
        allocation="shared",
        cpu_unit=1000,
        gpu_unit=1000,
        source=where,
        notes=(
            "host names, CPUs (milli), memory and GPUs from the node list; one partition 'all'",
            f"QOS {', '.join(POD_QOS)}: the pod list's QoS classes, without limits or priority",
        ),
    )


__all__ = ["COLUMNS", "POD_QOS", "read_node_list"]
