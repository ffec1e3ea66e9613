"""Machine descriptions: node types, partitions, QOS, priority settings (see :mod:`.model`), read
from TOML, a site's slurm.conf or the Alibaba node list by :func:`load_cluster` (see :mod:`.load`)."""

from schedlab.cluster.describe import describe
from schedlab.cluster.load import load_cluster, shipped_clusters
from schedlab.cluster.model import (
    QOS,
    Cluster,
    ClusterError,
    NodeType,
    Partition,
    PriorityConfig,
    build_cluster,
    single_resource,
)

__all__ = [
    "QOS",
    "Cluster",
    "ClusterError",
    "NodeType",
    "Partition",
    "PriorityConfig",
    "build_cluster",
    "describe",
    "load_cluster",
    "shipped_clusters",
    "single_resource",
]
