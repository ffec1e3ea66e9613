"""A site's ``slurm.conf`` as a :class:`~schedlab.cluster.model.Cluster`.

What is read (semantics of slurm.conf(5)):

* ``NodeName=`` lines: a hostlist (``nid[0001-0560]``), ``CPUs=`` (``Procs=``) or else
  Boards x Sockets (or SocketsPerBoard) x CoresPerSocket x ThreadsPerCore, ``RealMemory=`` (MiB;
  absent: memory not modelled), ``Gres=`` (``gpu:4``, ``gpu:a100:4``, ``gpu:a100:no_consume:4``,
  counts with K/M/G, ``(S:0-1)`` socket bindings and other GRES ignored), ``Feature(s)=``;
  ``NodeName=DEFAULT`` sets defaults for the lines after it.  Consecutive lines describing the same
  hardware become one node type, named after the first host's prefix.
* ``NodeSet=`` lines (``Nodes=`` or ``Feature=``), usable in a partition's ``Nodes=``.
* ``PartitionName=`` lines: ``Nodes=`` (hostlist, node sets or ALL), ``MaxTime=`` (any Slurm time,
  UNLIMITED/INFINITE), ``MaxNodes=``, ``Default=YES``, ``PriorityTier=``, ``PriorityJobFactor=``
  (the older ``Priority=`` sets both), ``AllowQos=``, ``QOS=``; ``PartitionName=DEFAULT`` as for nodes.
* ``ClusterName``, ``SelectType`` (cons_tres/cons_res: shared nodes; linear: whole nodes; absent:
  shared, Slurm's default select/cons_tres), ``PriorityType`` (priority/basic: all weights 0),
  ``PriorityWeight{Age,Fairshare,JobSize,Partition,QOS,Assoc}``, ``PriorityDecayHalfLife`` (0: no
  decay), ``PriorityMaxAge``, ``PriorityCalcPeriod`` (minutes unless written as a time),
  ``PriorityFavorSmall``, ``PriorityFlags`` (NO_FAIR_TREE: classic fair share; default fair tree).

Keys are case-insensitive, ``#`` starts a comment, a ``\\`` at the end of a line continues it, and a
line may hold several ``key=value`` pairs.  ``Include`` lines are not followed, and every other key
is ignored; both are listed (counted) in the cluster's ``notes``, as are QOS that partitions name:
QOS live in slurmdbd, not slurm.conf, so they are created here with priority 0 and no limits.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from schedlab.cluster.fields import host_names, read_text, slurm_seconds
from schedlab.cluster.model import INF, QOS, Cluster, NodeType, PriorityConfig, build_cluster
from schedlab.errors import ClusterError, OptionError
from schedlab.options import FairShare

NODE_KEYS = {
    "nodename",
    "cpus",
    "procs",
    "boards",
    "sockets",
    "socketsperboard",
    "corespersocket",
    "threadspercore",
    "realmemory",
    "gres",
    "feature",
    "features",
}
PARTITION_KEYS = {
    "partitionname",
    "nodes",
    "maxtime",
    "maxnodes",
    "default",
    "prioritytier",
    "priorityjobfactor",
    "priority",
    "allowqos",
    "qos",
}
WEIGHTS = {
    "priorityweightage": "weight_age",
    "priorityweightfairshare": "weight_fairshare",
    "priorityweightjobsize": "weight_job_size",
    "priorityweightpartition": "weight_partition",
    "priorityweightqos": "weight_qos",
    "priorityweightassoc": "weight_assoc",
}
PRIORITY_TIMES = {
    "prioritydecayhalflife": "decay_half_life_s",
    "prioritymaxage": "max_age_s",
    "prioritycalcperiod": "calc_period_s",
}
GLOBAL_KEYS = {"clustername", "selecttype", "prioritytype", "priorityfavorsmall", "priorityflags"}
GLOBAL_KEYS |= set(WEIGHTS) | set(PRIORITY_TIMES)
#: line kinds other than nodes, partitions and node sets: ignored as a whole (listed in the notes)
OTHER_LINES = {"downnodes", "frontendname", "switchname"}

_TOKEN = re.compile(r'(?:[^\s"]+|"[^"]*")+')
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_COUNT = re.compile(r"(\d{1,12})([KMG]?)", re.I)


@dataclass
class _Line:
    """One logical line: its number (of its first physical line) and its (key, value, key as written)."""

    no: int
    pairs: list[tuple[str, str, str]]

    @property
    def kind(self) -> str:
        return self.pairs[0][0]

    def where(self, path: str) -> str:
        _, value, written = self.pairs[0]
        return f"{path} line {self.no} ({written}={value[:60]})"

    def settings(self) -> dict[str, str]:
        return {k: v for k, v, _ in self.pairs[1:]}


def _strip_comment(line: str) -> str:
    m = re.search(r"(?<!\\)#", line)
    return (line[: m.start()] if m else line).replace("\\#", "#")


def _logical_lines(text: str, path: str, notes: list[str]) -> list[_Line]:
    """Comments dropped, continuations joined, ``Include`` lines noted; each line tokenised."""
    out: list[_Line] = []
    pending, start = "", 0
    for no, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw).rstrip()
        if not pending:
            start = no
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = (pending + line).strip(), ""
        if not line:
            continue
        if re.match(r"include\s", line, re.I):
            notes.append(f"line {start}: {line[:120]} not followed: the settings in that file are missing here")
            continue
        out.append(_Line(start, _pairs(line, f"{path} line {start}")))
    if pending.strip():
        out.append(_Line(start, _pairs(pending.strip(), f"{path} line {start}")))
    return out


def _pairs(line: str, where: str) -> list[tuple[str, str, str]]:
    if line.count('"') % 2:
        raise ClusterError(f"{where}: a '\"' is not closed")
    line = re.sub(r"\s*=\s*", "=", line)
    pairs = []
    for token in _TOKEN.findall(line):
        key, eq, value = token.partition("=")
        if not eq or not _KEY.fullmatch(key):
            raise ClusterError(f"{where}: expected KEY=VALUE, got {token[:60]!r}")
        pairs.append((key.lower(), value.replace('"', ""), key))
    return pairs


def _int(d: dict, key: str, where: str, default: int | None = None, unlimited: int | None = None) -> int | None:
    """A whole number setting (``unlimited`` for UNLIMITED/INFINITE when allowed)."""
    if key not in d:
        return default
    text = d[key].strip()
    if unlimited is not None and text.upper() in ("UNLIMITED", "INFINITE"):
        return unlimited
    if not text.isdigit() or len(text) > 12:
        raise ClusterError(f"{where}: {key} must be a whole number, got {d[key]!r}")
    return int(text)


def _yes(d: dict, key: str, where: str) -> bool:
    value = d.get(key, "NO").strip().upper()
    if value not in ("YES", "NO"):
        raise ClusterError(f"{where}: {key} must be YES or NO, got {d[key]!r}")
    return value == "YES"


def _gres(text: str, where: str, notes: list[str]) -> tuple[int, str]:
    """GPUs and their type in a ``Gres=`` value (other generic resources are skipped)."""
    count, types = 0, []
    for item in re.sub(r"\([^)]*\)", "", text).split(","):
        parts = [p for p in item.strip().split(":") if p.lower() != "no_consume"]
        if not parts or parts[0].lower() != "gpu":
            continue
        rest = parts[1:]
        m = _COUNT.fullmatch(rest[-1]) if rest else None
        if len(rest) > 2 or (len(rest) == 2 and m is None):
            raise ClusterError(f"{where}: cannot read the GPUs in Gres={text!r} (expected gpu:N or gpu:TYPE:N)")
        n = 1 if m is None else int(m.group(1)) * 1024 ** " KMG".index(m.group(2).upper() or " ")
        count += n
        kind = rest[0] if (rest and m is None) or len(rest) == 2 else ""
        if n and kind not in types:
            types.append(kind)
    if len(types) > 1:
        notes.append(f"{where}: GPUs of several types ({', '.join(t or 'untyped' for t in types)}) counted as untyped")
        return count, ""
    return count, (types[0] if types and count else "")


def _node_spec(d: dict, where: str, notes: list[str]) -> tuple:
    """(cpus, gpus, gpu_type, mem_mib, features) of a NodeName line's settings."""
    cpus = _int(d, "cpus", where) if "cpus" in d else _int(d, "procs", where)
    if cpus is None:
        sockets = _int(d, "sockets", where) or _int(d, "socketsperboard", where, 1)
        cpus = (
            _int(d, "boards", where, 1)
            * sockets
            * _int(d, "corespersocket", where, 1)
            * _int(d, "threadspercore", where, 1)
        )
    gpus, gpu_type = _gres(d.get("gres", ""), where, notes)
    features = d.get("features", d.get("feature", ""))
    return cpus, gpus, gpu_type, _int(d, "realmemory", where, 0), tuple(f for f in features.split(",") if f)


