"""Leave-one-app-out: each app in turn is new; fitted on the others, profiled, predicted, scored."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from schedlab.energy.open.matrix import MLP_EPOCHS, MLP_MODELS, MODES, DualCapData, accuracy
from schedlab.energy.open.predict import OpenPredictor, _check_fraction, _check_mode, profile_app
from schedlab.errors import OpenError


def _rng(seed: int, app_index: int, repeat: int) -> np.random.Generator:
    return np.random.default_rng([seed, app_index, repeat])


def leave_one_out(
    data: DualCapData,
    modes=MODES,
    fraction: float = 0.2,
    repeats: int = 5,
    seed: int = 0,
    apps=None,
    rank: int = 6,
    ridge: float = 1e-3,
    epochs: int = MLP_EPOCHS,
    authors=None,
    n_models: int = MLP_MODELS,
    mlp_cache: dict | None = None,
):
    """Each app in turn is new: fit on the others, profile it ``repeats`` times, predict, score.

    The MLP of a held-out app does not depend on ``fraction`` or the profiled sets, so a dict passed
    as ``mlp_cache`` keeps the fitted ensembles (keyed by held-out app, epochs, seed, n_models) for a
    later call on the *same* ``data`` (the benchmark scores 20 % and 10 % on one set of MLPs).

    Returns ``(per_app, summary, surfaces)``: a DataFrame with one row per (mode, app) of mean
    accuracies over the repeats; a dict with median/mean/min over apps per mode (and, with
    ``authors`` = :func:`load_authors_predictions`, ours vs the authors' on their apps); and
    ``{mode: (A, P) predicted rows}`` from repeat 0 (every app predicted as new).
    """
    modes = [modes] if isinstance(modes, str) else list(modes)
    for m in modes:
        _check_mode(m)
    _check_fraction(fraction)
    if repeats < 1:
        raise OpenError(f"repeats must be >= 1 (got {repeats})")
    apps = data.apps if apps is None else list(apps)
    rows = []
    surfaces = {m: np.full(data.perf.shape, np.nan) for m in modes}
    t0 = time.perf_counter()
    for app in apps:
        i = data.index(app)
        fitted = _fit_without(data, app, modes, rank, ridge, epochs, seed, n_models, mlp_cache)
        for m in modes:
            row, surfaces[m][i] = _score(data, app, m, fitted[m], fraction, repeats, seed)
            if authors is not None and app in authors:
                row["authors_acc_all"] = accuracy(authors[app], data.perf[i])
            rows.append(row)
    per_app = pd.DataFrame(rows)
    summary = {
        "fraction": fraction,
        "repeats": repeats,
        "seed": seed,
        "rank": rank,
        "ridge": ridge,
        "mlp_epochs": epochs,
        "mlp_models": n_models,
        "apps": len(apps),
        "seconds": time.perf_counter() - t0,
        "modes": {m: _mode_summary(g) for m, g in per_app.groupby("mode", sort=False)},
    }
    return per_app, summary, surfaces


def _fit_without(data: DualCapData, app: str, modes, rank, ridge, epochs, seed, n_models, mlp_cache) -> dict:
    """One :class:`OpenPredictor` per mode, fitted on every app but ``app`` (MLP shared, cached)."""
    known = data.subset([a for a in data.apps if a != app])
    fitted = {}
    key = (app, epochs, seed, n_models)
    cached = mlp_cache.get(key) if mlp_cache is not None else None
    for m in modes:
        p = OpenPredictor(mode=m, rank=rank, ridge=ridge, epochs=epochs, seed=seed, n_models=n_models).fit(
            known, mlp=cached
        )
        fitted[m] = p
        if m == "counters":
            cached = p.mlp_
            if mlp_cache is not None:
                mlp_cache[key] = cached
    return fitted


def _score(data: DualCapData, app: str, mode: str, predictor, fraction: float, repeats: int, seed: int):
    """Accuracies of ``app`` predicted as new over ``repeats`` profiled sets, and repeat 0's prediction."""
    i = data.index(app)
    acc_u, acc_a, acc_p = [], [], []
    for r in range(repeats):
        prof = profile_app(data, app, fraction, _rng(seed, i, r), mode="runtime")
        pred = predictor.predict(prof)
        un = np.setdiff1d(data.available(i), prof.pairs)
        acc_u.append(accuracy(pred[un], data.perf[i, un]))
        acc_a.append(accuracy(pred, data.perf[i]))
        acc_p.append(accuracy(pred[prof.pairs], data.perf[i, prof.pairs]))
        if r == 0:
            first = pred
    row = {
        "mode": mode,
        "app": app,
        "suite": data.suites[i],
        "profiled_pairs": len(prof.pairs),
        "measured_pairs": len(data.available(i)),
        "acc_unprofiled": float(np.mean(acc_u)),
        "acc_all": float(np.mean(acc_a)),
        "acc_profiled": float(np.mean(acc_p)),
        "acc_unprofiled_min_repeat": float(np.min(acc_u)),
    }
    return row, first


def _mode_summary(g: pd.DataFrame) -> dict:
    """Median / mean / min over apps of one mode's rows (and ours vs the authors' where known)."""
    s = {
        k: {
            "median": float(g[k].median()),
            "mean": float(g[k].mean()),
            "min": float(g[k].min()),
            "min_app": str(g.loc[g[k].idxmin(), "app"]),
        }
        for k in ("acc_unprofiled", "acc_all")
    }
    s["profiled_pairs_max"] = int(g["profiled_pairs"].max())
    s["profiled_fraction_max"] = float((g["profiled_pairs"] / g["measured_pairs"]).max())
    if "authors_acc_all" in g and g["authors_acc_all"].notna().any():
        h = g[g["authors_acc_all"].notna()]
        s["vs_authors"] = {
            "apps": len(h),
            "ours_acc_all_mean": float(h["acc_all"].mean()),
            "authors_acc_all_mean": float(h["authors_acc_all"].mean()),
            "ours_better_apps": int((h["acc_all"] > h["authors_acc_all"]).sum()),
        }
    return s


def loo_surfaces(
    data: DualCapData, mode: str = "counters", fraction: float = 0.2, seed: int = 0, epochs: int = MLP_EPOCHS
) -> np.ndarray:
    """(A, P) predicted rows, each app predicted as new (leave-one-app-out, one profiled set)."""
    return leave_one_out(data, mode, fraction, repeats=1, seed=seed, epochs=epochs)[2][mode]
