"""``schedlab energy ecosched``: co-schedule a job queue on one multi-GPU node and compare policies."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer


class GPU(StrEnum):
    V100 = "V100"
    A100 = "A100"
    H100 = "H100"


class Metric(StrEnum):
    energy = "energy"
    edp = "edp"


class EstimateSource(StrEnum):
    counters = "counters"
    profile = "profile"


class PowerSource(StrEnum):
    run = "run"
    window = "window"


POLICY_HELP = (
    "Policy to run; repeat for several, or 'all' (default). sequential: one job at a time on all GPUs; "
    "sequential-best: one at a time at its fastest GPU count (the baseline every reduction is measured "
    "against); marble: fewest GPUs within 5% of the fastest, FCFS co-scheduling; score: EcoSched's "
    "score policy; bandit: EcoSched's LinUCB variant (the published one); lookahead: schedlab's rollout "
    "policy; optimal: the offline energy optimum by OR-Tools CP-SAT."
)


def register(energy_app: typer.Typer) -> None:
    @energy_app.command("ecosched")
    def ecosched(
        gpu: GPU = typer.Option(
            GPU.H100,
            "--gpu",
            help="GPU model of the node, from the measured profiles: V100, A100 or H100 (4 GPUs, 2 NUMA domains).",
        ),
        queue: str = typer.Option(
            "default",
            "--queue",
            help="Evaluation queue of the dataset (default = 25 jobs on H100, 17 on V100/A100; low_opp, med_opp, high_opp = 10-job presets) or a comma-separated list of apps. All jobs arrive at t = 0.",
        ),
        policy: list[str] = typer.Option(["all"], "--policy", help=POLICY_HELP),
        slowdown_tol: float | None = typer.Option(
            None,
            "--slowdown-tol",
            help="EcoSched's slowdown tolerance: GPU counts predicted within this fraction of an app's fastest are candidates (default: the value EcoSched's own logged run of this queue used, else 0.2).",
        ),
        idle_weight: float | None = typer.Option(
            None,
            "--idle-weight",
            help="EcoSched's weight on idle GPUs in the score (default: idle power / mean busy power per GPU, as EcoSched derives it).",
        ),
        blocking_weight: float = typer.Option(
            0.0,
            "--blocking-weight",
            help="EcoSched's weight on leaving GPUs that no waiting job can use (0 in the published runs).",
        ),
        metric: Metric = typer.Option(
            Metric.energy, "--metric", help="What EcoSched and lookahead minimise: energy, or EDP (energy x makespan)."
        ),
        estimate: EstimateSource = typer.Option(
            EstimateSource.counters,
            "--estimate",
            help="How score/bandit predict runtime and energy per GPU count: counters (EcoSched's activity-counter estimate with 15 s power) or profile (measured runtimes, calibrated power).",
        ),
        anchor: str = typer.Option(
            "longest",
            "--anchor",
            help="Job EcoSched must start first: longest (the job whose best mode runs longest), an app name, or none.",
        ),
        mode_tol: float | None = typer.Option(
            None,
            "--mode-tol",
            help="Per-job slowdown allowed to lookahead and optimal, on profiled runtimes (default: none, every GPU count may be used).",
        ),
        width: int = typer.Option(8, "--width", help="lookahead: actions tried per decision, per base heuristic."),
        power: PowerSource = typer.Option(
            PowerSource.run,
            "--power",
            help="Active power of a job: run (whole-run mean from the measured time series; calibrated, the default) or window (EcoSched's 15 s profiling value; overstates energy).",
        ),
        time_limit: float = typer.Option(
            60.0,
            "--time-limit",
            help="optimal: CP-SAT time limit in seconds (the answer reports the proven bound and gap).",
        ),
        workers: int = typer.Option(2, "--workers", help="optimal: CP-SAT worker threads."),
        seed: int = typer.Option(
            0,
            "--seed",
            help="optimal: CP-SAT random seed (results are reproducible for a seed, workers and time limit).",
        ),
        data_dir: Path | None = typer.Option(
            None,
            "--data-dir",
            help="Folder with the ecosched data (default: $SCHEDLAB_DATA, the `schedlab data fetch` cache, or shared/data beside a checkout).",
        ),
        out: Path | None = typer.Option(
            None,
            "--out",
            "-o",
            help="Write summary.json, per-policy and per-job tables (Parquet and CSV), the calibration check and plots (Gantt, energy/makespan/EDP bars) here.",
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print the summary as one JSON object on stdout (nothing else)."
        ),
    ):
        """EcoSched on measured GPU profiles: choose GPU counts and co-schedule a queue on one node; compare policies."""
        from rich.table import Table

        from schedlab.cli import _fail, err_console, out_console
        from schedlab.datasets import DataNotFound
        from schedlab.energy.node import ScheduleError
        from schedlab.energy.profiles import ProfileError
        from schedlab.energy.run import BASELINE, run_ecosched, write_ecosched_outputs

        names = [p.strip() for item in policy for p in item.split(",") if p.strip()]
        if width < 1:
            _fail(f"--width must be >= 1 (got {width})")
        if time_limit <= 0:
            _fail(f"--time-limit must be > 0 (got {time_limit})")
        for opt, v in (("--slowdown-tol", slowdown_tol), ("--mode-tol", mode_tol)):
            if v is not None and v < 0:
                _fail(f"{opt} must be >= 0 (got {v})")
        status = err_console.status("running", spinner="dots") if not as_json else None
        try:
            if status:
                status.start()
            run = run_ecosched(
                gpu.value,
                queue,
                names,
                slowdown_tol,
                idle_weight,
                blocking_weight,
                metric.value,
                estimate.value,
                None if anchor == "none" else anchor,
                mode_tol,
                width,
                power.value,
                time_limit,
                workers,
                seed,
                data_dir,
                on_policy=(lambda n: status.update(f"running {n}")) if status else None,
            )
        except (ProfileError, ScheduleError, DataNotFound, ValueError, RuntimeError) as exc:
            if status:
                status.stop()
            _fail(str(exc))
        if status:
            status.stop()
        summary = run.summary()
        written = write_ecosched_outputs(run, out) if out is not None else []
        if as_json:
            print(json.dumps(summary, default=float))
            return
        t = Table(title=f"{run.gpu_model}, queue {run.queue} ({len(run.jobs)} jobs), vs {BASELINE}")
        for c in (
            "policy",
            "makespan s",
            "energy kJ",
            "EDP MJ·s",
            "Δ makespan",
            "Δ energy",
            "Δ EDP",
            "logged Δ (m/e/EDP)",
        ):
            t.add_column(c, justify="left" if c == "policy" else "right")
        for r in summary["policies"]:
            logged = (
                (
                    f"{100 * r['logged_makespan_vs_baseline']:+.1f}/{100 * r['logged_energy_vs_baseline']:+.1f}/"
                    f"{100 * r['logged_edp_vs_baseline']:+.1f}%"
                )
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
        out_console.print(t)
        p = summary["params"]
        out_console.print(
            f"EcoSched slowdown tolerance {p['slowdown_tol']:g}, estimate {p['estimate']}; power model: "
            f"{'whole-run mean power (calibrated)' if p['power'] == 'run' else '15 s window power'}"
        )
        if "optimal" in run.schedules:
            m = run.schedules["optimal"].meta
            gap = (m["plan_energy_j"] - m["bound_j"]) / m["plan_energy_j"]
            out_console.print(
                f"optimal: CP-SAT {m['solver_status']} in {m['solver_wall_s']:.1f} s, plan {m['plan_energy_j'] / 1e3:.1f} kJ, "
                f"proven bound {m['bound_j'] / 1e3:.1f} kJ (gap {100 * gap:.1f}%)"
            )
        for k in ("gap_closed_vs_bandit", "gap_closed_vs_score"):
            if k in summary:
                out_console.print(
                    f"lookahead closes {100 * summary[k]:.0f}% of the energy gap between {k.rsplit('_', 1)[1]} and optimal"
                )
        if "calibration_error_median" in summary:
            out_console.print(
                f"calibration: the power model replays the {len(run.calibration)} logged {run.gpu_model} runs with median energy "
                f"error {100 * summary['calibration_error_median']:+.1f}% (max |error| {100 * summary['calibration_error_max_abs']:.1f}%)"
            )
        for w in written:
            out_console.print(f"wrote {w}")
