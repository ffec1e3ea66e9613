"""Seeded synthetic node telemetry with planted anomalies and their ground truth.

Real per-node power series with labelled faults are not available (SURF Lisa's measured power
is one series for the whole partition), so detectors are checked on this generator.  Node
``i`` in rack ``r`` draws

    power_i(t) = base_i + amp_i * load_g(t) + rack_r(t) + noise_i(t) + anomalies

* ``load_g``: a daily cycle (fundamental plus a second harmonic, peak in the afternoon) with a
  phase per behaviour group ``g`` (``groups`` > 1 gives clusters with shifted, scaled cycles);
* racks share a load factor (``amp_i`` = rack factor in [0.9, 1.1] x node factor in [0.85, 1.15])
  and ``rack_r``, a slow AR(1) term (30-minute memory, sd ``rack_noise``): correlated rack
  structure;
* ``noise_i``: white noise with a per-node level in ``noise * [0.8, 1.2]``.

Anomalies (sizes in units of ``noise``): ``drift`` (a node's power ramps up linearly from
``start``, reaching ``magnitude`` at the end), ``step`` (a level shift from ``start`` on one node,
or on every node with ``entity=-1``), ``oscillation`` (a sinusoid of ``period`` samples on one
node in ``[start, stop)``), ``spike`` (a train of one-sample spikes every ``period`` samples in
``[start, stop)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from schedlab.errors import SchedlabError

KINDS = ("drift", "step", "oscillation", "spike")


@dataclass
class Anomaly:
    """One planted anomaly; ``entity=-1`` means the whole cluster (``step`` only)."""

    kind: str
    entity: int | None = None  # None: drawn at random
    start: int | None = None  # sample index; None: drawn in the middle half
    stop: int | None = None  # exclusive; None: end of series (drift/step) or start + 10 %
    magnitude: float | None = None  # in noise units; None: the kind's default
    period: int = 8  # samples (oscillation / spike)


DEFAULT_MAGNITUDE = {"drift": 8.0, "step": 5.0, "oscillation": 4.0, "spike": 12.0}


@dataclass
class SyntheticTelemetry:
    values: np.ndarray  # nodes x samples, W
    times: np.ndarray  # seconds from the start
    rack: np.ndarray  # rack of each node
    group: np.ndarray  # behaviour group of each node
    anomalies: pd.DataFrame  # kind, entity, start, stop, magnitude_w
    dt: float
    params: dict = field(default_factory=dict)
    active: np.ndarray | None = None  # entities x samples: running (jobs); None = always

    @property
    def anomalous_entities(self) -> set[int]:
        return set(int(e) for e in self.anomalies["entity"] if e >= 0)

    def cluster_power(self) -> np.ndarray:
        return self.values.sum(axis=0)


def make_telemetry(
    n_nodes: int = 64,
    n_samples: int = 4096,
    dt: float = 30.0,
    anomalies=(),
    rack_size: int = 16,
    groups: int = 1,
    base: float = 250.0,
    amplitude: float = 120.0,
    noise: float = 6.0,
    rack_noise: float = 2.0,
    seed: int = 0,
) -> SyntheticTelemetry:
    """N nodes x T samples of node power (W) with planted ``anomalies`` (kind names or :class:`Anomaly`)."""
    if n_nodes < 1 or n_samples < 16:
        raise SchedlabError(f"need n_nodes >= 1 and n_samples >= 16, got {n_nodes}, {n_samples}")
    if rack_size < 1 or groups < 1 or groups > n_nodes:
        raise SchedlabError(f"rack_size must be >= 1 and 1 <= groups <= n_nodes, got {rack_size}, {groups}")
    if dt <= 0 or noise <= 0:
        raise SchedlabError("dt and noise must be positive")
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) * dt
    rack = np.arange(n_nodes) // rack_size
    group = (np.arange(n_nodes) * groups) // n_nodes
    day = 2 * np.pi * t / 86400.0
    gphase = np.linspace(0, np.pi, groups, endpoint=False)
    gscale = np.linspace(1.0, 2.0, groups) if groups > 1 else np.ones(1)
    load = np.stack(
        [
            gs * (0.5 - 0.4 * np.cos(day - 0.6 - ph) - 0.1 * np.cos(2 * (day - 0.6 - ph)))
            for ph, gs in zip(gphase, gscale, strict=False)
        ]
    )  # groups x T
    n_racks = int(rack.max()) + 1
    amp = amplitude * rng.uniform(0.9, 1.1, n_racks)[rack] * rng.uniform(0.85, 1.15, n_nodes)
    X = (base * rng.uniform(0.9, 1.1, n_nodes))[:, None] + amp[:, None] * load[group]
    phi = np.exp(-dt / 1800.0)  # 30-minute memory
    e = rng.standard_normal((n_racks, n_samples)) * rack_noise * np.sqrt(1 - phi**2)
    ar = np.empty_like(e)
    ar[:, 0] = rng.standard_normal(n_racks) * rack_noise
    for k in range(1, n_samples):
        ar[:, k] = phi * ar[:, k - 1] + e[:, k]
    X += ar[rack]
    sig = noise * rng.uniform(0.8, 1.2, n_nodes)
    X += rng.standard_normal((n_nodes, n_samples)) * sig[:, None]
    rows = [_plant(X, spec, rng, n_nodes, n_samples, noise) for spec in anomalies]
    truth = pd.DataFrame(rows, columns=["kind", "entity", "start", "stop", "magnitude_w"])
    return SyntheticTelemetry(
        values=X,
        times=t,
        rack=rack,
        group=group,
        anomalies=truth,
        dt=dt,
        params=dict(n_nodes=n_nodes, n_samples=n_samples, seed=seed, noise=noise),
    )


def _plant(X: np.ndarray, spec, rng: np.random.Generator, n_nodes: int, n_samples: int, noise: float) -> tuple:
    """Add one anomaly (a kind name or :class:`Anomaly`) to ``X`` in place; its row of the truth table."""
    a = Anomaly(spec) if isinstance(spec, str) else spec
    if a.kind not in KINDS:
        raise SchedlabError(f"anomaly kind must be one of {KINDS}, got {a.kind!r}")
    ent = a.entity
    if ent is None:
        ent = int(rng.integers(n_nodes))
    if not -1 <= ent < n_nodes or (ent == -1 and a.kind != "step"):
        raise SchedlabError(f"anomaly entity {ent} out of range (-1 only for a cluster-wide step)")
    start = int(rng.integers(n_samples // 4, 3 * n_samples // 4)) if a.start is None else int(a.start)
    stop = (
        a.stop
        if a.stop is not None
        else (n_samples if a.kind in ("drift", "step") else min(n_samples, start + n_samples // 10))
    )
    if not 0 <= start < stop <= n_samples:
        raise SchedlabError(f"anomaly window [{start}, {stop}) is not inside 0..{n_samples}")
    mag = (DEFAULT_MAGNITUDE[a.kind] if a.magnitude is None else a.magnitude) * noise
    rows_ = slice(None) if ent == -1 else ent
    k = np.arange(stop - start)
    if a.kind == "drift":
        X[rows_, start:stop] += mag * k / max(1, n_samples - 1 - start)
    elif a.kind == "step":
        X[rows_, start:stop] += mag
    elif a.kind == "oscillation":
        X[rows_, start:stop] += mag * np.sin(2 * np.pi * k / a.period)
    else:
        X[rows_, start:stop] += mag * (k % a.period == 0)
    return (a.kind, ent, start, stop, mag)


def match_detections(scores: pd.DataFrame, truth: pd.DataFrame, tolerance: int = 0) -> dict:
    """Recall and false alarms of flagged (entity, window) cells against planted node anomalies.

    A planted anomaly is found when some flagged cell has its entity and a window overlapping
    ``[start - tolerance, stop + tolerance)``.  A false alarm is a flagged cell that matches no
    planted anomaly (wrong entity, or a window away from it).  Cluster-wide anomalies
    (``entity == -1``) are skipped: they are for changepoint detection on the total.
    """
    f = scores[scores["flagged"]]
    node = truth[truth["entity"] >= 0]
    found = []
    matched = np.zeros(len(f), bool)
    fe, fs, fp = f["entity"].to_numpy(), f["start"].to_numpy(), f["stop"].to_numpy()
    for _, a in node.iterrows():
        hit = (fe == a["entity"]) & (fs < a["stop"] + tolerance) & (fp > a["start"] - tolerance)
        found.append(bool(hit.any()))
        matched |= hit
    return {
        "planted": len(node),
        "found": int(sum(found)),
        "recall": float(np.mean(found)) if found else float("nan"),
        "found_each": found,
        "flagged_cells": len(f),
        "false_alarm_cells": int((~matched).sum()),
        "false_alarm_rate": float((~matched).sum() / max(1, len(scores))),
        "false_alarm_entities": sorted(set(int(e) for e in fe[~matched])),
    }


def make_job_telemetry(
    n_jobs: int = 150,
    n_samples: int = 2048,
    dt: float = 300.0,
    anomalies=(),
    min_length: int = 256,
    noise: float = 6.0,
    seed: int = 0,
) -> SyntheticTelemetry:
    """Jobs x time usage: job j runs on ``[start_j, stop_j)`` (at least ``min_length`` samples) at
    its own level (100-400) following the machine's daily cycle, plus white noise; 0 when not
    running (``active`` marks the run spans).  ``anomalies`` (kinds ``drift``, ``step``,
    ``oscillation``; default magnitudes as :func:`make_telemetry`) are planted on distinct jobs that
    run at least half the span, inside their run."""
    if n_jobs < 8 or n_samples < 4 * min_length:
        raise SchedlabError(f"need n_jobs >= 8 and n_samples >= 4 * min_length, got {n_jobs}, {n_samples}")
    rng = np.random.default_rng(seed)
    length = np.minimum(n_samples, (min_length + rng.exponential(n_samples / 3, n_jobs)).astype(int))
    start = (rng.random(n_jobs) * (n_samples - length + 1)).astype(int)
    stop = start + length
    t = np.arange(n_samples)
    active = (t[None, :] >= start[:, None]) & (t[None, :] < stop[:, None])
    day = 2 * np.pi * t * dt / 86400.0
    load = 0.8 + 0.2 * np.cos(day - 0.6)
    level = rng.uniform(100, 400, n_jobs)
    X = (
        level[:, None] * load[None, :]
        + rng.standard_normal((n_jobs, n_samples)) * noise * rng.uniform(0.8, 1.2, n_jobs)[:, None]
    )
    rows = []
    long_jobs = list(rng.permutation(np.flatnonzero(length >= n_samples // 2)))
    for spec in anomalies:
        a = Anomaly(spec) if isinstance(spec, str) else spec
        if a.kind not in ("drift", "step", "oscillation"):
            raise SchedlabError(f"job anomaly kind must be drift, step or oscillation, got {a.kind!r}")
        ent = int(long_jobs.pop()) if a.entity is None else int(a.entity)
        s0 = int(start[ent] + length[ent] // 3) if a.start is None else int(a.start)
        s1 = int(stop[ent]) if a.kind != "oscillation" else min(int(stop[ent]), s0 + n_samples // 10)
        mag = (DEFAULT_MAGNITUDE[a.kind] if a.magnitude is None else a.magnitude) * noise
        k = np.arange(s1 - s0)
        if a.kind == "drift":
            X[ent, s0:s1] += mag * k / max(1, s1 - s0 - 1)
        elif a.kind == "step":
            X[ent, s0:s1] += mag
        else:
            X[ent, s0:s1] += mag * np.sin(2 * np.pi * k / a.period)
        rows.append((a.kind, ent, s0, s1, mag))
    X[~active] = 0.0
    truth = pd.DataFrame(rows, columns=["kind", "entity", "start", "stop", "magnitude_w"])
    return SyntheticTelemetry(
        values=X,
        times=t * dt,
        rack=np.zeros(n_jobs, int),
        group=np.zeros(n_jobs, int),
        anomalies=truth,
        dt=dt,
        params=dict(n_jobs=n_jobs, n_samples=n_samples, seed=seed),
        active=active,
    )
