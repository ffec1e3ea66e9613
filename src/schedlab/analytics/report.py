"""``schedlab analyze`` end to end: read, characterise, attribute energy, look at the telemetry, and
write the report folder (report.html, summary.json, tables as Parquet and CSV, PNG plots).

Findings are sentences built from the numbers (see :func:`findings`), never hand-written, so they
stay true when the input changes.
"""

from __future__ import annotations

import base64
import html
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CLASS_NAMES = {"ml": "ML", "generic": "generic", "all": "all"}


@dataclass
class Analysis:
    """Everything one ``analyze`` run computed: ``summary`` (JSON-ready numbers), ``frames``
    (name -> DataFrame, written as tables) and what the plots need."""

    summary: dict
    frames: dict
    stats: object
    energy: object = None
    telemetry: object = None
    tel_result: dict = field(default_factory=dict)


def _records(df) -> list[dict]:
    if df is None or len(df) == 0:
        return []
    return json.loads(df.to_json(orient="records"))


def _pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _dur(s) -> str:
    if s is None or (isinstance(s, float) and math.isnan(s)):
        return "n/a"
    s = float(s)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 172800:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


def _mwh(j) -> str:
    return f"{j / 3.6e9:,.3f} MWh" if abs(j) >= 3.6e8 else f"{j / 3.6e6:,.1f} kWh"


def _utc(t) -> str:
    import pandas as pd

    return "n/a" if t is None else f"{pd.Timestamp(t, unit='s', tz='UTC'):%Y-%m-%d %H:%M} UTC"


# --------------------------------------------------------------------------------------------
def run_analysis(
    jobs_path,
    format: str = "auto",
    telemetry=None,
    fragments=None,
    hardware=None,
    class_rule: str | None = None,
    timezone: str = "UTC",
    method: str = "auto",
    lenient: bool = False,
    step=lambda name: None,
    memory_limit: str | None = None,
    temp_directory=None,
) -> Analysis:
    """Read and analyse; ``step(name)`` is called before each stage (progress display).

    ``memory_limit`` / ``temp_directory``: DuckDB's memory cap and spill folder (see
    :func:`schedlab.analytics.jobs.read_jobs`)."""
    from schedlab.analytics import characterize as C
    from schedlab.analytics.jobs import read_jobs

    timings = {}
    t = time.perf_counter()
    step("reading jobs")
    jobs = read_jobs(
        jobs_path,
        format=format,
        timezone=timezone,
        lenient=lenient,
        memory_limit=memory_limit,
        temp_directory=temp_directory,
    )
    hw = None
    if hardware is not None:
        from schedlab.analytics.energy import read_hardware

        hw = read_hardware(hardware)
        _node_types_from_hardware(jobs, hw)
    jobs = jobs.with_classes(class_rule)
    timings["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    step("characterising the workload")
    stats = C.characterize(jobs)
    timings["characterize_s"] = time.perf_counter() - t
    frames = dict(stats.frames())
    summary = {
        "source": str(jobs_path),
        "format": jobs.format,
        "timezone_of_naive_times": timezone,
        "class_rule": class_rule or "default",
        "class_sql": jobs.meta.get("class_sql"),
        "states_known": jobs.states_known,
        "waits_known": jobs.waits_known,
        "cleaning": jobs.cleaning.to_dict(),
        "overview": stats.overview,
        "classes": _records(stats.classes),
        "failure_rates": _records(stats.failures),
        "state_mix": _records(stats.states),
        "distributions": _records(stats.distributions),
        "burstiness": _records(stats.burstiness),
        "notes": list(stats.notes),
    }
    an = Analysis(summary, frames, stats)
    if telemetry is not None:
        from schedlab.analytics.energy import attribute_energy, energy_by, read_power

        t = time.perf_counter()
        step("attributing energy")
        origin = jobs.scalar("SELECT min(submit) FROM {jobs}")
        tel = read_power(telemetry, origin=origin, timezone=timezone)
        res = attribute_energy(jobs, tel, method=method, fragments=fragments, hardware=hw)
        by_state = energy_by(jobs, res, "state")
        by_class = energy_by(jobs, res, "job_class")
        jobs.con.register("energy_jobs", res.jobs)
        per_job = jobs.con.sql(f"""SELECT e.*, j.job_class, j.state, j.nodes, j.run FROM energy_jobs e
                                   JOIN {jobs.view} j USING (job_id) ORDER BY e.energy_j DESC""").df()
        frames.update(
            {
                "energy_jobs": per_job,
                "energy_slots": res.slots,
                "energy_by_state": by_state,
                "energy_by_class": by_class,
            }
        )
        summary["energy"] = {
            "method": res.method,
            "level": res.level,
            "balance": res.balance,
            "by_state": _records(by_state),
            "by_class": _records(by_class),
            "notes": res.notes,
        }
        timings["energy_s"] = time.perf_counter() - t
        t = time.perf_counter()
        step("telemetry: changepoints and anomalies")
        an.energy, an.telemetry = res, tel
        an.tel_result = telemetry_section(tel)
        summary["telemetry"] = {
            k: v for k, v in an.tel_result.items() if k not in ("series", "segments", "scores", "cp_times")
        }
        if an.tel_result.get("segments") is not None:
            frames["power_segments"] = an.tel_result["segments"]
        if an.tel_result.get("scores") is not None:
            frames["anomaly_scores"] = an.tel_result["scores"]
        timings["telemetry_s"] = time.perf_counter() - t
    else:
        summary["energy"] = None
        summary["telemetry"] = None
    summary["findings"] = findings(summary)
    summary["timings"] = timings
    an.summary = summary
    return an


def _node_types_from_hardware(jobs, hw) -> None:
    """Fill a missing node_type from the hardware table where its partition names the type."""
    key = "partition" if "partition" in hw.columns else ("node_type" if "node_type" in hw.columns else None)
    if key is None or "node_type" not in hw.columns:
        return
    m = hw[[key, "node_type"]].drop_duplicates().rename(columns={key: "hw_key", "node_type": "hw_type"})
    m["hw_key"] = m["hw_key"].astype(str)
    jobs.con.register("hw_types", m)
    jobs.con.execute(f"""CREATE OR REPLACE TEMP VIEW {jobs.view}_hw AS SELECT j.* REPLACE
        (coalesce(j.node_type, h.hw_type) AS node_type) FROM {jobs.view} j LEFT JOIN hw_types h ON h.hw_key = j.partition""")
    jobs.view = f"{jobs.view}_hw"


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
            "anomalies_error": f"too little per-node telemetry for mrDMD ({mat.shape[0]} nodes x {mat.shape[1]} samples)"
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
        "anomalous_nodes": [{"node": str(k), "max_abs_z": v} for k, v in top.head(20).items()],
        "anomaly_windows_flagged": len(flagged),
        "anomaly_samples_filled": filled,
        "scores": scores,
    }