def _type_name(first_host: str, taken: set[str]) -> str:
    base = re.match(r"[A-Za-z_-]*", first_host).group(0).strip("-_") or "node"
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}-{k}"
    taken.add(name)
    return name


def _node_types(lines: list[_Line], path: str, ignored: Counter, notes: list[str]) -> list[NodeType]:
    """Node types from the NodeName lines, in file order; consecutive identical hardware merged."""
    defaults: dict[str, str] = {}
    groups: list[tuple[tuple, list[str]]] = []
    for line in lines:
        if line.kind != "nodename":
            continue
        w = line.where(path)
        ignored.update(written for k, _, written in line.pairs if k not in NODE_KEYS)
        if line.pairs[0][1].upper() == "DEFAULT":
            defaults.update(line.settings())
            continue
        hosts = host_names(line.pairs[0][1], w)
        spec = _node_spec({**defaults, **line.settings()}, w, notes)
        if groups and groups[-1][0] == spec:
            groups[-1][1].extend(hosts)
        else:
            groups.append((spec, hosts))
    if not groups:
        raise ClusterError(f"{path}: no NodeName lines: slurm.conf defines no nodes")
    taken: set[str] = set()
    return [
        NodeType(_type_name(hosts[0], taken), len(hosts), cpus, gpus, gpu_type, mem, tuple(hosts), features)
        for (cpus, gpus, gpu_type, mem, features), hosts in groups
    ]


