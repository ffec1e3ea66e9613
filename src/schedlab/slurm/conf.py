"""slurm.conf and gres.conf for a Slurm that runs on one host (loopback), written from a machine
description (:class:`~schedlab.cluster.model.Cluster`: a TOML file, a shipped example or a site's
slurm.conf as read by :func:`~schedlab.cluster.load_cluster`).

What is kept from the description: node names, CPUs and GPUs (with their type) per node, the
partitions (nodes, default, ``MaxNodes``, ``PriorityTier``, ``PriorityJobFactor``, whole-node
allocation as ``OverSubscribe=EXCLUSIVE``) and the multifactor priority weights that work without
slurmdbd (age, job size, partition; ``PriorityFavorSmall``, ``PriorityMaxAge``).
What is rewritten for loopback: every node is a ``slurmd -N NAME`` on 127.0.0.1 with a port of its
own (``SlurmdParameters=config_overrides``: the host's real hardware is not checked), GPUs are plain
files under ``DIR/dev/NODE/``, all state, spool, logs and the munge socket live in the folder, and
the daemons run as the current user.
What is left out (listed in :attr:`LoopbackConf.notes`): memory (CPUs and GPUs are the consumable
resources: ``CR_Core``), partition ``MaxTime`` (a replay scales times; limits are the jobs' own),
QOS and fair share (they need slurmdbd), and any node beyond ``nodes``.
"""

from __future__ import annotations

import math
import os
import pwd
import socket
from dataclasses import dataclass, field
from pathlib import Path

from schedlab.cluster.fields import compress
from schedlab.cluster.model import Cluster
from schedlab.errors import ClusterError, SchedlabError

#: the most slurmd a loopback Slurm starts (each is a process with a port)
MAX_NODES = 64
#: the scheduler settings written unless the caller gives others: fast passes for short replays
#: (seconds; bf_window in minutes as Slurm reads it)
SCHEDULER_DEFAULTS = {"sched_interval": 2, "bf_interval": 1, "bf_resolution": 1, "bf_window": 1440}
SCHEDULER_BOUNDS = {"sched_interval": (1, 3600), "bf_interval": (1, 10800), "bf_resolution": (1, 3600)}
SCHEDULER_BOUNDS["bf_window"] = (1, 43200)


@dataclass(frozen=True)
class LoopbackConf:
    """What :func:`loopback_conf` writes: the texts and the facts the harness needs."""

    slurm_conf: str
    gres_conf: str
    nodes: tuple[str, ...]
    node_ports: dict
    gpu_files: dict  # node -> [device file paths]
    partitions: tuple[str, ...]
    scheduler: dict
    notes: tuple[str, ...] = field(default=())


def scheduler_settings(given: dict | None) -> dict:
    """The defaults updated with ``given`` (keys of :data:`SCHEDULER_DEFAULTS`, whole numbers in range)."""
    out = dict(SCHEDULER_DEFAULTS)
    for key, value in (given or {}).items():
        if key not in SCHEDULER_DEFAULTS:
            raise SchedlabError(f"unknown scheduler setting {key!r} (known: {', '.join(SCHEDULER_DEFAULTS)})")
        lo, hi = SCHEDULER_BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise SchedlabError(f"scheduler setting {key} must be a whole number in [{lo}, {hi}], got {value!r}")
        out[key] = value
    return out


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        raise SchedlabError(f"the current user (uid {os.getuid()}) has no name in the password database") from None


def _short_host() -> str:
    return socket.gethostname().split(".")[0] or "localhost"


def _safe(name: str, what: str) -> str:
    if not name or any(c.isspace() or c in "=#,[]\\\"'" for c in name):
        raise ClusterError(f"{what} {name!r} cannot be written into slurm.conf (spaces, '=', '#', ',' or brackets)")
    return name