# --------------------------------------------------------------------------------------------
def findings(s: dict) -> list[str]:
    """Key findings as sentences, each computed from ``s`` (the summary)."""
    out = []
    ov = s["overview"]
    cls = {r["job_class"]: r for r in s["classes"]}
    # when no job had a node count (e.g. a simulation in processor units), node-hours would be
    # job-hours: say core-hours instead
    no_nodes = s.get("cleaning", {}).get("changed", {}).get("nodes missing or < 1 -> 1", 0)
    if ov["jobs"] and no_nodes >= ov["jobs"] and ov.get("core_hours"):
        size = f"{ov['core_hours']:,.0f} core-hours (the input has no node counts)"
    else:
        size = f"{ov['node_hours']:,.0f} node-hours"
    out.append(
        f"{ov['jobs']:,} jobs submitted from {_utc(ov['first_submit'])} to {_utc(ov['last_submit'])} "
        f"({ov['span_days']:.1f} days), {size}."
    )
    if "ml" in cls and "generic" in cls:
        m = cls["ml"]
        out.append(f"ML jobs are {_pct(m['job_share'])} of submissions but {_pct(m['node_hour_share'])} of node-hours.")
    elif cls:
        only = next(iter(cls))
        out.append(
            f"All jobs fall in one class ({CLASS_NAMES.get(only, only)}) under the class rule "
            f"({s['class_rule']}); no ML/generic comparison is possible."
        )
    fr = {r["job_class"]: r for r in s["failure_rates"]}
    if not s["states_known"]:
        out.append("The input records no final job states, so failure rates and energy by state cannot be given.")
    elif "ml" in fr and "generic" in fr:
        a, b = fr["ml"]["failed_rate"], fr["generic"]["failed_rate"]
        rel = "more often than" if a > b else ("less often than" if a < b else "as often as")
        out.append(
            f"ML jobs fail {rel} generic jobs: {_pct(a)} vs {_pct(b)} FAILED "
            f"({_pct(fr['ml']['not_completed_rate'])} vs {_pct(fr['generic']['not_completed_rate'])} not COMPLETED)."
        )
    elif "all" in fr:
        out.append(
            f"{_pct(fr['all']['failed_rate'])} of jobs FAILED, {_pct(fr['all']['timeout_rate'])} hit TIMEOUT, "
            f"{_pct(fr['all']['not_completed_rate'])} did not end COMPLETED."
        )
    dist = {(r["job_class"], r["metric"]): r for r in s["distributions"]}
    parts = []
    for c in sorted(cls):
        if (c, "run") in dist:
            w = dist.get((c, "wait"))
            parts.append(
                f"{CLASS_NAMES.get(c, c)} runtime median {_dur(dist[(c, 'run')]['p50'])}"
                + (f", wait median {_dur(w['p50'])}" if w else "")
            )
    if parts:
        out.append("; ".join(parts) + ("." if s["waits_known"] else " (wait times are not in the input)."))
    for r in s["burstiness"]:
        cv, d = r.get("interarrival_cv"), r.get("hourly_dispersion")
        if cv is not None and d is not None and not (isinstance(cv, float) and math.isnan(cv)):
            kind = "bursty" if cv > 1.5 or d > 3 else "close to Poisson"
            out.append(
                f"{CLASS_NAMES.get(r['job_class'], r['job_class'])} arrivals are {kind}: inter-arrival CV {cv:.2f} "
                f"(1 for Poisson), index of dispersion of hourly counts {d:.1f} (1 for Poisson), "
                f"peak {r['peak_hour_jobs']:,} submissions in one hour."
            )
    e = s.get("energy")
    if e:
        b = e["balance"]
        out.append(
            f"Of {_mwh(b['measured_j'])} measured, {_mwh(b['attributed_j'])} ({_pct(b['attributed_share'])}) is "
            f"attributed to jobs ({e['method']} split) and {_mwh(b['loss_j'])} is loss not attributable to any job: "
            f"idle nodes {_mwh(b['loss_idle_nodes_j'])}, slots without job usage {_mwh(b['loss_no_usage_j'])} "
            f"(residual {b['residual_j']:.2g} J)."
        )
        bc = {r["job_class"]: r for r in e["by_class"]}
        if "ml" in bc and "generic" in bc and "ml" in cls:
            out.append(
                f"ML jobs are {_pct(cls['ml']['job_share'])} of submissions but {_pct(bc['ml']['share_of_attributed'])} "
                "of attributed job energy."
            )
        if s["states_known"]:
            bs = [r for r in e["by_state"] if r["state"] not in ("COMPLETED", "UNKNOWN")]
            nc = sum(r["share_of_attributed"] for r in bs)
            if bs:
                top = max(bs, key=lambda r: r["energy_j"])
                out.append(
                    f"{_pct(nc)} of attributed job energy went to jobs that did not end COMPLETED "
                    f"({top['state']} largest: {_pct(top['share_of_attributed'])})."
                )
    tr = s.get("telemetry") or {}
    if "changepoints" in tr:
        out.append(
            f"The power series (mean {tr['mean_power_w'] / 1e3:.2f} kW, "
            f"{tr['min_power_w'] / 1e3:.2f}-{tr['max_power_w'] / 1e3:.2f} kW) has {tr['changepoints']} changepoints "
            f"at {tr['bin_s'] / 60:.0f}-minute resolution"
            + (
                f"; the largest shift is {tr['largest_shift_w'] / 1e3:+.2f} kW at {tr['largest_shift_at_utc']}."
                if tr["changepoints"]
                else "."
            )
        )
    if tr.get("anomalous_nodes"):
        names = ", ".join(a["node"] for a in tr["anomalous_nodes"][:5])
        k = len(tr["anomalous_nodes"])
        out.append(f"mrDMD flags {k} node{'s' if k != 1 else ''} as anomalous (most anomalous first: {names}).")
    cl = s["cleaning"]
    dropped = sum(cl["dropped"].values())
    if dropped or cl["changed"]:
        out.append(
            f"Cleaning: read {cl['read']:,} jobs, dropped {dropped:,}, kept {cl['kept']:,}"
            + (f"; {len(cl['changed'])} counted rewrites (see the cleaning report)." if cl["changed"] else ".")
        )
    return out


