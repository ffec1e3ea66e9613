"""The telemetry section of the report: changepoints of the total power series and, for per-node
telemetry, mrDMD anomalies."""

from __future__ import annotations

import math

import numpy as np

from schedlab.analytics.report.formatting import _utc


def telemetry_section(tel) -> dict:
    """Changepoints of the total power series and, for per-node telemetry, mrDMD anomalies.

    The series is averaged to >= 5-minute bins (at most ~2,000 points) before changepoint
    detection: the shifts that matter to operators last hours, and PELT's cost grows with length.
    """
    out: dict = {"level": tel.level, "interval_s": tel.interval, "notes": list(tel.notes)}
    s = tel.series()
    bin_s = max(300.0, tel.interval, math.ceil(len(s) * tel.interval / 2000 / 300) * 300)
    b = np.floor((s["time"].to_numpy() - s["time"].iloc[0]) / bin_s).astype(int)
    import pandas as pd

    ser = (
        pd.DataFrame({"time": s["time"].iloc[0] + b * bin_s, "power_w": s["power_w"]})
        .groupby("time", as_index=False)
        .mean()
    )
    out["series"] = ser
    out["bin_s"] = bin_s
    out["mean_power_w"] = float(s["power_w"].mean())
    out["min_power_w"] = float(s["power_w"].min())
    out["max_power_w"] = float(s["power_w"].max())
    try:
        from schedlab.analytics.changepoints import detect_changepoints
    except ImportError as exc:
        out["changepoints_error"] = f"changepoint module not available ({exc})"
    else:
        try:
            cp = detect_changepoints(
                ser["power_w"].to_numpy(), times=ser["time"].to_numpy(), method="pelt", min_size=6, penalty_scale=10.0
            )
            seg = cp.to_frame()
            seg["start_utc"] = [_utc(x) for x in seg["start"]]
            means = seg["mean"].to_numpy()
            shifts = np.diff(means)
            out.update(
                {
                    "changepoints": int(cp.n_changepoints),
                    "penalty_scale": 10.0,
                    "changepoint_times_utc": [_utc(x) for x in cp.times],
                    "largest_shift_w": float(shifts[np.argmax(np.abs(shifts))]) if len(shifts) else 0.0,
                    "largest_shift_at_utc": _utc(cp.times[int(np.argmax(np.abs(shifts)))]) if len(shifts) else None,
                }
            )
            out["segments"] = seg
            out["cp_times"] = np.asarray(cp.times, dtype=float)
        except Exception as exc:  # a failing detector must not sink the report
            out["changepoints_error"] = f"changepoint detection failed: {exc}"
    if tel.level == "node":
        out.update(_anomalies(tel))
    return out


def _anomalies(tel) -> dict:
    try:
        from schedlab.analytics.mrdmd import MrDMD, score_anomalies
    except ImportError as exc:
        return {"anomalies_error": f"mrDMD module not available ({exc})"}
    f = tel.frame
    mat = f.pivot_table(index="node", columns="slot", values="power_w", aggfunc="mean")
    full = range(int(f["slot"].min()), int(f["slot"].max()) + 1)
    mat = mat.reindex(columns=full)
    filled = int(mat.isna().to_numpy().sum())
    mat = mat.apply(lambda r: r.fillna(r.median()), axis=1).fillna(0.0)
    if mat.shape[0] < 3 or mat.shape[1] < 64:
        return {
            "anomalies_error": "too little per-node telemetry for mrDMD "
            f"({mat.shape[0]} nodes x {mat.shape[1]} samples)"
        }
    try:
        model = MrDMD(max_levels=4, rank=min(10, mat.shape[0])).fit(mat.to_numpy(dtype=float))
        scores = score_anomalies(model)
    except Exception as exc:
        return {"anomalies_error": f"mrDMD failed: {exc}"}
    names = mat.index.to_numpy()
    scores = scores.copy()
    scores["node"] = names[scores["entity"].to_numpy()]
    flagged = scores[scores["flagged"]]
    top = flagged.groupby("node")["z"].apply(lambda z: float(np.abs(z).max())).sort_values(ascending=False)
    return {
        "anomaly_threshold": float(scores.attrs.get("threshold", float("nan"))),
        "anomaly_threshold_rule": scores.attrs.get("threshold_rule"),
        "anomaly_false_alarm_rate": scores.attrs.get("alpha"),
        "anomaly_cells_scored": scores.attrs.get("scored_cells"),
        "anomalous_nodes": [{"node": str(k), "max_abs_z": v} for k, v in top.head(20).items()],
        "anomaly_windows_flagged": len(flagged),
        "anomaly_samples_filled": filled,
        "scores": scores,
    }
