"""``schedlab evaluate``: a trained model and the heuristics on the same jobs, same semantics.

Two protocols (:class:`Protocol`):

* ``consecutive`` (the default): the later period, as users meet it.  The split (by default the
  test split, the jobs after ``--train-split``) is cut into consecutive windows that cover it
  exactly (:func:`consecutive_windows`), each simulated from an empty machine (a runtime predictor
  is warmed by the trace's earlier jobs, :meth:`Workload.history`), and the whole split is also
  simulated once, as one run.  Every row (the agent, a tree, every heuristic, ``easy++``,
  ``random``) runs with the same estimates, correction, load scale and backfilling.
* ``windows``: K windows placed by a seed (or given), the six heuristics of the first protocol;
  kept to reproduce earlier numbers (and RLScheduler's 10 published windows).

(A model as a scheduling policy, ``--policy model:PATH``, is :mod:`schedlab.rl.policy`.)
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.options import Estimates
from schedlab.rl.episodes import eval_window_starts, split_bounds
from schedlab.rl.policy import ModelPolicy, model_policy
from schedlab.simulator.config import SimConfig
from schedlab.workload.table import Workload

#: the heuristics of the ``windows`` protocol (and of earlier results)
HEURISTICS = ("fcfs", "sjf", "saf", "wfp3", "unicep", "f1")
#: the ``consecutive`` protocol's rows besides the agent (and a tree): every static and dynamic
#: heuristic, then the named baselines
EVERY_HEURISTIC = ("fcfs", "sjf", "ljf", "saf", "laf", "largest", "smallest", "f1", "f2", "f3", "f4", "wfp3", "unicep")
BASELINES = ("easy++", "random")
MEANS = ("mean_bsld", "mean_wait", "utilization")


class Protocol(StrEnum):
    """consecutive: windows covering the split, plus the split as one run; windows: K seeded windows."""

    CONSECUTIVE = "consecutive"
    WINDOWS = "windows"


def evaluation_windows(
    workload: Workload, split: str, windows: int, window_len: int, seed: int, train_split: float = 0.7
) -> list[int]:
    lo, hi = split_bounds(len(workload), train_split, split)
    return eval_window_starts(lo, hi, window_len, windows, seed).tolist()


def consecutive_windows(lo: int, hi: int, window_len: int) -> list[tuple[int, int]]:
    """(start, length) of consecutive windows that cover jobs [lo, hi) exactly: no gap, no overlap.

    Full windows of ``window_len`` jobs from ``lo``; the jobs left at the end (fewer than a
    window) form a last, shorter window when they are at least half a window, and otherwise join
    the last full window.  So every window holds between half and one and a half windows of jobs
    (a split shorter than a window is one window), and a short tail never weighs as much as a full
    window in the mean over windows."""
    n = hi - lo
    if n < 2 or window_len < 2:
        raise SchedlabError(f"consecutive windows need 2 jobs or more, in windows of 2 or more (got {n}, {window_len})")
    full, tail = divmod(n, window_len)
    if full == 0:
        return [(lo, n)]
    spans = [(lo + i * window_len, window_len) for i in range(full)]
    if 2 * tail >= window_len:
        spans.append((lo + full * window_len, tail))
    elif tail:
        spans[-1] = (spans[-1][0], window_len + tail)
    return spans


def _effective(config: SimConfig, policy) -> SimConfig:
    """The configuration the simulator runs ``policy`` under (a recipe such as easy++ brings its own
    estimates and backfill order)."""
    overrides = getattr(policy, "overrides", ())
    return config.replace(policy=policy, **dict(overrides)) if overrides else config.replace(policy=policy)


def _run_row(label: str, kind: str, policy, parts: list[Workload], whole: Workload | None, config, tau) -> dict:
    """One row: ``policy`` on every window (and on the whole period), metrics per window and means."""
    from schedlab.simulator.compare import metrics_of
    from schedlab.simulator.run import simulate

    cfg = _effective(config, policy)
    t0 = time.perf_counter()
    per = [metrics_of(simulate(part, cfg), tau) for part in parts]
    row = {"policy": label, "kind": kind, "config": cfg.to_dict(), "windows": per, "seconds": 0.0}
    row.update({k: float(np.mean([w[k] for w in per])) for k in MEANS})
    if whole is not None:
        row["whole"] = metrics_of(simulate(whole, cfg), tau)
    row["seconds"] = time.perf_counter() - t0
    return row


def _rows(policy, source, tree, others, parts, whole, config, tau, load_scale) -> list[dict]:
    """The agent's row, the tree's (when given), then one per ``(kind, heuristic name)`` of ``others``."""
    from schedlab.policies import resolve

    rows = [_run_row(f"{policy.model.agent} ({Path(source).name})", "agent", policy, parts, whole, config, tau)]
    if tree is not None:
        rows.append(_run_row(f"tree ({getattr(tree, 'source', tree.spec)})", "tree", tree, parts, whole, config, tau))
    rows += [_run_row(name, kind, resolve(name), parts, whole, config, tau) for kind, name in others]
    for r in rows:
        r["config"]["load_scale"] = load_scale
    return rows


def _sim_config(backfill, preset, estimates, correction, cluster=None) -> SimConfig:
    opts = dict(backfill=backfill, preset=preset, estimates=estimates, correction=correction, cluster=cluster)
    if preset == "rlscheduler":
        opts.update(capacity_unit="nodes", kill_at_request=False)
    return SimConfig(**opts)


def _same_information(row: dict, config: SimConfig) -> bool:
    """Whether a row planned with the estimates every row was given (easy++ brings predictions)."""
    c = row["config"]
    if c["estimates"] != str(config.estimates):
        return False
    return not Estimates(config.estimates).predicted or c["correction"] == str(config.correction)


def _gaps(rows: list[dict], config: SimConfig) -> dict:
    """Best same-information heuristic (over windows and, when run, over the whole period) and every
    row's relative gap to it (``gap_to_best``, ``whole_gap_to_best``)."""
    for r in rows:
        r["same_information"] = _same_information(r, config)
    candidates = [r for r in rows if r["kind"] in ("heuristic", "baseline") and r["same_information"]]
    if not candidates:
        raise SchedlabError("no heuristic ran with the estimates given; nothing to compare with")
    best = min(candidates, key=lambda r: r["mean_bsld"])
    out = {"best_heuristic": best["policy"]}
    for r in rows:
        r["gap_to_best"] = r["mean_bsld"] / best["mean_bsld"] - 1.0
    if "whole" in rows[0]:
        whole_best = min(candidates, key=lambda r: r["whole"]["mean_bsld"])
        out["best_heuristic_whole"] = whole_best["policy"]
        for r in rows:
            r["whole_gap_to_best"] = r["whole"]["mean_bsld"] / whole_best["whole"]["mean_bsld"] - 1.0
    return out


