"""Output folder of ``schedlab evaluate``: evaluation.parquet/.csv (one row per policy and window,
and, with the consecutive protocol, one per policy for the whole period: ``part`` says which),
summary.json and a bar plot of the metrics (mean over windows; error bars min..max)."""

from __future__ import annotations

from pathlib import Path

from schedlab.report.outputs import write_outputs


def evaluation_records(res: dict) -> list[dict]:
    """One record per policy and window (``part`` "window", ``window_start``, ``window_jobs``, the
    metrics), then one per policy for the whole period (``part`` "whole") when it was run."""
    spans = res.get("windows") or [[s, res["window_len"]] for s in res["window_starts"]]
    records = []
    for r in res["results"]:
        for (start, jobs), w in zip(spans, r["windows"], strict=True):
            records.append({"policy": r["policy"], "part": "window", "window_start": start, "window_jobs": jobs, **w})
    period = res.get("period")
    for r in res["results"]:
        if "whole" in r:
            start, jobs = period[0], period[1] - period[0]
            records.append({"policy": r["policy"], "part": "whole", "window_start": start, "window_jobs": jobs,
                            **r["whole"]})  # fmt: skip
    return records


def write_evaluation(out: Path, res: dict) -> list[str]:
    import pandas as pd

    from schedlab.report import plots

    bars = [
        {
            "policy": r["policy"],
            "backfill": res["backfill"],
            "windows": r["windows"],
            "mean": {k: r[k] for k in ("mean_bsld", "mean_wait", "utilization")},
        }
        for r in res["results"]
    ]
    frames = {"evaluation": pd.DataFrame(evaluation_records(res))}
    return write_outputs(out, res, frames, [lambda: plots.metric_bars(bars, out)])
