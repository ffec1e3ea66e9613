"""The runs behind ``schedlab energy open`` (OPEN on one app predicted as new) and
``schedlab energy ecoshift`` (a power cap shared over a cluster of apps), built from
:mod:`schedlab.energy.open` and :mod:`schedlab.energy.ecoshift`.  Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class AppPrediction:
    """OPEN on one app predicted as new: per mode its accuracy and predicted surface."""

    app: str
    index: int  # the app's row in the data
    modes: dict  # mode -> {"acc_unprofiled", "acc_all", "predicted": (P,) array}
    profiled: int  # pairs profiled
    unprofiled: int  # measured pairs not profiled (where acc_unprofiled is counted)
    summary: dict
    surface: object  # DataFrame: one row per pair, measured, profiled and predicted per mode


def predict_new_app(data, app: str, modes: list[str], fraction: float, seed: int, epochs: int) -> AppPrediction:
    """Fit OPEN on every other app, profile ``fraction`` of ``app``'s pairs with full runs (seeded by
    ``[seed, app index, 0]``), and predict its whole surface in each of ``modes``."""
    import numpy as np
    import pandas as pd

    from schedlab.energy import open as op

    i = data.index(app)
    known = data.subset([a for a in data.apps if a != app])
    prof = op.profile_app(data, app, fraction, np.random.default_rng([seed, i, 0]), "runtime")
    un = np.setdiff1d(data.available(i), prof.pairs)
    res = {}
    for m in modes:
        pred = op.OpenPredictor(mode=m, epochs=epochs, seed=seed).fit(known).predict(prof)
        res[m] = {
            "acc_unprofiled": op.accuracy(pred[un], data.perf[i, un]),
            "acc_all": op.accuracy(pred, data.perf[i]),
            "predicted": pred,
        }
    summary = {
        "app": app,
        "profile_fraction": fraction,
        "seed": seed,
        "profiled_pairs": [[int(c), int(g)] for c, g in data.pairs[prof.pairs]],
        "measured_pairs": len(data.available(i)),
        "modes": {m: {k: v for k, v in r.items() if k != "predicted"} for m, r in res.items()},
    }
    surface = pd.DataFrame(
        {
            "cpu_cap_w": data.pairs[:, 0],
            "gpu_cap_w": data.pairs[:, 1],
            "measured_perf_norm": data.perf[i],
            "profiled": np.isin(np.arange(len(data.pairs)), prof.pairs),
            **{f"predicted_{m}": r["predicted"] for m, r in res.items()},
        }
    )
    return AppPrediction(app, i, res, len(prof.pairs), len(un), summary, surface)


def cluster_apps(data, apps: list[str] | None, nodes: int | None, seed: int) -> list[str]:
    """The app on each node: ``apps`` as given (each checked), else ``nodes`` apps drawn at random
    with ``seed``, else one node per app of the data."""
    import numpy as np

    if apps is not None:
        for a in apps:
            data.index(a)
        return apps
    if nodes is not None:
        rng = np.random.default_rng(seed)
        return [data.apps[k] for k in rng.integers(0, len(data.apps), nodes)]
    return list(data.apps)


def share_power_cap(data, names, policies, cap, cap_fraction, predictor, mode, fraction, seed, epochs):
    """EcoShift on the cluster whose node ``k`` runs ``names[k]``: the cap (``cap`` W, else
    ``cap_fraction`` (default 0.8) of peak), predictions (``oracle`` = measured, ``open`` = OPEN
    leave-one-app-out in ``mode``), then every policy decided on them and scored on measured.
    Returns ``(summary, frames)``: the JSON summary, and the policy table and one allocation table
    per policy."""
    from schedlab.energy import ecoshift as es
    from schedlab.energy import open as op

    rows = [data.index(a) for a in names]
    measured = data.perf[rows]
    peak = len(rows) * float(data.pairs[:, 0].max() + data.pairs[:, 1].max())
    cap_w = cap if cap is not None else (cap_fraction if cap_fraction is not None else 0.8) * peak
    es.PowerProblem(data.pairs, measured, cap_w)  # an infeasible cap fails before any prediction
    if predictor == "oracle":
        pred = measured
    else:
        distinct = list(dict.fromkeys(names))
        _, _, surf = op.leave_one_out(data, mode, fraction, repeats=1, seed=seed, apps=distinct, epochs=epochs)
        pred = surf[mode][rows]
    table, allocs = es.evaluate_cluster(data.pairs, pred, measured, cap_w, policies, apps=names)
    summary = {
        "cap_w": cap_w,
        "peak_w": peak,
        "cap_fraction": cap_w / peak,
        "nodes": len(names),
        "predictor": predictor,
        "mode": mode if predictor == "open" else None,
        "profile_fraction": fraction if predictor == "open" else None,
        "seed": seed,
        "apps": names,
        "policies": table.to_dict(orient="records"),
    }
    eco = allocs.get("ecoshift")
    if eco is not None:
        summary["ecoshift"] = {"pool_w": eco.extra["pool_w"], "reclaimed_w": eco.extra["reclaimed_w"]}
    frames = {"policies": table}
    for p in policies:
        frames[f"allocation_{p.replace('-', '_')}"] = allocs[p].to_frame(names, measured)
    return summary, frames