def _load_model(model):
    policy = model if isinstance(model, ModelPolicy) else model_policy(str(model))
    return policy, (policy.path if isinstance(model, ModelPolicy) else model)


def _summary(policy: ModelPolicy, source, workload: Workload, rows: list[dict], config: SimConfig) -> dict:
    agent = rows[0]
    fcfs = next((r for r in rows if r["policy"] == "fcfs"), None)
    best = _gaps(rows, config)
    textbook = config.preset == "textbook"
    return {
        "model": str(source),
        "agent": policy.model.agent,
        "trace": workload.name,
        "backfill": str(config.backfill),
        "preset": str(config.preset),
        "estimates": str(config.estimates),
        "correction": str(config.correction),
        "model_backfill": policy.env_options(config).backfill.value if textbook else str(config.backfill),
        "results": rows,
        **best,
        "bsld_vs_best_heuristic": agent["gap_to_best"],
        "whole_bsld_vs_best_heuristic": agent.get("whole_gap_to_best"),
        "bsld_vs_fcfs": agent["mean_bsld"] / fcfs["mean_bsld"] - 1.0 if fcfs else None,
        "agent_seconds": agent["seconds"],
    }


def evaluate(
    model: str | Path | ModelPolicy,
    workload: Workload,
    starts: list[int],
    window_len: int,
    backfill: str = "easy",
    preset: str = "textbook",
    heuristics=HEURISTICS,
    tau: float = 10.0,
    estimates: str = "requested",
    correction: str = "reqtime",
    load_scale: float = 1.0,
    tree=None,
    cluster=None,
) -> dict:
    """The ``windows`` protocol: mean and per-window metrics of the model (and ``tree``, a resolved
    ``tree:`` policy, when given) and each heuristic on the windows of ``window_len`` jobs at
    ``starts``.  ``model`` is a model file or run folder (or a shipped model's name, or an already
    loaded :class:`ModelPolicy`); it is loaded once."""
    policy, source = _load_model(model)
    config = _sim_config(backfill, preset, estimates, correction, cluster)
    scaled = workload if load_scale == 1.0 else workload.scale_load(load_scale)
    parts = [scaled.window(int(s), window_len) for s in starts]
    rows = _rows(policy, source, tree, [("heuristic", h) for h in heuristics], parts, None, config, tau, load_scale)
    return {
        **_summary(policy, source, workload, rows, config),
        "protocol": str(Protocol.WINDOWS),
        "window_len": window_len,
        "window_starts": [int(s) for s in starts],
        "windows": [[int(s), window_len] for s in starts],
        "load_scale": load_scale,
    }


