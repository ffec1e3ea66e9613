"""Output folders of ``simulate`` and ``compare``: tables (Parquet/CSV), summary.json and plots."""

from __future__ import annotations

from pathlib import Path

from schedlab.report.outputs import write_outputs


def _series(res) -> dict:
    from schedlab.metrics import queue_length_series, utilization_series

    ut, uv = utilization_series(res.start, res.end, res.size, res.capacity)
    qt, qv = queue_length_series(res.workload.submit, res.start)
    return dict(util_t=ut, util=uv, queue_t=qt, queue=qv)


def write_simulation(out: Path, summary: dict, res) -> list[str]:
    """jobs.parquet/.csv (one row per job), summary.json, wait_cdf.png and over_time.png."""
    from schedlab.report import plots

    label = f"{res.config.policy_label}+{res.config.backfill}"
    series = _series(res)
    frames = {"jobs": res.to_frame()}
    makers = [lambda: plots.wait_cdfs({label: res.wait}, out), lambda: plots.over_time({label: series}, out)]
    if "predicted" in res.extra:  # prediction quality per user, and predicted vs actual
        from schedlab.predict.quality import prediction_quality

        pred = res.extra["predicted"]
        _, frames["prediction_by_user"] = prediction_quality(pred, res.run, res.workload.req_time, res.workload.user)
        makers.append(lambda: plots.predicted_vs_actual(pred, res.run, res.workload.req_time, out))
    return write_outputs(out, summary, frames, makers)


def write_comparison(out: Path, summary: dict, rows, starts: list[int] | None) -> list[str]:
    """comparison.parquet/.csv (one row per policy, backfill and window), summary.json, metrics.png,
    wait_cdf.png and, for a whole-trace comparison, over_time.png."""
    import pandas as pd

    from schedlab.report import plots

    records = [
        {"policy": r.policy, "backfill": r.backfill, "window_start": starts[i] if starts else 0, **w}
        for r in rows
        for i, w in enumerate(r.windows)
    ]
    series = {f"{r.policy}+{r.backfill}": _series(r.results[0]) for r in rows if r.results}
    makers = [
        lambda: plots.metric_bars([r.to_dict() for r in rows], out),
        lambda: plots.wait_cdfs({f"{r.policy}+{r.backfill}": r.waits for r in rows}, out),
    ]
    if series:
        makers.append(lambda: plots.over_time(series, out))
    return write_outputs(out, summary, {"comparison": pd.DataFrame(records)}, makers)