def _node_sets(lines: list[_Line], node_types: list[NodeType], path: str) -> dict[str, list[str]]:
    sets: dict[str, list[str]] = {}
    for line in lines:
        if line.kind != "nodeset":
            continue
        d, w = line.settings(), line.where(path)
        if "nodes" in d:
            sets[line.pairs[0][1]] = host_names(d["nodes"], w)
        elif d.get("feature", d.get("features")):
            want = d.get("feature", d.get("features"))
            sets[line.pairs[0][1]] = [h for nt in node_types if want in nt.features for h in nt.names]
        else:
            raise ClusterError(f"{w}: a NodeSet needs Nodes= or Feature=")
    return sets


def _partition_nodes(text: str, sets: dict[str, list[str]], where: str) -> list[str] | str:
    if text.strip().upper() == "ALL":
        return "ALL"
    hosts: list[str] = []
    for item in host_names(text, f"{where}: Nodes"):
        hosts += sets.get(item, [item])
    return hosts


def _partition(d: dict, name: str, sets: dict, where: str) -> dict:
    part = {
        "name": name,
        "nodes": _partition_nodes(d["nodes"], sets, where),
        "max_time_s": slurm_seconds(d["maxtime"], "MaxTime", where) if "maxtime" in d else INF,
        "max_nodes": _int(d, "maxnodes", where, 0, unlimited=0),
        "default": _yes(d, "default", where),
    }
    legacy = _int(d, "priority", where)  # Slurm's older Priority= sets both
    part["priority_tier"] = _int(d, "prioritytier", where, legacy if legacy is not None else 1)
    part["priority_job_factor"] = _int(d, "priorityjobfactor", where, legacy if legacy is not None else 1)
    allow = d.get("allowqos", "ALL")
    part["allow_qos"] = () if allow.strip().upper() == "ALL" else tuple(q for q in allow.split(",") if q)
    part["qos"] = d.get("qos", "")
    return part


def _partitions(lines: list[_Line], sets: dict, path: str, ignored: Counter, notes: list[str]) -> list[dict]:
    defaults: dict[str, str] = {}
    parts = []
    for line in lines:
        if line.kind != "partitionname":
            continue
        w, name = line.where(path), line.pairs[0][1]
        ignored.update(written for k, _, written in line.pairs if k not in PARTITION_KEYS)
        if name.upper() == "DEFAULT":
            defaults.update(line.settings())
            continue
        d = {**defaults, **line.settings()}
        if not d.get("nodes", "").strip():
            notes.append(f"partition {name!r} lists no nodes: left out")
            continue
        if d.get("oversubscribe", "").upper().startswith("EXCLUSIVE"):
            notes.append(f"partition {name!r} has OverSubscribe=EXCLUSIVE: the machine-wide allocation applies")
        parts.append(_partition(d, name, sets, w))
    if not parts:
        notes.append("no PartitionName lines: one partition 'all' holds every node")
    return parts