def temporal_evaluation(
    model: str | Path | ModelPolicy,
    workload: Workload,
    lo: int,
    hi: int,
    window_len: int = 1024,
    *,
    tree=None,
    backfill: str = "easy",
    preset: str = "textbook",
    estimates: str = "requested",
    correction: str = "reqtime",
    load_scale: float = 1.0,
    tau: float = 10.0,
    heuristics=EVERY_HEURISTIC,
    baselines=BASELINES,
    cluster=None,
) -> dict:
    """The ``consecutive`` protocol on jobs [lo, hi) (the later period): every row on the
    consecutive windows of :func:`consecutive_windows` and on the whole period as one run, all
    with the same estimates, correction, load scale and backfilling.  ``tree``: a resolved
    ``tree:`` policy, added as a row.  Rows' ``config`` is what each ran under (plus the load
    scale); ``same_information`` says whether it planned with the estimates given.  ``cluster``: a
    machine description every row runs on (easy++, which plans on predictions, is left out there)."""
    policy, source = _load_model(model)
    config = _sim_config(backfill, preset, estimates, correction, cluster)
    if cluster is not None:
        baselines = tuple(b for b in baselines if b != "easy++")
    scaled = workload if load_scale == 1.0 else workload.scale_load(load_scale)
    spans = consecutive_windows(lo, hi, window_len)
    parts = [scaled.window(s, n) for s, n in spans]
    others = [("heuristic", h) for h in heuristics] + [("baseline", b) for b in baselines]
    rows = _rows(policy, source, tree, others, parts, scaled.window(lo, hi - lo), config, tau, load_scale)
    return {
        **_summary(policy, source, workload, rows, config),
        "protocol": str(Protocol.CONSECUTIVE),
        "period": [int(lo), int(hi)],
        "window_len": window_len,
        "windows": [[int(s), int(n)] for s, n in spans],
        "window_starts": [int(s) for s, _ in spans],
        "load_scale": load_scale,
    }


__all__ = [
    "BASELINES",
    "EVERY_HEURISTIC",
    "HEURISTICS",
    "Protocol",
    "consecutive_windows",
    "evaluate",
    "evaluation_windows",
    "temporal_evaluation",
]
