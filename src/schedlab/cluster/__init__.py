"""Machine descriptions: node types, partitions, QOS, priority settings (see :mod:`.model`)."""

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
    "single_resource",
]