def _priority(g: dict, path: str, notes: list[str]) -> PriorityConfig:
    """The priority settings among the global ones (``g``: key -> (value, where))."""
    kw: dict = {}
    for key, field in WEIGHTS.items():
        if key in g:
            kw[field] = _int({key: g[key][0]}, key, g[key][1])
    for key, field in PRIORITY_TIMES.items():
        if key in g:
            kw[field] = slurm_seconds(g[key][0], key, g[key][1])
    if kw.get("decay_half_life_s") == 0:
        kw["decay_half_life_s"] = INF  # Slurm: 0 turns decay off
    if "priorityfavorsmall" in g:
        kw["favor_small"] = _yes({"p": g["priorityfavorsmall"][0]}, "p", g["priorityfavorsmall"][1])
    flags = [f.strip().upper() for f in g.get("priorityflags", ("", ""))[0].split(",") if f.strip()]
    kw["fairshare"] = FairShare.CLASSIC if "NO_FAIR_TREE" in flags else FairShare.FAIR_TREE
    if other := [f for f in flags if f != "NO_FAIR_TREE"]:
        notes.append(f"PriorityFlags {','.join(other)} not modelled")
    if g.get("prioritytype", ("", ""))[0].lower() == "priority/basic":
        notes.append("PriorityType=priority/basic: jobs are ordered by submission (priority weights set to 0)")
        kw = {k: v for k, v in kw.items() if k not in WEIGHTS.values()}
    return PriorityConfig(**kw)


def _allocation(g: dict, notes: list[str]) -> str:
    select = g.get("selecttype", ("select/cons_tres", ""))[0].lower()
    if select in ("select/cons_tres", "select/cons_res"):
        return "shared"
    if select == "select/linear":
        return "exclusive"
    notes.append(f"SelectType={select} not modelled: nodes shared as by select/cons_tres")
    return "shared"


def _missing_qos(parts: list[dict], notes: list[str]) -> list[QOS]:
    names: list[str] = []
    for p in parts:
        for q in (*p["allow_qos"], p["qos"]):
            if q and q not in names:
                names.append(q)
    if names:
        notes.append(
            f"QOS {', '.join(names)} named by partitions: QOS are defined in slurmdbd, not slurm.conf, so each "
            "is created here with priority 0 and no limits"
        )
    return [QOS(n) for n in names]


def _ignored_note(ignored: Counter) -> str:
    top = ", ".join(f"{k} ({n})" if n > 1 else k for k, n in ignored.most_common(10))
    more = f" and {len(ignored) - 10} more keys" if len(ignored) > 10 else ""
    return f"{sum(ignored.values())} settings not modelled were ignored: {top}{more}"


def _globals(lines: list[_Line], where: str, ignored: Counter) -> dict[str, tuple[str, str]]:
    """The settings outside node, partition and node-set lines: key -> (value, where), the last wins."""
    g: dict[str, tuple[str, str]] = {}
    for line in lines:
        if line.kind in ("nodename", "partitionname", "nodeset"):
            continue
        if line.kind in OTHER_LINES:
            ignored[line.pairs[0][2]] += 1
            continue
        for key, value, written in line.pairs:
            if key in GLOBAL_KEYS:
                g[key] = (value, f"{where} line {line.no}")
            else:
                ignored[written] += 1
    return g


def read_slurm_conf(path: str | Path) -> Cluster:
    """The machine a ``slurm.conf`` describes (what is read: the module docstring)."""
    where = str(path)
    notes: list[str] = []
    lines = _logical_lines(read_text(path), where, notes)
    ignored: Counter = Counter()
    g = _globals(lines, where, ignored)
    node_types = _node_types(lines, where, ignored, notes)
    parts = _partitions(lines, _node_sets(lines, node_types, where), where, ignored, notes)
    qos = _missing_qos(parts, notes)
    allocation = _allocation(g, notes)
    try:
        priority = _priority(g, where, notes)
        if ignored:
            notes.append(_ignored_note(ignored))
        stem = Path(where).stem
        name = g["clustername"][0].lower() if g.get("clustername", ("", ""))[0] else stem
        return build_cluster(
            name if name != "slurm" else "slurm-cluster",
            node_types,
            parts,
            qos,
            priority,
            allocation=allocation,
            source=where,
            notes=tuple(notes),
        )
    except OptionError as exc:
        raise ClusterError(f"{where}: {exc}") from None


__all__ = ["read_slurm_conf"]
