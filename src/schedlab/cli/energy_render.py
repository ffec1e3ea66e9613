"""Tables and output folders of ``schedlab energy ecosched|open|ecoshift``."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from schedlab.cli.common import out_console


# --- ecosched ------------------------------------------------------------------------------------
def ecosched_table(run, summary: dict) -> Table:
    """One row per policy: makespan, energy, EDP, their change vs the baseline, and the logged change."""
    from schedlab.energy.run import BASELINE

    t = Table(title=f"{run.gpu_model}, queue {run.queue} ({len(run.jobs)} jobs), vs {BASELINE}")
    for c in ("policy", "makespan s", "energy kJ", "EDP MJ·s", "Δ makespan", "Δ energy", "Δ EDP", "logged Δ (m/e/EDP)"):
        t.add_column(c, justify="left" if c == "policy" else "right")
    for r in summary["policies"]:
        logged = (
            f"{100 * r['logged_makespan_vs_baseline']:+.1f}/{100 * r['logged_energy_vs_baseline']:+.1f}/"
            f"{100 * r['logged_edp_vs_baseline']:+.1f}%"
            if "logged_energy_vs_baseline" in r
            else ""
        )
        t.add_row(
            r["policy"],
            f"{r['makespan_s']:.1f}",
            f"{r['energy_j'] / 1e3:.1f}",
            f"{r['edp_js'] / 1e6:.1f}",
            f"{100 * r['makespan_vs_' + BASELINE]:+.1f}%",
            f"{100 * r['energy_vs_' + BASELINE]:+.1f}%",
            f"{100 * r['edp_vs_' + BASELINE]:+.1f}%",
            logged,
        )
    return t


def render_ecosched(run, summary: dict) -> None:
    out_console.print(ecosched_table(run, summary))
    p = summary["params"]
    power = "whole-run mean power (calibrated)" if p["power"] == "run" else "15 s window power"
    out_console.print(
        f"EcoSched slowdown tolerance {p['slowdown_tol']:g}, estimate {p['estimate']}; power model: {power}"
    )
    if "optimal" in run.schedules:
        m = run.schedules["optimal"].meta
        gap = (m["plan_energy_j"] - m["bound_j"]) / m["plan_energy_j"]
        out_console.print(
            f"optimal: CP-SAT {m['solver_status']} in {m['solver_wall_s']:.1f} s, plan "
            f"{m['plan_energy_j'] / 1e3:.1f} kJ, proven bound {m['bound_j'] / 1e3:.1f} kJ (gap {100 * gap:.1f}%)"
        )
    for k in ("gap_closed_vs_bandit", "gap_closed_vs_score"):
        if k in summary:
            out_console.print(
                f"lookahead closes {100 * summary[k]:.0f}% of the energy gap between {k.rsplit('_', 1)[1]} and optimal"
            )
    if "calibration_error_median" in summary:
        out_console.print(
            f"calibration: the power model replays the {len(run.calibration)} logged {run.gpu_model} runs with "
            f"median energy error {100 * summary['calibration_error_median']:+.1f}% (max |error| "
            f"{100 * summary['calibration_error_max_abs']:.1f}%)"
        )


# --- open ----------------------------------------------------------------------------------------
def write_open_app(pred, data, out: Path) -> list[str]:
    """summary.json, the surface table and the predicted-vs-measured plot of the first mode."""
    from schedlab.energy import plots_power
    from schedlab.report.outputs import write_outputs

    m0 = next(iter(pred.modes))
    plot = lambda: plots_power.predicted_vs_measured(
        data.perf[[pred.index]],
        pred.modes[m0]["predicted"][None, :],
        [pred.app],
        out,
        title=f"OPEN ({m0}): {pred.app}",
    )
    return write_outputs(out, pred.summary, {"surface": pred.surface}, [plot])


def render_open_app(pred, data) -> None:
    """Per mode: the predicted surface (CPU cap x GPU cap) and its accuracy."""
    for m, r in pred.modes.items():
        t = Table(title=f"{pred.app}, {m} mode: predicted perf_norm (rows CPU cap W, columns GPU cap W)")
        t.add_column("CPU \\ GPU")
        for g in data.gpu_caps:
            t.add_column(str(int(g)), justify="right")
        grid = r["predicted"].reshape(len(data.cpu_caps), len(data.gpu_caps))
        for c, rowv in zip(data.cpu_caps, grid, strict=False):
            t.add_row(str(int(c)), *[f"{v:.3f}" for v in rowv])
        out_console.print(t)
        out_console.print(
            f"{m}: 100 - MAPE {r['acc_unprofiled']:.2f}% on the {pred.unprofiled} unprofiled pairs, "
            f"{r['acc_all']:.2f}% on all; {pred.profiled} pairs profiled"
        )


def write_open_accuracy(per_app, summary: dict, surfaces: dict, data, apps, modes, out: Path) -> list[str]:
    """summary.json, the per-app table, the accuracy plot and one predicted-vs-measured plot per mode."""
    from schedlab.energy import plots_power
    from schedlab.report.outputs import write_outputs

    idx = [data.index(a) for a in (apps or data.apps)]
    plots = [lambda: plots_power.accuracy_per_app(per_app, out)]
    for m in modes:
        plots.append(
            lambda m=m: plots_power.predicted_vs_measured(
                data.perf[idx],
                surfaces[m][idx],
                [data.apps[i] for i in idx],
                out,
                name=f"open_pred_vs_measured_{m}.png",
                title=f"OPEN ({m}), leave-one-app-out, repeat 0",
            )
        )
    return write_outputs(out, summary, {"per_app": per_app}, plots)


def render_open_accuracy(summary: dict, fraction: float, repeats: int) -> None:
    """Leave-one-app-out accuracy per mode (and against the authors' predictions where known)."""
    t = Table(title=f"OPEN leave-one-app-out, {fraction:.0%} of pairs profiled, {repeats} repeats: 100 - MAPE (%)")
    for c in ("mode", "pairs", "median", "mean", "min (app)", "median all pairs", "vs authors (10 ECP apps)"):
        t.add_column(c, justify="right" if c != "mode" else "left")
    for m, s in summary["modes"].items():
        u, a = s["acc_unprofiled"], s["acc_all"]
        va = s.get("vs_authors")
        vs = (
            f"ours {va['ours_acc_all_mean']:.2f} vs {va['authors_acc_all_mean']:.2f}, better on "
            f"{va['ours_better_apps']}/{va['apps']}"
            if va
            else "-"
        )
        t.add_row(
            m,
            "unprofiled",
            f"{u['median']:.2f}",
            f"{u['mean']:.2f}",
            f"{u['min']:.2f} ({u['min_app']})",
            f"{a['median']:.2f}",
            vs,
        )
    out_console.print(t)


# --- ecoshift ------------------------------------------------------------------------------------
def write_ecoshift(summary: dict, frames: dict, policies: list[str], out: Path) -> list[str]:
    """summary.json, the policy and allocation tables, and the allocation plot (ecoshift's, if it ran)."""
    from schedlab.energy import plots_power
    from schedlab.report.outputs import write_outputs

    show = "ecoshift" if "ecoshift" in policies else policies[0]
    plot = lambda: plots_power.allocation_per_node(
        frames[f"allocation_{show.replace('-', '_')}"],
        out,
        title=f"{show}: {summary['cap_w']:,.0f} W for {summary['nodes']} nodes",
    )
    return write_outputs(out, summary, frames, [plot])


def render_ecoshift(summary: dict, table) -> None:
    """One row per policy: power drawn, predicted and measured mean performance, gain over fair share."""
    cap_w, predictor, mode = summary["cap_w"], summary["predictor"], summary["mode"]
    t = Table(
        title=f"EcoShift: {summary['nodes']} nodes, cap {cap_w:,.0f} W ({summary['cap_fraction']:.0%} of peak), "
        f"decided on {predictor}{' (' + mode + ')' if predictor == 'open' else ''}, scored on measured"
    )
    for c in ("policy", "power W", "predicted mean", "measured mean", "vs fair share"):
        t.add_column(c, justify="left" if c == "policy" else "right")
    for r in table.itertuples():
        t.add_row(
            r.policy,
            f"{r.total_w:,.0f}",
            f"{r.predicted_mean:.4f}",
            f"{r.measured_mean:.4f}",
            f"{r.gain_vs_fair_pct:+.2f}%",
        )
    out_console.print(t)
    if "ecoshift" in summary:
        eco = summary["ecoshift"]
        out_console.print(
            f"ecoshift reclaimed {eco['reclaimed_w']:,.0f} W from fair share; pool "
            f"{eco['pool_w']:,.0f} W redistributed by the DP"
        )