# --------------------------------------------------------------------------------------------
def _plots(an: Analysis, out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    st = an.stats

    def save(fig, name):
        p = out / name
        fig.tight_layout()
        fig.savefig(p, dpi=110)
        plt.close(fig)
        paths.append(p)

    ecdf = st.ecdf
    metrics = [m for m in ("run", "wait") if len(ecdf) and (ecdf["metric"] == m).any()]
    if metrics:
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.6), squeeze=False)
        for ax, m in zip(axes[0], metrics, strict=False):
            for c, g in ecdf[ecdf["metric"] == m].groupby("job_class"):
                ax.step(np.maximum(g["value"], 1.0), g["prob"], where="post", label=CLASS_NAMES.get(c, c))
            ax.set_xscale("log")
            ax.set_xlabel(f"{'runtime' if m == 'run' else 'wait'} (s, log)")
            ax.set_ylabel("fraction of jobs")
            ax.grid(alpha=0.3)
            ax.legend()
        save(fig, "ecdf.png")
    if an.summary["states_known"] and len(st.states):
        piv = st.states.pivot_table(index="job_class", columns="state", values="share", fill_value=0)
        fig, ax = plt.subplots(figsize=(6.5, 3.2))
        left = np.zeros(len(piv))
        for col in piv.columns:
            ax.barh([CLASS_NAMES.get(c, c) for c in piv.index], piv[col], left=left, label=col)
            left += piv[col].to_numpy()
        ax.set_xlabel("share of jobs")
        ax.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.3))
        save(fig, "state_mix.png")
        fbh = st.failures_by_hour
        if len(fbh):
            fig, ax = plt.subplots(figsize=(6.5, 3.2))
            for c, g in fbh.groupby("job_class"):
                ax.plot(g["hour"], g["failed_rate"], marker="o", label=f"{CLASS_NAMES.get(c, c)} FAILED")
                ax.plot(g["hour"], g["not_completed_rate"], ls="--", label=f"{CLASS_NAMES.get(c, c)} not COMPLETED")
            ax.set_xlabel("hour of submit (UTC)")
            ax.set_ylabel("rate")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            save(fig, "failure_by_hour.png")
    arr = st.arrivals
    if len(arr):
        import pandas as pd

        fig, axes = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [2.2, 1]})
        for c, g in arr.groupby("job_class"):
            axes[0].plot(pd.to_datetime(g["hour_start"], unit="s"), g["jobs"], lw=0.7, label=CLASS_NAMES.get(c, c))
        axes[0].set_ylabel("submissions per hour")
        axes[0].legend()
        prof = st.arrival_profile[st.arrival_profile["profile"] == "hour_of_day"]
        for c, g in prof.groupby("job_class"):
            axes[1].bar(g["slot"], g["jobs_per_day"], alpha=0.6, label=CLASS_NAMES.get(c, c))
        axes[1].set_xlabel("hour of day (UTC)")
        axes[1].set_ylabel("submissions per day")
        fig.autofmt_xdate()
        save(fig, "arrivals.png")
    if an.energy is not None:
        import pandas as pd

        sl = an.energy.slots
        bin_s = an.tel_result.get("bin_s", 300.0)
        b = np.floor((sl["time"] - sl["time"].iloc[0]) / bin_s)
        agg = (
            sl.assign(b=b)
            .groupby("b")
            .agg(
                time=("time", "first"),
                measured=("measured_j", "sum"),
                st=("static_jobs_j", "sum"),
                dy=("dynamic_jobs_j", "sum"),
                idle=("idle_loss_j", "sum"),
                nu=("no_usage_loss_j", "sum"),
                n=("measured_j", "size"),
            )
        )
        dt = an.energy.balance["interval_s"]
        kw = lambda v: v / (agg["n"] * dt) / 1e3
        x = pd.to_datetime(agg["time"], unit="s")
        fig, ax = plt.subplots(figsize=(11, 3.6))
        ax.stackplot(
            x,
            kw(agg["st"]),
            kw(agg["dy"]),
            kw(agg["idle"]),
            kw(agg["nu"]),
            labels=["jobs: static share", "jobs: dynamic", "loss: idle nodes", "loss: no job usage"],
            alpha=0.8,
        )
        ax.plot(x, kw(agg["measured"]), color="k", lw=0.6, label="measured")
        ax.set_ylabel("kW")
        ax.legend(fontsize=7, loc="upper left", ncol=5)
        fig.autofmt_xdate()
        save(fig, "energy_attribution.png")
        ser = an.tel_result.get("series")
        if ser is not None:
            fig, ax = plt.subplots(figsize=(11, 3.2))
            ax.plot(pd.to_datetime(ser["time"], unit="s"), ser["power_w"] / 1e3, lw=0.7, label="power")
            seg = an.tel_result.get("segments")
            if seg is not None:
                ends = [*list(seg["start"].iloc[1:]), ser["time"].iloc[-1]]
                for s0, s1, m in zip(seg["start"], ends, seg["mean"], strict=False):
                    ax.hlines(m / 1e3, pd.to_datetime(s0, unit="s"), pd.to_datetime(s1, unit="s"), colors="r", lw=1.5)
                for t in an.tel_result.get("cp_times", []):
                    ax.axvline(pd.to_datetime(t, unit="s"), color="r", lw=0.4, alpha=0.5)
            ax.set_ylabel("kW")
            ax.set_title(f"power ({bin_s / 60:.0f}-min means) with changepoints and segment means", fontsize=9)
            fig.autofmt_xdate()
            save(fig, "power_changepoints.png")
        sc = an.tel_result.get("scores")
        if sc is not None and len(sc):
            top = sc.groupby("node")["z"].apply(lambda z: np.abs(z).max()).sort_values(ascending=False).head(30)
            fig, ax = plt.subplots(figsize=(6.5, max(2.5, 0.18 * len(top))))
            ax.barh(top.index.astype(str)[::-1], top.to_numpy()[::-1])
            thr = sc.attrs.get("threshold")
            if thr:
                ax.axvline(thr, color="r", ls="--", label=f"threshold {thr:.1f}")
                ax.legend()
            ax.set_xlabel("max |robust z| over mrDMD windows")
            save(fig, "anomalies.png")
    return paths


