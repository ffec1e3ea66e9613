"""Entities grouped by behaviour: k-means or agglomerative clustering of mrDMD features, k by silhouette."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from schedlab.analytics.mrdmd.core import MrDMD
from schedlab.errors import SchedlabError


@dataclass
class ClusterResult:
    labels: np.ndarray
    k: int
    silhouette: dict  # k -> silhouette score
    method: str


def cluster_entities(model_or_features, k_range=range(2, 9), method: str = "kmeans", seed: int = 0) -> ClusterResult:
    """Group entities by behaviour: k-means or agglomerative (Ward) on standardised features.

    Features are :meth:`MrDMD.entity_features` (log window RMS per level) when given a fitted
    model, else the given entities x features array.  ``k`` maximises the silhouette score.
    """
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.metrics import silhouette_score

    F = (
        model_or_features.entity_features()
        if isinstance(model_or_features, MrDMD)
        else np.asarray(model_or_features, float)
    )
    if F.ndim != 2 or not np.all(np.isfinite(F)):
        raise SchedlabError("features must be a finite 2-D entities x features array")
    if method not in ("kmeans", "agglomerative"):
        raise SchedlabError(f"method must be 'kmeans' or 'agglomerative', got {method!r}")
    ks = [k for k in k_range if 2 <= k < len(F)]
    if not ks:
        raise SchedlabError(f"no k in {list(k_range)} fits {len(F)} entities (need 2 <= k < entities)")
    sd = F.std(axis=0)
    F = (F - F.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    scores, labels = {}, {}
    for k in ks:
        est = (
            KMeans(n_clusters=k, n_init=10, random_state=seed)
            if method == "kmeans"
            else AgglomerativeClustering(n_clusters=k, linkage="ward")
        )
        lab = est.fit_predict(F)
        if len(np.unique(lab)) < 2:
            continue
        labels[k], scores[k] = lab, float(silhouette_score(F, lab, random_state=seed, sample_size=min(len(F), 5000)))
    if not scores:
        raise SchedlabError("every k gave a single cluster (identical entities?)")
    best = max(scores, key=scores.get)
    return ClusterResult(labels=labels[best], k=best, silhouette=scores, method=method)
