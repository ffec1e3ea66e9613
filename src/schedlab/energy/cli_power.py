"""``schedlab energy open`` and ``schedlab energy ecoshift``.  Light at import: the heavy modules
(torch, pandas, the solvers) are imported inside the commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer

DATA_HELP = "Folder holding open_a100/dual_cap_measured.csv (default: $SCHEDLAB_DATA, the user cache, ../shared/data)."
JSON_HELP = "Print one JSON object to stdout instead of tables."
FRACTION_HELP = "Share of a new app's measured cap pairs that are profiled (the max-cap pair is always one of them)."
MODE_HELP = (
    "What profiling a pair yields: counters (a short run; OPEN's MLP predicts performance there), "
    "runtime (a full run; performance there is measured), or both (leave-one-out only)."
)
EPOCHS_HELP = "Training epochs of each of the 5 networks of OPEN's MLP ensemble (counters mode); fewer is faster and less accurate."
SEED_HELP = "Seed for the profiled pairs, the MLP's initial weights and the apps drawn for --nodes."


def _split(s: str | None) -> list[str] | None:
    return None if s is None else [a.strip() for a in s.split(",") if a.strip()]


def register(energy_app: typer.Typer) -> None:
    """Add ``open`` and ``ecoshift`` to the ``energy`` command group."""

    @energy_app.command("open")
    def open_cmd(
        leave_one_out: bool = typer.Option(
            False,
            "--leave-one-out",
            help=(
                "Evaluate every app as a new one: fit on all the other apps, profile a fraction of its pairs, predict "
                "the rest and score 100 - MAPE against measurement. This is what runs when --app is not given."
            ),
        ),
        profile_fraction: float = typer.Option(0.2, "--profile-fraction", help=FRACTION_HELP),
        mode: str = typer.Option("both", "--mode", help=MODE_HELP),
        repeats: int = typer.Option(3, "--repeats", help="Random profiled sets per app (accuracies are averaged)."),
        seed: int = typer.Option(0, "--seed", help=SEED_HELP),
        app_name: str | None = typer.Option(
            None,
            "--app",
            help=("Predict this one app as new (fitted on all the others) and print its predicted surface."),
        ),
        apps: str | None = typer.Option(None, "--apps", help="Leave-one-out over only these apps (comma-separated)."),
        epochs: int = typer.Option(750, "--epochs", help=EPOCHS_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
        out: Path | None = typer.Option(
            None, "--out", help="Write summary.json, the per-app table (Parquet + CSV) and plots here."
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ):
        """OPEN: predict performance under every (CPU cap, GPU cap) pair from a few profiled pairs."""
        import numpy as np
        from rich.table import Table

        from schedlab.cli import _fail, err_console, out_console
        from schedlab.energy import open as op

        modes = list(op.MODES) if mode == "both" else [mode]
        try:
            if mode != "both":
                op._check_mode(mode)
            op._check_fraction(profile_fraction)
            if repeats < 1:
                raise op.OpenError(f"--repeats must be >= 1 (got {repeats})")
            if epochs < 1:
                raise op.OpenError(f"--epochs must be >= 1 (got {epochs})")
            data = op.load_dual_cap(data_dir)
            if app_name is not None and leave_one_out:
                raise op.OpenError("give either --app (one new app) or --leave-one-out (every app), not both")
            if app_name is not None:
                if mode == "both":
                    modes = ["counters"]
                i = data.index(app_name)
                known = data.subset([a for a in data.apps if a != app_name])
                prof = op.profile_app(data, app_name, profile_fraction, np.random.default_rng([seed, i, 0]), "runtime")
                res = {}
                for m in modes:
                    pred = op.OpenPredictor(mode=m, epochs=epochs, seed=seed).fit(known).predict(prof)
                    un = np.setdiff1d(data.available(i), prof.pairs)
                    res[m] = {
                        "acc_unprofiled": op.accuracy(pred[un], data.perf[i, un]),
                        "acc_all": op.accuracy(pred, data.perf[i]),
                        "predicted": pred,
                    }
                summary = {
                    "app": app_name,
                    "profile_fraction": profile_fraction,
                    "seed": seed,
                    "profiled_pairs": [[int(c), int(g)] for c, g in data.pairs[prof.pairs]],
                    "measured_pairs": len(data.available(i)),
                    "modes": {m: {k: v for k, v in r.items() if k != "predicted"} for m, r in res.items()},
                }
                import pandas as pd

                frame = pd.DataFrame(
                    {
                        "cpu_cap_w": data.pairs[:, 0],
                        "gpu_cap_w": data.pairs[:, 1],
                        "measured_perf_norm": data.perf[i],
                        "profiled": np.isin(np.arange(len(data.pairs)), prof.pairs),
                        **{f"predicted_{m}": r["predicted"] for m, r in res.items()},
                    }
                )
                written = []
                if out is not None:
                    from schedlab.energy import plots_power
                    from schedlab.report.outputs import write_outputs

                    m0 = modes[0]
                    written = write_outputs(
                        out,
                        summary,
                        {"surface": frame},
                        [
                            lambda: plots_power.predicted_vs_measured(
                                data.perf[[i]],
                                res[m0]["predicted"][None, :],
                                [app_name],
                                out,
                                title=f"OPEN ({m0}): {app_name}",
                            )
                        ],
                    )
                if as_json:
                    summary["surface"] = frame.to_dict(orient="records")
                    print(json.dumps(summary))
                    return
                for m, r in res.items():
                    t = Table(title=f"{app_name}, {m} mode: predicted perf_norm (rows CPU cap W, columns GPU cap W)")
                    t.add_column("CPU \\ GPU")
                    for g in data.gpu_caps:
                        t.add_column(str(int(g)), justify="right")
                    grid = r["predicted"].reshape(len(data.cpu_caps), len(data.gpu_caps))
                    for c, rowv in zip(data.cpu_caps, grid, strict=False):
                        t.add_row(str(int(c)), *[f"{v:.3f}" for v in rowv])
                    out_console.print(t)
                    out_console.print(
                        f"{m}: 100 - MAPE {r['acc_unprofiled']:.2f}% on the {len(un)} unprofiled pairs, "
                        f"{r['acc_all']:.2f}% on all; {len(prof.pairs)} pairs profiled"
                    )
                for p in written:
                    out_console.print(f"wrote {p}")
                return
            authors = (
                op.load_authors_predictions(data, data_dir)
                if (Path(op.open_dir(data_dir)) / op.PREDICTED_FILE).exists()
                else None
            )
            subset = _split(apps)
            if subset is not None:
                for a in subset:
                    data.index(a)
            if not as_json and err_console.is_terminal:
                err_console.print(
                    f"[dim]leave-one-app-out over {len(subset or data.apps)} apps, {repeats} profiled "
                    f"sets each, modes {', '.join(modes)}...[/]"
                )
            per_app, summary, surfaces = op.leave_one_out(
                data, modes, profile_fraction, repeats, seed, apps=subset, epochs=epochs, authors=authors
            )
        except (op.OpenError, op.DataNotFound) as exc:
            _fail(str(exc))
        written = []
        if out is not None:
            from schedlab.energy import plots_power
            from schedlab.report.outputs import write_outputs

            idx = [data.index(a) for a in (subset or data.apps)]
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
            written = write_outputs(out, summary, {"per_app": per_app}, plots)
        if as_json:
            print(json.dumps({**summary, "per_app": per_app.to_dict(orient="records")}))
            return
        t = Table(
            title=f"OPEN leave-one-app-out, {profile_fraction:.0%} of pairs profiled, {repeats} repeats: 100 - MAPE (%)"
        )
        for c in ("mode", "pairs", "median", "mean", "min (app)", "median all pairs", "vs authors (10 ECP apps)"):
            t.add_column(c, justify="right" if c != "mode" else "left")
        for m, s in summary["modes"].items():
            u, a = s["acc_unprofiled"], s["acc_all"]
            va = s.get("vs_authors")
            vs = (
                (
                    f"ours {va['ours_acc_all_mean']:.2f} vs {va['authors_acc_all_mean']:.2f}, better on "
                    f"{va['ours_better_apps']}/{va['apps']}"
                )
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
        for p in written:
            out_console.print(f"wrote {p}")

    @energy_app.command("ecoshift")
    def ecoshift_cmd(
        cap: float | None = typer.Option(
            None, "--cap", help="Cluster power cap in watts (sum of all CPU and GPU caps)."
        ),
        cap_fraction: float | None = typer.Option(
            None,
            "--cap-fraction",
            help=(
                "Cluster cap as a fraction of peak (nodes x (200 W + 250 W)); 0.8 when neither --cap nor this is given."
            ),
        ),
        nodes: int | None = typer.Option(
            None,
            "--nodes",
            help=("Number of nodes; each runs an app drawn at random (with --seed). Default: one node per app."),
        ),
        apps: str | None = typer.Option(
            None, "--apps", help="The app on each node, comma-separated (repeat names for several nodes)."
        ),
        policy: str = typer.Option(
            "all",
            "--policy",
            help=(
                "ecoshift (fair share, reclaim, DP), global-dp (DP without the fair-share floor), fair (every node at "
                "the same fraction of each max cap), fair-best (cap/N per node, best pair within), proportional, greedy, or all."
            ),
        ),
        predictor: str = typer.Option(
            "open",
            "--predictor",
            help=(
                "What the policies decide on: open (OPEN's leave-one-app-out predictions: each app is new) or oracle "
                "(the measured performance). Results are always scored on measured performance."
            ),
        ),
        mode: str = typer.Option(
            "runtime",
            "--mode",
            help="How OPEN profiles each new app for --predictor open: runtime (full runs at the profiled pairs, measured; the default, more accurate and fast) or counters (OPEN's counter-only profiling through its MLP; trains one MLP per app, minutes).",
        ),
        profile_fraction: float = typer.Option(0.2, "--profile-fraction", help=FRACTION_HELP),
        seed: int = typer.Option(0, "--seed", help=SEED_HELP),
        epochs: int = typer.Option(750, "--epochs", help=EPOCHS_HELP),
        data_dir: Path | None = typer.Option(None, "--data-dir", help=DATA_HELP),
        out: Path | None = typer.Option(
            None, "--out", help="Write summary.json, the policy table and allocations (Parquet + CSV) and plots here."
        ),
        as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    ):
        """EcoShift: share a cluster power cap among nodes for the best mean performance."""
        import numpy as np
        from rich.table import Table

        from schedlab.cli import _fail, out_console
        from schedlab.energy import ecoshift as es
        from schedlab.energy import open as op

        try:
            policies = list(es.POLICIES) if policy == "all" else [policy]
            if policy != "all" and policy not in es.POLICIES:
                raise es.EcoShiftError(f"unknown policy {policy!r}; choose from {', '.join(es.POLICIES)} or all")
            if predictor not in ("open", "oracle"):
                raise es.EcoShiftError(f"unknown predictor {predictor!r}; choose open or oracle")
            op._check_mode(mode)
            op._check_fraction(profile_fraction)
            if cap is not None and cap_fraction is not None:
                raise es.EcoShiftError("give --cap or --cap-fraction, not both")
            if cap_fraction is not None and not cap_fraction > 0:
                raise es.EcoShiftError(f"--cap-fraction must be > 0 (got {cap_fraction})")
            if cap is not None and not cap > 0:
                raise es.InfeasibleCap(f"--cap must be a positive number of watts (got {cap})")
            if nodes is not None and nodes < 1:
                raise es.EcoShiftError(f"--nodes must be >= 1 (got {nodes})")
            data = op.load_dual_cap(data_dir)
            names = _split(apps)
            if names is not None:
                for a in names:
                    data.index(a)
                if nodes is not None and nodes != len(names):
                    raise es.EcoShiftError(f"--nodes {nodes} but --apps names {len(names)} apps")
            elif nodes is not None:
                rng = np.random.default_rng(seed)
                names = [data.apps[k] for k in rng.integers(0, len(data.apps), nodes)]
            else:
                names = list(data.apps)
            rows = [data.index(a) for a in names]
            measured = data.perf[rows]
            peak = len(rows) * float(data.pairs[:, 0].max() + data.pairs[:, 1].max())
            cap_w = cap if cap is not None else (cap_fraction if cap_fraction is not None else 0.8) * peak
            es.PowerProblem(data.pairs, measured, cap_w)  # an infeasible cap fails before any prediction
            if predictor == "oracle":
                pred = measured
            else:
                distinct = list(dict.fromkeys(names))
                _, _, surf = op.leave_one_out(
                    data, mode, profile_fraction, repeats=1, seed=seed, apps=distinct, epochs=epochs
                )
                pred = surf[mode][rows]
            table, allocs = es.evaluate_cluster(data.pairs, pred, measured, cap_w, policies, apps=names)
        except (op.OpenError, es.EcoShiftError, op.DataNotFound) as exc:
            _fail(str(exc))
        summary = {
            "cap_w": cap_w,
            "peak_w": peak,
            "cap_fraction": cap_w / peak,
            "nodes": len(names),
            "predictor": predictor,
            "mode": mode if predictor == "open" else None,
            "profile_fraction": profile_fraction if predictor == "open" else None,
            "seed": seed,
            "apps": names,
            "policies": table.to_dict(orient="records"),
        }
        eco = allocs.get("ecoshift")
        if eco is not None:
            summary["ecoshift"] = {"pool_w": eco.extra["pool_w"], "reclaimed_w": eco.extra["reclaimed_w"]}
        frames = {"policies": table}
        for p in policies:
            frames[f"allocation_{p.replace('-', '_')}"] = allocs[p].to_frame(names, measured)
        written = []
        if out is not None:
            from schedlab.energy import plots_power
            from schedlab.report.outputs import write_outputs

            show = "ecoshift" if "ecoshift" in policies else policies[0]
            written = write_outputs(
                out,
                summary,
                frames,
                [
                    lambda: plots_power.allocation_per_node(
                        frames[f"allocation_{show.replace('-', '_')}"],
                        out,
                        title=f"{show}: {cap_w:,.0f} W for {len(names)} nodes",
                    )
                ],
            )
        if as_json:
            summary["allocations"] = {
                p: frames[f"allocation_{p.replace('-', '_')}"].to_dict(orient="records") for p in policies
            }
            print(json.dumps(summary))
            return
        t = Table(
            title=f"EcoShift: {len(names)} nodes, cap {cap_w:,.0f} W ({cap_w / peak:.0%} of peak), "
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
        if eco is not None:
            out_console.print(
                f"ecoshift reclaimed {eco.extra['reclaimed_w']:,.0f} W from fair share; pool "
                f"{eco.extra['pool_w']:,.0f} W redistributed by the DP"
            )
        for p in written:
            out_console.print(f"wrote {p}")
