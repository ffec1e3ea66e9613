"""Output folder of ``schedlab evaluate``: evaluation.parquet/.csv (one row per policy and window),
summary.json and a bar plot of the metrics."""

from __future__ import annotations

from pathlib import Path

from schedlab.report.outputs import write_outputs


def write_evaluation(out: Path, res: dict, starts: list[int], backfill: str) -> list[str]:
    import pandas as pd

    from schedlab.report import plots

    records = [
        {"policy": r["policy"], "window_start": s, **w}
        for r in res["results"]
        for s, w in zip(starts, r["windows"], strict=True)
    ]
    bars = [
        {
            "policy": r["policy"],
            "backfill": backfill,
            "windows": r["windows"],
            "mean": {k: r[k] for k in ("mean_bsld", "mean_wait", "utilization")},
        }
        for r in res["results"]
    ]
    return write_outputs(out, res, {"evaluation": pd.DataFrame(records)}, [lambda: plots.metric_bars(bars, out)])
