"""Key findings: sentences built from the numbers of the summary, never hand-written, so they stay
true when the input changes."""

from __future__ import annotations

import math

from schedlab.analytics.report.formatting import CLASS_NAMES, _dur, _mwh, _pct, _utc


def findings(s: dict) -> list[str]:
    """Key findings as sentences, each computed from ``s`` (the summary)."""
    out = []
    cls = {r["job_class"]: r for r in s["classes"]}
    _workload(s, out)
    _classes_and_failures(s, cls, out)
    _distributions_and_arrivals(s, cls, out)
    _energy(s, cls, out)
    _telemetry(s, out)
    _cleaning(s, out)
    return out


def _workload(s: dict, out: list[str]) -> None:
    """Jobs, submit span and node-hours (core-hours when the input has no node counts)."""
    ov = s["overview"]
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


def _classes_and_failures(s: dict, cls: dict, out: list[str]) -> None:
    """ML vs generic shares, and failure rates when the input records final states."""
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


def _distributions_and_arrivals(s: dict, cls: dict, out: list[str]) -> None:
    """Runtime and wait medians per class, and how bursty the arrivals are."""
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


def _energy(s: dict, cls: dict, out: list[str]) -> None:
    """The energy balance, the ML share of attributed energy and energy spent on jobs that did not complete."""
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
                f"ML jobs are {_pct(cls['ml']['job_share'])} of submissions but "
                f"{_pct(bc['ml']['share_of_attributed'])} of attributed job energy."
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


def _telemetry(s: dict, out: list[str]) -> None:
    """Changepoints of the power series and mrDMD's anomalous nodes."""
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
    rate = tr.get("anomaly_false_alarm_rate")
    bar = (
        f" (threshold |z| > {tr['anomaly_threshold']:.2f}: Bonferroni over "
        f"{tr.get('anomaly_cells_scored', 0):,} scored cells, a {rate:.0%} chance per run of any flag "
        "on healthy data)"
        if rate is not None and tr.get("anomaly_threshold") is not None
        else ""
    )
    if tr.get("anomalous_nodes"):
        names = ", ".join(a["node"] for a in tr["anomalous_nodes"][:5])
        k = len(tr["anomalous_nodes"])
        out.append(f"mrDMD flags {k} node{'s' if k != 1 else ''} as anomalous (most anomalous first: {names}){bar}.")
    elif "anomaly_threshold" in tr:
        out.append(f"mrDMD flags no node as anomalous{bar}.")


def _cleaning(s: dict, out: list[str]) -> None:
    """What cleaning dropped and rewrote."""
    cl = s["cleaning"]
    dropped = sum(cl["dropped"].values())
    if dropped or cl["changed"]:
        out.append(
            f"Cleaning: read {cl['read']:,} jobs, dropped {dropped:,}, kept {cl['kept']:,}"
            + (f"; {len(cl['changed'])} counted rewrites (see the cleaning report)." if cl["changed"] else ".")
        )