_CSS = """body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
li{margin:.3em 0}.note{color:#666;font-size:13px}"""


def _table(df, fmt=None, max_rows=60) -> str:
    if df is None or len(df) == 0:
        return "<p class='note'>(empty)</p>"
    rows = ["<table><tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns) + "</tr>"]
    for _, r in df.head(max_rows).iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            if isinstance(v, (float, np.floating)):
                txt = "" if math.isnan(v) else (fmt(c, v) if fmt else f"{v:,.4g}")
            else:
                txt = "" if v is None else str(v)
            cells.append(f"<td>{html.escape(txt)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f"<p class='note'>first {max_rows} of {len(df):,} rows; all in the CSV/Parquet file</p>"
        if len(df) > max_rows
        else ""
    )
    return "\n".join(rows) + "</table>" + more


def _numfmt(c, v):
    if "share" in c or "rate" in c:
        return f"{100 * v:.1f}%"
    if c.endswith("_j"):
        return _mwh(v)
    if c.endswith("_s") or c in ("p5", "p25", "p50", "p75", "p95", "p99", "mean", "max"):
        return f"{v:,.1f}"
    return f"{v:,.4g}"


def _img(p: Path) -> str:
    data = base64.b64encode(p.read_bytes()).decode()
    return f"<img alt='{html.escape(p.stem)}' src='data:image/png;base64,{data}'>"


def write_html(an: Analysis, out: Path, plots: list[Path]) -> Path:
    """report.html: findings, cleaning report, tables and the PNGs embedded (also beside it)."""
    import pandas as pd

    s = an.summary
    by = {p.stem: p for p in plots}
    h = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>schedlab analyze: {html.escape(Path(s['source']).name)}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Operations report: {html.escape(s['source'])}</h1>",
        f"<p class='note'>format {html.escape(s['format'])}; job classes by rule <code>{html.escape(s['class_rule'])}</code> "
        f"(<code>{html.escape(s['class_sql'] or '')}</code>); naive times read as {html.escape(s['timezone_of_naive_times'])}; "
        "hours of day in UTC.</p>",
        "<h2>Key findings</h2><ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in s["findings"]) + "</ul>",
    ]
    notes = s["notes"] + s["cleaning"]["notes"]
    cl = s["cleaning"]
    rows = [("read", cl["read"]), ("malformed lines skipped", cl["malformed_skipped"])]
    rows += [(f"dropped: {k}", v) for k, v in cl["dropped"].items()]
    rows += [(f"changed: {k}", v) for k, v in cl["changed"].items()]
    rows.append(("kept", cl["kept"]))
    h.append(
        "<h2>Cleaning report</h2>"
        + _table(pd.DataFrame(rows, columns=["rule", "jobs"]))
        + "".join(f"<p class='note'>note: {html.escape(n)}</p>" for n in notes)
    )
    st = an.stats
    h.append("<h2>Job classes</h2>" + _table(st.classes, _numfmt))
    h.append("<h2>Final states and failures</h2>")
    if s["states_known"]:
        h.append(_table(st.failures, _numfmt) + _table(st.states, _numfmt))
        for k in ("state_mix", "failure_by_hour"):
            if k in by:
                h.append(_img(by[k]))
    else:
        h.append("<p>The input records no final job states.</p>")
    h.append("<h2>Runtime, wait and size distributions</h2>" + _table(st.distributions, _numfmt))
    if "ecdf" in by:
        h.append(_img(by["ecdf"]))
    h.append("<h2>Arrivals</h2>" + _table(st.burstiness, _numfmt))
    if "arrivals" in by:
        h.append(_img(by["arrivals"]))
    e = s.get("energy")
    if e:
        b = e["balance"]
        bal = pd.DataFrame(
            [
                ("measured", b["measured_j"]),
                ("attributed to jobs", b["attributed_j"]),
                ("loss: idle nodes (static power of nodes no job held)", b["loss_idle_nodes_j"]),
                ("loss: slots with no job usage (dynamic power)", b["loss_no_usage_j"]),
                ("residual (measured - attributed - loss)", b["residual_j"]),
            ],
            columns=["line", "energy_j"],
        )
        bal["energy_kwh"] = bal["energy_j"] / 3.6e6
        bal["share_of_measured"] = bal["energy_j"] / b["measured_j"]
        h.append(
            f"<h2>Energy attribution ({html.escape(e['method'])}, {html.escape(e['level'])}-level telemetry)</h2>"
            + _table(bal, lambda c, v: f"{v:,.6g}" if c != "share_of_measured" else f"{100 * v:.2f}%")
            + "".join(f"<p class='note'>{html.escape(n)}</p>" for n in e["notes"])
        )
        if "energy_attribution" in by:
            h.append(_img(by["energy_attribution"]))
        h.append(
            "<h3>By final state</h3>"
            + _table(an.frames["energy_by_state"], _numfmt)
            + "<h3>By class</h3>"
            + _table(an.frames["energy_by_class"], _numfmt)
            + "<h3>Top jobs</h3>"
            + _table(an.frames["energy_jobs"].head(20), _numfmt)
        )
    tr = an.tel_result
    if tr:
        h.append("<h2>Telemetry</h2>")
        for k in ("changepoints_error", "anomalies_error"):
            if tr.get(k):
                h.append(f"<p class='note'>{html.escape(tr[k])}</p>")
        if "power_changepoints" in by:
            h.append(_img(by["power_changepoints"]))
        if tr.get("segments") is not None:
            h.append(_table(tr["segments"][["start_utc", "mean"]].rename(columns={"mean": "mean_power_w"})))
        if tr.get("anomalous_nodes"):
            h.append("<h3>mrDMD anomalies</h3>" + _table(pd.DataFrame(tr["anomalous_nodes"])))
        if "anomalies" in by:
            h.append(_img(by["anomalies"]))
    h.append(
        "<p class='note'>Tables as CSV and Parquet and all numbers in summary.json beside this file. "
        "Written by schedlab analyze.</p></body></html>"
    )
    p = out / "report.html"
    p.write_text("\n".join(h), encoding="utf-8")
    return p


def _json_safe(o):
    if isinstance(o, dict):
        return {k: _json_safe(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_json_safe(v) for v in o]
    if isinstance(o, np.ndarray):
        return _json_safe(o.tolist())
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (float, np.floating)):
        return None if not math.isfinite(float(o)) else float(o)
    return o


def write_report(an: Analysis, out: Path) -> list[str]:
    """The output folder: summary.json, every frame as Parquet and CSV, PNGs and report.html."""
    from schedlab.report.outputs import write_outputs

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    an.summary = _json_safe(an.summary)
    plots: list[Path] = []
    written = write_outputs(out, an.summary, an.frames, [])
    plots = _plots(an, out)
    written += [str(p) for p in plots]
    written.append(str(write_html(an, out, plots)))
    return written