def _kept_nodes(cluster: Cluster, nodes: int | None) -> list[int]:
    n = cluster.n_nodes if nodes is None else nodes
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise SchedlabError(f"nodes must be a whole number >= 1, got {nodes!r}")
    if n > MAX_NODES:
        raise SchedlabError(
            f"{cluster.name} has {cluster.n_nodes:,} nodes; a loopback Slurm runs at most {MAX_NODES} "
            "(give nodes=N / --nodes N to keep the first N)"
        )
    return list(range(min(n, cluster.n_nodes)))


def _node_lines(cluster: Cluster, kept: list[int], ports: list[int], folder: Path, host: str):
    lines, gres, gpu_files = [], [], {}
    for k, port in zip(kept, ports, strict=True):
        name = _safe(cluster.node_names[k], "node name")
        cpus = max(1, int(cluster.cpus[k]) // cluster.cpu_unit)
        gpus = int(cluster.gpus[k]) // cluster.gpu_unit
        gtype = cluster.gpu_types[cluster.gpu_type[k]] if gpus and cluster.gpu_type[k] >= 0 else ""
        spec = f"gpu:{_safe(gtype, 'GPU type')}:{gpus}" if gtype else f"gpu:{gpus}"
        line = f"NodeName={name} NodeHostname={host} NodeAddr=127.0.0.1 Port={port} CPUs={cpus}"
        lines.append(line + (f" Gres={spec}" if gpus else "") + " State=UNKNOWN")
        if gpus:
            files = [str(folder / "dev" / name / f"gpu{i}") for i in range(gpus)]
            gpu_files[name] = files
            rng = f"{folder / 'dev' / name}/gpu[0-{gpus - 1}]" if gpus > 1 else files[0]
            gres.append(f"NodeName={name} Name=gpu" + (f" Type={gtype}" if gtype else "") + f" File={rng}")
    return lines, gres, gpu_files


def _partition_lines(cluster: Cluster, kept: list[int]) -> tuple[list[str], list[str], list[str]]:
    keep = set(kept)
    lines, names, notes = [], [], []
    has_default = any(p.default and set(p.nodes) & keep for p in cluster.partitions)
    for i, p in enumerate(cluster.partitions):
        nodes = [cluster.node_names[k] for k in p.nodes if k in keep]
        if not nodes:
            notes.append(f"partition {p.name} left out: none of its nodes is among the first {len(kept)}")
            continue
        default = p.default or (not has_default and i == 0)
        line = f"PartitionName={_safe(p.name, 'partition name')} Nodes={compress(nodes)}"
        line += f" Default={'YES' if default else 'NO'}"
        line += " MaxTime=INFINITE State=UP"
        line += f" PriorityTier={p.priority_tier} PriorityJobFactor={p.priority_job_factor}"
        if p.max_nodes:
            line += f" MaxNodes={p.max_nodes}"
        if cluster.allocation.value == "exclusive":
            line += " OverSubscribe=EXCLUSIVE"
        lines.append(line)
        names.append(p.name)
        has_default = has_default or default
        if math.isfinite(p.max_time_s):
            notes.append(f"partition {p.name}: MaxTime not written (a replay scales times; jobs keep their own limits)")
    return lines, names, notes


def _priority_lines(cluster: Cluster) -> tuple[list[str], list[str]]:
    pr = cluster.priority
    lines = [
        "PriorityType=priority/multifactor",
        f"PriorityWeightAge={int(pr.weight_age)}",
        f"PriorityWeightJobSize={int(pr.weight_job_size)}",
        f"PriorityWeightPartition={int(pr.weight_partition)}",
        "PriorityWeightFairshare=0",
        "PriorityWeightQOS=0",
        f"PriorityMaxAge={max(1, round(pr.max_age_s / 60))}",
        f"PriorityFavorSmall={'YES' if pr.favor_small else 'NO'}",
    ]
    notes = []
    if pr.weight_fairshare or pr.weight_qos or pr.weight_assoc:
        notes.append("fair-share, QOS and association priority weights set to 0: they need slurmdbd")
    return lines, notes


def loopback_conf(
    cluster: Cluster, folder: Path, ports: list[int], ctld_port: int, nodes: int | None = None,
    scheduler: dict | None = None, job_submit: bool = False,
) -> LoopbackConf:  # fmt: skip
    """slurm.conf and gres.conf texts for ``cluster`` on loopback with everything under ``folder``;
    ``ports``: one per kept node (see :func:`kept_count`), ``ctld_port``: slurmctld's."""
    folder = Path(folder).resolve()
    kept = _kept_nodes(cluster, nodes)
    if len(ports) != len(kept):
        raise SchedlabError(f"{len(kept)} node ports needed, {len(ports)} given")
    sched = scheduler_settings(scheduler)
    host, user = _short_host(), _user()
    node_lines, gres_lines, gpu_files = _node_lines(cluster, kept, ports, folder, host)
    part_lines, part_names, notes = _partition_lines(cluster, kept)
    prio_lines, prio_notes = _priority_lines(cluster)
    notes = [*notes, *prio_notes]
    if cluster.mem_mib.any():
        notes.append("memory not written: CPUs and GPUs are the consumable resources (CR_Core)")
    if len(kept) < cluster.n_nodes:
        notes.append(f"only the first {len(kept)} of {cluster.n_nodes:,} nodes run")
    if cluster.qos:
        notes.append("QOS not written: they live in slurmdbd")
    params = ",".join(f"{k}={v}" for k, v in sched.items())
    lines = [
        "# written by schedlab (schedlab.slurm.conf) for a loopback Slurm; do not edit while it runs",
        f"ClusterName={_cluster_name(cluster.name)}",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={ctld_port}",
        f"SlurmUser={user}",
        f"SlurmdUser={user}",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={folder / 'munge' / 'munge.socket'}",
        f"StateSaveLocation={folder / 'state'}",
        f"SlurmdSpoolDir={folder / 'spool'}/%n",
        f"SlurmctldPidFile={folder / 'run' / 'slurmctld.pid'}",
        f"SlurmdPidFile={folder / 'run'}/slurmd.%n.pid",
        f"SlurmctldLogFile={folder / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={folder / 'log'}/slurmd.%n.log",
        "SlurmdParameters=config_overrides",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "MpiDefault=none",
        "SwitchType=switch/none",
        "ReturnToService=2",
        "MinJobAge=3600",
        "SchedulerType=sched/backfill",
        f"SchedulerParameters={params}",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        *prio_lines,
        "AccountingStorageType=accounting_storage/none",
        "JobAcctGatherType=jobacct_gather/none",
        "JobCompType=jobcomp/filetxt",
        f"JobCompLoc={folder / 'jobcomp.log'}",
        "GresTypes=gpu",
        *(["JobSubmitPlugins=lua"] if job_submit else []),
        *node_lines,
        *part_lines,
    ]
    return LoopbackConf(
        slurm_conf="\n".join(lines) + "\n",
        gres_conf="\n".join(["# fake GPU devices: plain files", *gres_lines]) + "\n",
        nodes=tuple(cluster.node_names[k] for k in kept),
        node_ports={cluster.node_names[k]: p for k, p in zip(kept, ports, strict=True)},
        gpu_files=gpu_files,
        partitions=tuple(part_names),
        scheduler=sched,
        notes=tuple(notes),
    )


def kept_count(cluster: Cluster, nodes: int | None) -> int:
    """How many nodes a loopback Slurm of ``cluster`` runs with ``nodes`` (checked)."""
    return len(_kept_nodes(cluster, nodes))


def _cluster_name(name: str) -> str:
    clean = "".join(c for c in name.lower() if c.isalnum() or c in "-_")[:30]
    return clean or "loopback"


__all__ = ["MAX_NODES", "SCHEDULER_DEFAULTS", "LoopbackConf", "kept_count", "loopback_conf", "scheduler_settings"]
