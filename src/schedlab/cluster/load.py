"""One entry point for every machine description: :func:`load_cluster`.

A spec is a shipped example's name (``polaris``, ``marconi100``: the TOML files in
``schedlab/data/clusters``), or a file: ``*.toml``; the Alibaba node list (CSV, optionally gzip,
recognised by its header); a ``slurm.conf`` (by its name, or by ``NodeName=`` / ``PartitionName=``
lines).  Reading through a symbolic link is fine; nothing is written.
"""

from __future__ import annotations

import gzip
import re
import zlib
from importlib import resources
from pathlib import Path

from schedlab.cluster.model import Cluster
from schedlab.errors import ClusterError

_SLURM_LINE = re.compile(r"^\s*(NodeName|PartitionName)\s*=", re.I | re.M)


def shipped_clusters() -> dict[str, Path]:
    """The example machines schedlab ships: name -> TOML file."""
    folder = Path(str(resources.files("schedlab") / "data" / "clusters"))
    return {p.stem: p for p in sorted(folder.glob("*.toml"))}


def _head(path: Path, size: int = 64 * 1024) -> str:
    """The first ``size`` bytes of the file (decompressed when gzip) as text, for sniffing."""
    try:
        with open(path, "rb") as f:
            raw = f.read(size)
        if raw[:2] == b"\x1f\x8b":
            with gzip.open(path, "rb") as gz:
                raw = gz.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise ClusterError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    return raw.decode("utf-8", errors="replace").removeprefix("\ufeff")


def cluster_kind(path: Path) -> str:
    """``toml``, ``nodelist`` or ``slurm.conf``: how the file at ``path`` is read."""
    if path.suffix.lower() == ".toml":
        return "toml"
    head = _head(path)
    first = head.split("\n", 1)[0].strip().lower()
    if first.startswith("sn,") and "cpu_milli" in first:
        return "nodelist"
    if path.name.lower() == "slurm.conf" or _SLURM_LINE.search(head):
        return "slurm.conf"
    raise ClusterError(
        f"{path}: not a machine description schedlab can read (expected a .toml file, a slurm.conf with "
        "NodeName=/PartitionName= lines, or the Alibaba node list CSV with header sn,cpu_milli,...)"
    )


def load_cluster(spec: str | Path) -> Cluster:
    """The machine ``spec`` names: a shipped example's name or a description file (see the module
    docstring).  An unknown name or a missing file is a ClusterError listing the shipped names."""
    from schedlab.cluster.nodelist import read_node_list
    from schedlab.cluster.slurmconf import read_slurm_conf
    from schedlab.cluster.toml_file import read_cluster_toml

    shipped = shipped_clusters()
    text = str(spec)
    path = Path(text)
    try:
        exists, is_dir = path.exists(), path.is_dir()
    except (OSError, ValueError):  # a NUL byte, a name too long for the file system
        exists = is_dir = False
    if text in shipped and not exists:
        return read_cluster_toml(shipped[text])
    if not exists:
        raise ClusterError(
            f"no machine {text[:200]!r}: not a file, and not one of the shipped machines ({', '.join(shipped)})"
        )
    if is_dir:
        raise ClusterError(f"{path}: is a folder; give a .toml file, a slurm.conf or the Alibaba node list")
    kind = cluster_kind(path)
    reader = {"toml": read_cluster_toml, "nodelist": read_node_list, "slurm.conf": read_slurm_conf}[kind]
    return reader(path)


__all__ = ["cluster_kind", "load_cluster", "shipped_clusters"]
