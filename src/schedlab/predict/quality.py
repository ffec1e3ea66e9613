"""How good were the runtime predictions of a simulation: the report beside the schedule metrics.

For each job the prediction made at its arrival (``predicted``) is compared with what it ran
(``actual``, after a kill at the request):

  mae_s          mean absolute error, seconds
  median_ratio   median of predicted / actual
  under_share    share of jobs predicted shorter than they ran (each needed a correction)
  e_loss         mean asymmetric squared log error: (log p - log a)^2, weighted
                 ``UNDER_WEIGHT`` times where p < a (under-predictions hurt backfilling more;
                 the weighting idea of Gaussier et al.'s E-Loss, SC'15)
  request_mae_s  the same MAE for the requested times, the baseline a predictor must beat
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from schedlab.predict.online import UNDER_WEIGHT


def _metrics(pred: np.ndarray, actual: np.ndarray, req: np.ndarray) -> dict:
    if len(pred) == 0:
        return {"jobs": 0, "mae_s": None, "median_ratio": None, "under_share": None, "e_loss": None}
    a = np.maximum(actual, 1.0)
    p = np.maximum(pred, 1.0)
    d = np.log(p) - np.log(a)
    w = np.where(p < a, UNDER_WEIGHT, 1.0)
    return {
        "jobs": len(p),
        "mae_s": float(np.mean(np.abs(p - a))),
        "median_ratio": float(np.median(p / a)),
        "under_share": float(np.mean(p < a)),
        "e_loss": float(np.mean(w * d * d)),
        "request_mae_s": float(np.mean(np.abs(np.maximum(req, 1.0) - a))),
    }


def prediction_quality(predicted, actual, req_time, user=None) -> tuple[dict, pd.DataFrame]:
    """(whole-trace metrics, per-user table) of ``predicted`` against ``actual`` runtimes."""
    predicted, actual, req = (np.asarray(x, dtype=np.float64) for x in (predicted, actual, req_time))
    overall = _metrics(predicted, actual, req)
    if user is None:
        return overall, pd.DataFrame()
    user = np.asarray(user)
    rows = []
    for u in np.unique(user):
        m = user == u
        rows.append({"user": u, **_metrics(predicted[m], actual[m], req[m])})
    table = pd.DataFrame(rows).sort_values("jobs", ascending=False, kind="stable").reset_index(drop=True)
    return overall, table


__all__ = ["prediction_quality"]
