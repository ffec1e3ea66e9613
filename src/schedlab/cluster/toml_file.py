"""A machine described in TOML (the shipped examples use it).

Schema (every key but the node types' ``name``/``cpus`` and the partitions' and QOS' ``name`` is
optional; an unknown key is an error naming it, so a typo does not pass silently)::

    name = "polaris-like"          # default: the file name without .toml
    allocation = "exclusive"       # or "shared" (cons_tres-like: several jobs per node)
    select = "first-fit"           # or "best-fit"
    cpu_unit = 1                   # 1 (whole CPUs) or 1000 (milli-CPUs); gpu_unit the same for GPUs
    gpu_unit = 1

    [[node_types]]                 # count identical nodes
    name = "gpu"
    count = 560                    # may be left out when hostlist is given
    cpus = 32
    gpus = 4                       # default 0
    gpu_type = "a100"              # default none
    mem_mib = 524288               # default 0: memory not modelled
    hostlist = "x[3001-3560]"      # host names (a Slurm hostlist); default gpu0001, gpu0002, ...
    features = ["a100"]

    [[partitions]]                 # none: one partition "all" holding every node
    name = "prod"
    nodes = "x[3001-3496]"         # a hostlist, or "ALL"; or instead: node_types = ["gpu"]
    max_time = "24:00:00"          # a Slurm time (minutes, HH:MM:SS, D-HH:MM:SS, UNLIMITED, ...);
                                   # or max_time_s = 86400
    max_nodes = 496                # the most nodes one job may use (0: no limit)
    default = true
    priority_tier = 1              # Slurm's PriorityTier / PriorityJobFactor
    priority_job_factor = 1
    allow_qos = ["normal"]         # default: every QOS
    qos = ""                       # the partition QOS (default none)

    [[qos]]
    name = "normal"
    priority = 10
    max_jobs_per_user = 20         # running jobs (0: no limit)
    max_gpus_per_user = 0          # GPUs held at once (0: no limit)
    max_wall = "1-00:00:00"        # or max_wall_s

    [priority]                     # Slurm's multifactor plugin
    weight_age = 1000              # also weight_fairshare, weight_job_size, weight_partition,
    weight_fairshare = 10000       # weight_qos, weight_assoc (default 0)
    decay_half_life = "7-0"        # Slurm times, or decay_half_life_s = 604800 ("0": no decay)
    max_age = "7-0"                # or max_age_s
    calc_period = "5"              # minutes, as in slurm.conf; or calc_period_s
    favor_small = false
    fairshare = "fair_tree"        # or "classic"
    [priority.shares]              # each account's shares (accounts not listed: 1)
    acctA = 10

The file is at most 16 MiB of UTF-8; errors are one-line :class:`ClusterError` naming the file
and the entry.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from schedlab.cluster.fields import host_names, read_text, slurm_seconds
from schedlab.cluster.model import (
    INF,
    MAX_NODES,
    QOS,
    Cluster,
    NodeType,
    PriorityConfig,
    build_cluster,
    default_host_names,
)
from schedlab.errors import ClusterError, OptionError

TOP_KEYS = ("name", "allocation", "select", "cpu_unit", "gpu_unit", "node_types", "partitions", "qos", "priority")
NODE_KEYS = ("name", "count", "cpus", "gpus", "gpu_type", "mem_mib", "hostlist", "features")
PARTITION_KEYS = (
    "name",
    "nodes",
    "node_types",
    "max_time",
    "max_time_s",
    "max_nodes",
    "default",
    "priority_tier",
    "priority_job_factor",
    "allow_qos",
    "qos",
)
QOS_KEYS = ("name", "priority", "max_jobs_per_user", "max_gpus_per_user", "max_wall", "max_wall_s")
WEIGHTS = ("weight_age", "weight_fairshare", "weight_job_size", "weight_partition", "weight_qos", "weight_assoc")
PRIORITY_TIMES = ("decay_half_life", "max_age", "calc_period")
#: the longest time a ``*_s`` key may give (~31,700 years; inf is written as "UNLIMITED")
MAX_SECONDS = 1e12
PRIORITY_KEYS = (*WEIGHTS, *PRIORITY_TIMES, *(f"{t}_s" for t in PRIORITY_TIMES), "favor_small", "fairshare", "shares")


def _known(table: dict, keys: tuple[str, ...], where: str) -> None:
    unknown = [k for k in table if k not in keys]
    if unknown:
        raise ClusterError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(keys)})")


def _tables(doc: dict, key: str, where: str) -> list[dict]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ClusterError(f"{where}: {key} must be an array of tables ([[{key}]] sections)")
    return value


def _entry(table: dict, kind: str, i: int, where: str) -> str:
    """How errors name the i-th ``kind`` table: by its name when it has a printable one."""
    name = table.get("name")
    return f"{where}: {kind} {name!r}" if isinstance(name, str) and name else f"{where}: {kind} #{i + 1}"


def _strings(value, what: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ClusterError(f"{where}: {what} must be a list of names, got {value!r}")
    return tuple(value)


def _time(table: dict, key: str, where: str, default: float = INF) -> float:
    """``key`` (a Slurm time string) or ``key_s`` (seconds), not both; ``default`` when neither."""
    if key in table and f"{key}_s" in table:
        raise ClusterError(f"{where}: give {key} or {key}_s, not both")
    if f"{key}_s" in table:
        value = table[f"{key}_s"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SECONDS:
            raise ClusterError(f"{where}: {key}_s must be a number of seconds in [0, {MAX_SECONDS:g}], got {value!r}")
        return float(value)
    if key not in table:
        return default
    if not isinstance(table[key], str):
        raise ClusterError(f'{where}: {key} must be a Slurm time string like "24:00:00" (or use {key}_s for seconds)')
    return slurm_seconds(table[key], key, where)


def _node_type(t: dict, i: int, where: str) -> NodeType:
    w = _entry(t, "node type", i, where)
    _known(t, NODE_KEYS, w)
    names = tuple(host_names(t["hostlist"], f"{w}: hostlist")) if "hostlist" in t else ()
    count = t.get("count", len(names) if names else None)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_NODES:
        raise ClusterError(f"{w}: count must be a whole number in [1, {MAX_NODES:,}], got {count!r}")
    if "cpus" not in t:
        raise ClusterError(f"{w}: cpus is missing")
    gpu_type = t.get("gpu_type", "")
    if not isinstance(gpu_type, str):
        raise ClusterError(f"{w}: gpu_type must be a name, got {gpu_type!r}")
    return NodeType(
        name=t.get("name"),
        count=count,
        cpus=t["cpus"],
        gpus=t.get("gpus", 0),
        gpu_type=gpu_type,
        mem_mib=t.get("mem_mib", 0),
        names=names,
        features=_strings(t.get("features", []), "features", w),
    )


def _partition(t: dict, i: int, node_types: list[NodeType], where: str) -> dict:
    w = _entry(t, "partition", i, where)
    _known(t, PARTITION_KEYS, w)
    if ("nodes" in t) == ("node_types" in t):
        raise ClusterError(f'{w}: give its nodes either as nodes = "HOSTLIST" (or "ALL") or as node_types = [...]')
    if "node_types" in t:
        by_name = {nt.name: nt for nt in node_types}
        hosts: list[str] | str = []
        for name in _strings(t["node_types"], "node_types", w):
            if name not in by_name:
                raise ClusterError(f"{w}: unknown node type {name!r} (node types: {', '.join(by_name)})")
            nt = by_name[name]
            hosts += list(nt.names) or default_host_names(nt.name, nt.count)
    else:
        all_nodes = isinstance(t["nodes"], str) and t["nodes"].strip().upper() == "ALL"
        hosts = "ALL" if all_nodes else host_names(t["nodes"], f"{w}: nodes")
    part = {"name": t.get("name"), "nodes": hosts, "max_time_s": _time(t, "max_time", w)}
    for key in ("max_nodes", "default", "priority_tier", "priority_job_factor", "qos"):
        if key in t:
            part[key] = t[key]
    if not isinstance(part.get("qos", ""), str):
        raise ClusterError(f"{w}: qos must be a QOS name, got {part['qos']!r}")
    if "allow_qos" in t:
        part["allow_qos"] = _strings(t["allow_qos"], "allow_qos", w)
    return part


def _qos(t: dict, i: int, where: str) -> QOS:
    w = _entry(t, "QOS", i, where)
    _known(t, QOS_KEYS, w)
    return QOS(
        name=t.get("name"),
        priority=t.get("priority", 0),
        max_jobs_per_user=t.get("max_jobs_per_user", 0),
        max_gpus_per_user=t.get("max_gpus_per_user", 0),
        max_wall_s=_time(t, "max_wall", w),
    )


def _priority(t, where: str) -> PriorityConfig:
    w = f"{where}: [priority]"
    if not isinstance(t, dict):
        raise ClusterError(f"{w} must be a table")
    _known(t, PRIORITY_KEYS, w)
    shares = t.get("shares", {})
    if not isinstance(shares, dict):
        raise ClusterError(f"{w}: shares must be a table of account = shares")
    defaults = PriorityConfig()
    half_life = _time(t, "decay_half_life", w, defaults.decay_half_life_s)
    favor_small = t.get("favor_small", False)
    if not isinstance(favor_small, bool):
        raise ClusterError(f"{w}: favor_small must be true or false, got {favor_small!r}")
    return PriorityConfig(
        **{k: t[k] for k in WEIGHTS if k in t},
        decay_half_life_s=INF if half_life == 0 else half_life,  # Slurm: 0 turns decay off
        max_age_s=_time(t, "max_age", w, defaults.max_age_s),
        calc_period_s=_time(t, "calc_period", w, defaults.calc_period_s),
        favor_small=favor_small,
        fairshare=t.get("fairshare", defaults.fairshare),
        shares=tuple(shares.items()),
    )


def read_cluster_toml(path: str | Path) -> Cluster:
    """The machine a TOML file describes (schema in the module docstring), validated by
    :func:`~schedlab.cluster.model.build_cluster`."""
    where = str(path)
    try:
        doc = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as exc:
        raise ClusterError(f"{where}: not valid TOML ({exc})") from None
    _known(doc, TOP_KEYS, where)
    node_types = [_node_type(t, i, where) for i, t in enumerate(_tables(doc, "node_types", where))]
    partitions = [_partition(t, i, node_types, where) for i, t in enumerate(_tables(doc, "partitions", where))]
    qos = [_qos(t, i, where) for i, t in enumerate(_tables(doc, "qos", where))]
    try:
        return build_cluster(
            doc.get("name", Path(path).name.removesuffix(".toml")),
            node_types,
            partitions,
            qos,
            _priority(doc.get("priority", {}), where),
            allocation=doc.get("allocation", "exclusive"),
            select=doc.get("select", "first-fit"),
            cpu_unit=doc.get("cpu_unit", 1),
            gpu_unit=doc.get("gpu_unit", 1),
            source=where,
        )
    except OptionError as exc:
        raise ClusterError(f"{where}: {exc}") from None


__all__ = ["read_cluster_toml"]
