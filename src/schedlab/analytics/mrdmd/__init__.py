"""Multiresolution DMD (mrDMD) of an entities x time telemetry matrix, anomaly z-scores, clusters.

Kutz, Fu & Brunton (2016) separate slow from fast variation by recursion: on a time window, fit
DMD to a *subsampled* copy of the data that can only resolve ``max_cycles`` cycles per window,
keep the slow modes, subtract their contribution (reconstructed on the full time grid), split the
window in two halves and repeat on what is left.  Level ``l`` has ``2**l`` windows and resolves
variation up to ``max_cycles * 2**l`` cycles per whole span; what no level takes is the residual
(the fastest variation and noise).

Cost.  Every window is reduced to ``snapshots`` columns before its SVD, so a window costs
O(entities x snapshots x rank) for the SVD / DMD (randomized range finder when the snapshot
count is large against the rank) plus one pass over its samples for the reduction and one rank-r
product to subtract the slow modes: O(entities x time x (1 + rank)) per level, never
O(entities x time**2).  The full-resolution reconstruction is never stored; per level only the
modes, eigenvalues and amplitudes of each window, and per entity and window the RMS of that
level's contribution (``window_rms_``), are kept.

Subsampling.  ``subsample="mean"`` (default) takes block means rather than every ``step``-th
sample: a boxcar anti-alias filter, so fast oscillations and noise do not alias into the slow
modes of coarse levels.  ``"decimate"`` is the paper's plain decimation.

Anomaly scores (:func:`score_anomalies`): for every entity, level and window, the RMS about the
window mean of that level's reconstruction (plus the residual's, per finest window), as a robust
z-score against a healthy baseline: ``z = (v - median) / (1.4826 * MAD)`` over the baseline
entities, over the entities and windows inside a baseline time range, or, by default, over all
entities in the same window.  The default threshold (``scoring.THRESHOLD_RULE``) is Bonferroni's
over the N scored cells of the run at a family-wise false-alarm rate ``alpha = 0.05``, each cell's
z referred to a Student t rather than a normal: a z divides by a MAD of its window's ``n``
reference cells, and the MAD has 37 % of the standard deviation's efficiency, so on healthy data
z is near ``t`` with ``nu = 0.37 n - 1`` degrees of freedom, its median adding ``pi / (2 n)`` to the
variance: ``|z| > max(3.5, sqrt(1 + pi / (2 n)) * t_nu^-1(1 - alpha / (2 N)))`` (the ``threshold``
column); this with ``active`` (jobs x time, where a window's references vary from
``min_reference`` up), the Gaussian ``max(3.5, Phi^-1(1 - alpha / (2 N)))`` without it (every
window against all entities; measured below).  With 150 reference cells that is about the
Gaussian bar (4.4 vs 4.1 at N = 1,000); with 20 (a window in which few jobs run) it is 10 where a
Gaussian bar fires on noise.  Two steps make
the scores near-normal in the first place: the slow feature (a norm, chi-like and right-skewed) is
z-scored after Wilson-Hilferty's ``v ** (2/3)``; the residual feature is each entity's fast noise in
the window (RMS of first differences / sqrt 2, which slow-mode fit errors hardly touch) divided by
that entity's own level (its median over the finest windows), so steady per-node noise differences
and delay-embedding fit leaks do not give heavy tails.  Node telemetry, 80 clean synthetic runs (64
x 4,096, seeds 0-79) under the Gaussian bar: 1 run with one flagged cell.  Jobs x time
(:func:`fill_inactive` + ``active``), 60 clean runs (three sizes x 20 seeds,
``benchmarks/anomaly_calibration.py``): 55 runs fired (275 cells) with the one-pass fill and the
Gaussian bar, 6 runs (10 cells, 1.6e-4 per cell) with the alternating fill and this bar.
The across-entity baseline finds entities that behave unlike the rest; a change of the whole
machine (every node steps) is a changepoint of the aggregate series, which
:func:`schedlab.analytics.changepoints.detect_changepoints` finds.

Modules: :mod:`~.core` (:class:`MrDMD`, :func:`fill_inactive`), :mod:`~.scoring`
(:func:`score_anomalies`, :func:`flagged_entities`) and :mod:`~.clustering`
(:func:`cluster_entities`).
"""

from __future__ import annotations

from schedlab.analytics.mrdmd.clustering import ClusterResult, cluster_entities
from schedlab.analytics.mrdmd.core import MrDMD, MrDMDWindow, fill_inactive
from schedlab.analytics.mrdmd.scoring import flagged_entities, score_anomalies

__all__ = [
    "ClusterResult",
    "MrDMD",
    "MrDMDWindow",
    "cluster_entities",
    "fill_inactive",
    "flagged_entities",
    "score_anomalies",
]
