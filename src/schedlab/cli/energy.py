"""``schedlab energy ecosched|open|ecoshift``: energy- and power-aware GPU scheduling on measured data.

Light at import: the heavy modules (torch, pandas, the solvers) are imported inside the commands.
Tables and output folders are in :mod:`schedlab.cli.energy_render`; the computing steps that are not

runs are in :mod:`schedlab.energy.studies`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schedlab.cli.common import (
    ForceOpt,
    JsonOpt,
    above,
    at_least,
    check_out,
    err_console,
    fail,
    print_json,
    print_written,
    spinner,
    write_out,
)
from schedlab.options import EnergyEstimate, EnergyMetric, GPUModel, PowerPredictor, PowerSource, ProfilingMode

HELP = (
    "Energy- and power-aware GPU scheduling on measured data: EcoSched (GPU counts and co-scheduling on one "
    "multi-GPU node), OPEN (performance under CPU/GPU power caps from a little profiling) and EcoShift (sharing a "
    "cluster power cap)."
)


# --- parsing -------------------------------------------------------------------------------------
def parse_apps(text: str | None) -> list[str] | None:
    """A comma-separated list of apps (``None`` when the option is not given)."""
    return None if text is None else [a.strip() for a in text.split(",") if a.strip()]


def parse_mode(mode: str) -> str:
    """An OPEN profiling mode (:class:`~schedlab.options.ProfilingMode`)."""
    if mode not in {m.value for m in ProfilingMode}:
        fail(f"unknown mode {mode!r}; choose from {', '.join(ProfilingMode)}")
    return mode


def parse_ecosched_policies(items: list[str]) -> list[str]:
    """``--policy`` values (repeatable, each possibly comma-separated): EcoSched policy names or ``all``."""
    from schedlab.energy.ecosched import POLICIES

    names = [p.strip() for item in items for p in item.split(",") if p.strip()]
    if bad := [p for p in names if p not in POLICIES and p != "all"]:
        fail(f"unknown policy {', '.join(bad)}; choose from {', '.join(POLICIES)} or all")
    return names


def parse_power_policies(policy: str) -> list[str]:
    """``--policy`` of ecoshift: one EcoShift policy, or ``all`` of them."""
    from schedlab.energy.ecoshift import POLICIES

    if policy != "all" and policy not in POLICIES:
        fail(f"unknown policy {policy!r}; choose from {', '.join(POLICIES)} or all")
    return list(POLICIES) if policy == "all" else [policy]


def _profile_fraction(value: float) -> float:
    if not 0.0 < value <= 1.0:
        fail(f"profile fraction must be in (0, 1] (got {value})")
    return value


def _cap(value: float | None) -> float | None:
    if value is not None and not value > 0:
        fail(f"--cap must be a positive number of watts (got {value})")
    return value


# --- options shared by open and ecoshift ---------------------------------------------------------
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder holding open_a100/dual_cap_measured.csv (default: $SCHEDLAB_DATA, the user cache, "
        "../shared/data).",
    ),
]
FractionOpt = Annotated[
    float,
    typer.Option(
        "--profile-fraction",
        help="Share of a new app's measured cap pairs that are profiled (the max-cap pair is always one of them).",
        callback=_profile_fraction,
    ),
]
EpochsOpt = Annotated[
    int,
    typer.Option(
        "--epochs",
        help="Training epochs of each of the 5 networks of OPEN's MLP ensemble (counters mode); fewer is faster and "
        "less accurate.",
        callback=at_least("--epochs", 1),
    ),
]
PowerSeedOpt = Annotated[
    int,
    typer.Option(
        "--seed", help="Seed for the profiled pairs, the MLP's initial weights and the apps drawn for --nodes."
    ),
]
ECOSCHED_POLICY_HELP = (
    "Policy to run; repeat for several, or 'all' (default). sequential: one job at a time on all GPUs; "
    "sequential-best: one at a time at its fastest GPU count (the baseline every reduction is measured "
    "against); marble: fewest GPUs within 5% of the fastest, FCFS co-scheduling; score: EcoSched's "
    "score policy; bandit: EcoSched's LinUCB variant (the published one); lookahead: schedlab's rollout "
    "policy; optimal: the offline energy optimum by OR-Tools CP-SAT."
)


# --- ecosched ------------------------------------------------------------------------------------
def ecosched(
    gpu: Annotated[
        GPUModel,
        typer.Option(
            "--gpu",
            help="GPU model of the node, from the measured profiles: V100, A100 or H100 (4 GPUs, 2 NUMA domains).",
        ),
    ] = GPUModel.H100,
    queue: Annotated[
        str,
        typer.Option(
            "--queue",
            help="Evaluation queue of the dataset (default = 25 jobs on H100, 17 on V100/A100; low_opp, med_opp, "
            "high_opp = 10-job presets) or a comma-separated list of apps. All jobs arrive at t = 0.",
        ),
    ] = "default",
    policy: Annotated[list[str], typer.Option("--policy", help=ECOSCHED_POLICY_HELP)] = ("all",),
    slowdown_tol: Annotated[
        float | None,
        typer.Option(
            "--slowdown-tol",
            help="EcoSched's slowdown tolerance: GPU counts predicted within this fraction of an app's fastest are "
            "candidates (default: the value EcoSched's own logged run of this queue used, else 0.2).",
            callback=at_least("--slowdown-tol", 0),
        ),
    ] = None,
    idle_weight: Annotated[
        float | None,
        typer.Option(
            "--idle-weight",
            min=0.0,
            help="EcoSched's weight on idle GPUs in the score (default: idle power / mean busy power per GPU, as "
            "EcoSched derives it).",
        ),
    ] = None,
    blocking_weight: Annotated[
        float,
        typer.Option(
            "--blocking-weight",
            min=0.0,
            help="EcoSched's weight on leaving GPUs that no waiting job can use (0 in the published runs).",
        ),
    ] = 0.0,
    metric: Annotated[
        EnergyMetric,
        typer.Option("--metric", help="What EcoSched and lookahead minimise: energy, or EDP (energy x makespan)."),
    ] = EnergyMetric.ENERGY,
    estimate: Annotated[
        EnergyEstimate,
        typer.Option(
            "--estimate",
            help="How score/bandit predict runtime and energy per GPU count: counters (EcoSched's activity-counter "
            "estimate with 15 s power) or profile (measured runtimes, calibrated power).",
        ),
    ] = EnergyEstimate.COUNTERS,
    anchor: Annotated[
        str,
        typer.Option(
            "--anchor",
            help="Job EcoSched must start first: longest (the job whose best mode runs longest), an app name, or none.",
        ),
    ] = "longest",
    mode_tol: Annotated[
        float | None,
        typer.Option(
            "--mode-tol",
            help="Per-job slowdown allowed to lookahead and optimal, on profiled runtimes (default: none, every GPU "
            "count may be used).",
            callback=at_least("--mode-tol", 0),
        ),
    ] = None,
    width: Annotated[
        int,
        typer.Option(
            "--width",
            help="lookahead: actions tried per decision, per base heuristic.",
            callback=at_least("--width", 1),
        ),
    ] = 8,
    power: Annotated[
        PowerSource,
        typer.Option(
            "--power",
            help="Active power of a job: run (whole-run mean from the measured time series; calibrated, the default) "
            "or window (EcoSched's 15 s profiling value; overstates energy).",
        ),
    ] = PowerSource.RUN,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            help="optimal: CP-SAT time limit in seconds (the answer reports the proven bound and gap).",
            callback=above("--time-limit", 0),
        ),
    ] = 60.0,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=256, help="optimal: CP-SAT worker threads (1-256).")
    ] = 2,
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            help="optimal: CP-SAT random seed (results are reproducible for a seed, workers and time limit).",
        ),
    ] = 0,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Folder with the ecosched data (default: $SCHEDLAB_DATA, the `schedlab data fetch` cache, or "
            "shared/data beside a checkout).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Write summary.json, per-policy and per-job tables (Parquet and CSV), the calibration check and "
            "plots (Gantt, energy/makespan/EDP bars) here.",
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object on stdout (nothing else).")
    ] = False,
):
    """EcoSched on measured GPU profiles: choose GPU counts and co-schedule a queue on one node; compare policies."""
    from schedlab.cli.energy_render import render_ecosched
    from schedlab.energy.run import run_ecosched, write_ecosched_outputs

    names = parse_ecosched_policies(policy)
    folder = check_out(out, force)
    with spinner("running", disable=as_json) as status:
        run = run_ecosched(
            gpu.value, queue, names, slowdown_tol=slowdown_tol, idle_weight=idle_weight,
            blocking_weight=blocking_weight, metric=metric.value, estimate=estimate.value,
            anchor=None if anchor == "none" else anchor, mode_tol=mode_tol, width=width, power=power.value,
            time_limit_s=time_limit, workers=workers, seed=seed, data_dir=data_dir,
            on_policy=lambda name: status(f"running {name}"),
        )  # fmt: skip
    summary = run.summary()
    written = write_out(folder, lambda d: write_ecosched_outputs(run, d))
    if as_json:
        print_json(summary, default=float)
        return
    render_ecosched(run, summary)
    print_written(written)


# --- open ----------------------------------------------------------------------------------------
def open_caps(
    leave_one_out: Annotated[
        bool,
        typer.Option(
            "--leave-one-out",
            help="Evaluate every app as a new one: fit on all the other apps, profile a fraction of its pairs, "
            "predict the rest and score 100 - MAPE against measurement. This is what runs when --app is not given.",
        ),
    ] = False,
    profile_fraction: FractionOpt = 0.2,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="What profiling a pair yields: counters (a short run; OPEN's MLP predicts performance there), "
            "runtime (a full run; performance there is measured), or both (leave-one-out only).",
        ),
    ] = "both",
    repeats: Annotated[
        int,
        typer.Option(
            "--repeats",
            help="Random profiled sets per app (accuracies are averaged).",
            callback=at_least("--repeats", 1),
        ),
    ] = 3,
    seed: PowerSeedOpt = 0,
    app_name: Annotated[
        str | None,
        typer.Option(
            "--app", help="Predict this one app as new (fitted on all the others) and print its predicted surface."
        ),
    ] = None,
    apps: Annotated[
        str | None, typer.Option("--apps", help="Leave-one-out over only these apps (comma-separated).")
    ] = None,
    epochs: EpochsOpt = 750,
    data_dir: DataDirOpt = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write summary.json, the per-app table (Parquet + CSV) and plots here."),
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
):
    """OPEN: predict performance under every (CPU cap, GPU cap) pair from a few profiled pairs."""
    from schedlab.energy import open as op

    modes = list(op.MODES) if mode == "both" else [parse_mode(mode)]
    if app_name is not None and leave_one_out:
        fail("give either --app (one new app) or --leave-one-out (every app), not both")
    folder = check_out(out, force)
    data = op.load_dual_cap(data_dir)
    if app_name is not None:
        one_app = ["counters"] if mode == "both" else modes
        open_one_app(data, app_name, one_app, profile_fraction, seed, epochs, folder, as_json)
    else:
        open_every_app(
            data, parse_apps(apps), modes, profile_fraction, repeats, seed, epochs, data_dir, folder, as_json
        )


def open_one_app(data, app: str, modes: list[str], fraction: float, seed: int, epochs: int, folder, as_json: bool):
    """``open --app``: one app predicted as new; its surface as tables (or JSON)."""
    from schedlab.cli.energy_render import render_open_app, write_open_app
    from schedlab.energy.studies import predict_new_app

    pred = predict_new_app(data, app, modes, fraction, seed, epochs)
    written = write_out(folder, lambda d: write_open_app(pred, data, d))
    if as_json:
        print_json({**pred.summary, "surface": pred.surface.to_dict(orient="records")})
        return
    render_open_app(pred, data)
    print_written(written)


def open_every_app(data, apps, modes, fraction, repeats, seed, epochs, data_dir, folder, as_json: bool):
    """``open [--leave-one-out]``: every app (or ``apps``) in turn as new; accuracy per mode."""
    from schedlab.cli.energy_render import render_open_accuracy, write_open_accuracy
    from schedlab.energy import open as op

    for a in apps or ():
        data.index(a)  # an unknown app fails before the fitting starts
    authors_file = Path(op.open_dir(data_dir)) / op.PREDICTED_FILE
    authors = op.load_authors_predictions(data, data_dir) if authors_file.exists() else None
    if not as_json and err_console.is_terminal:
        err_console.print(
            f"[dim]leave-one-app-out over {len(apps or data.apps)} apps, {repeats} profiled "
            f"sets each, modes {', '.join(modes)}...[/]"
        )
    per_app, summary, surfaces = op.leave_one_out(
        data, modes, fraction, repeats, seed, apps=apps, epochs=epochs, authors=authors
    )
    written = write_out(folder, lambda d: write_open_accuracy(per_app, summary, surfaces, data, apps, modes, d))
    if as_json:
        print_json({**summary, "per_app": per_app.to_dict(orient="records")})
        return
    render_open_accuracy(summary, fraction, repeats)
    print_written(written)


# --- ecoshift ------------------------------------------------------------------------------------
def ecoshift(
    cap: Annotated[
        float | None,
        typer.Option("--cap", help="Cluster power cap in watts (sum of all CPU and GPU caps).", callback=_cap),
    ] = None,
    cap_fraction: Annotated[
        float | None,
        typer.Option(
            "--cap-fraction",
            help="Cluster cap as a fraction of peak (nodes x (200 W + 250 W)); 0.8 when neither --cap nor this is "
            "given.",
            callback=above("--cap-fraction", 0),
        ),
    ] = None,
    nodes: Annotated[
        int | None,
        typer.Option(
            "--nodes",
            help="Number of nodes; each runs an app drawn at random (with --seed). Default: one node per app.",
            callback=at_least("--nodes", 1),
        ),
    ] = None,
    apps: Annotated[
        str | None,
        typer.Option("--apps", help="The app on each node, comma-separated (repeat names for several nodes)."),
    ] = None,
    policy: Annotated[
        str,
        typer.Option(
            "--policy",
            help="ecoshift (fair share, reclaim, DP), global-dp (DP without the fair-share floor), fair (every node "
            "at the same fraction of each max cap), fair-best (cap/N per node, best pair within), proportional, "
            "greedy, or all.",
        ),
    ] = "all",
    predictor: Annotated[
        str,
        typer.Option(
            "--predictor",
            help="What the policies decide on: open (OPEN's leave-one-app-out predictions: each app is new) or "
            "oracle (the measured performance). Results are always scored on measured performance.",
        ),
    ] = "open",
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="How OPEN profiles each new app for --predictor open: runtime (full runs at the profiled pairs, "
            "measured; the default, more accurate and fast) or counters (OPEN's counter-only profiling through its "
            "MLP; trains one MLP per app, minutes).",
        ),
    ] = "runtime",
    profile_fraction: FractionOpt = 0.2,
    seed: PowerSeedOpt = 0,
    epochs: EpochsOpt = 750,
    data_dir: DataDirOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write summary.json, the policy table and allocations (Parquet + CSV) and plots here."
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
):
    """EcoShift: share a cluster power cap among nodes for the best mean performance."""
    from schedlab.cli.energy_render import render_ecoshift, write_ecoshift
    from schedlab.energy import open as op
    from schedlab.energy.studies import cluster_apps, share_power_cap

    policies = parse_power_policies(policy)
    folder = check_out(out, force)
    if predictor not in {p.value for p in PowerPredictor}:
        fail(f"unknown predictor {predictor!r}; choose open or oracle")
    parse_mode(mode)
    if cap is not None and cap_fraction is not None:
        fail("give --cap or --cap-fraction, not both")
    names = parse_apps(apps)
    if names is not None and nodes is not None and nodes != len(names):
        fail(f"--nodes {nodes} but --apps names {len(names)} apps")
    data = op.load_dual_cap(data_dir)
    names = cluster_apps(data, names, nodes, seed)
    summary, frames = share_power_cap(
        data, names, policies, cap, cap_fraction, predictor, mode, profile_fraction, seed, epochs
    )
    written = write_out(folder, lambda d: write_ecoshift(summary, frames, policies, d))
    if as_json:
        allocations = {p: frames[f"allocation_{p.replace('-', '_')}"].to_dict(orient="records") for p in policies}
        print_json({**summary, "allocations": allocations})
        return
    render_ecoshift(summary, frames["policies"])
    print_written(written)
