"""``schedlab analyze``: operations analytics over a job table (and optional power telemetry).

Import stays light: the command body imports DuckDB, pandas and matplotlib only when it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from schedlab.cli.common import ForceOpt, check_out, err_console, fail, out_console, print_json, spinner, write_out
from schedlab.options import AttributionMethod, JobFormat


def render_cleaning(s: dict) -> None:
    """What reading and cleaning did (stderr, dim): counts, then the notes."""
    cl = s["cleaning"]
    parts = (
        [f"read {cl['read']:,} jobs"]
        + [f"dropped {v:,} {k}" for k, v in cl["dropped"].items()]
        + [f"{k}: {v:,}" for k, v in cl["changed"].items()]
        + [f"kept {cl['kept']:,}"]
    )
    err_console.print("[dim]" + "; ".join(parts) + "[/]")
    for n in cl["notes"] + s["notes"]:
        err_console.print(f"[dim]note: {n}[/]")


def classes_table(s: dict) -> Table:
    """Jobs by class: counts, shares, median runtime and wait, failure rates."""
    from schedlab.analytics.report import _dur, _pct

    t = Table(title=f"{Path(s['source']).name}: jobs by class")
    for c in ("class", "jobs", "share", "node-h share", "runtime p50", "wait p50", "FAILED", "not COMPLETED"):
        t.add_column(c, justify="left" if c == "class" else "right")
    fr = {r["job_class"]: r for r in s["failure_rates"]}
    for r in s["classes"]:
        f = fr.get(r["job_class"], {})
        t.add_row(
            r["job_class"],
            f"{r['jobs']:,}",
            _pct(r["job_share"]),
            _pct(r["node_hour_share"]),
            _dur(r["run_median_s"]),
            _dur(r["wait_median_s"]) if s["waits_known"] else "n/a",
            _pct(f.get("failed_rate")),
            _pct(f.get("not_completed_rate")),
        )
    return t


def energy_table(energy: dict) -> Table:
    """The energy balance: measured, attributed to jobs, and the two losses."""
    from schedlab.analytics.report import _pct

    b = energy["balance"]
    et = Table(title=f"energy ({energy['method']} split)")
    et.add_column("line")
    et.add_column("MWh", justify="right")
    et.add_column("share", justify="right")
    for name, key in (
        ("measured", "measured_j"),
        ("attributed to jobs", "attributed_j"),
        ("loss: idle nodes", "loss_idle_nodes_j"),
        ("loss: no job usage", "loss_no_usage_j"),
    ):
        et.add_row(name, f"{b[key] / 3.6e9:,.4f}", _pct(b[key] / b["measured_j"]))
    return et


def render_analysis(s: dict, written: list[str], out: Path | None) -> None:
    render_cleaning(s)
    out_console.print(classes_table(s))
    if s.get("energy"):
        out_console.print(energy_table(s["energy"]))
    for line in s["findings"]:
        out_console.print(f"- {line}", highlight=False)
    for p in written:
        if p.endswith((".html", ".json")):
            out_console.print(f"wrote {p}")
    if written:
        out_console.print(f"({len(written)} files in {out})")


def analyze(
    jobs: Annotated[
        str,
        typer.Option(
            "--jobs",
            "-j",
            help="Job table: sacct --parsable2 output, CSV, Parquet, SWF trace, "
            "OpenDC tasks.parquet, a `schedlab simulate --out` folder, or a bundled trace name (theta_2022, ...). "
            "data:DATASET/FILE names a file of a dataset schedlab finds, e.g. "
            "data:surf_lisa/surf_week/tasks.parquet.",
        ),
    ],
    format: Annotated[
        JobFormat,
        typer.Option("--format", "-f", help="Format of --jobs; auto guesses from the name and content."),
    ] = JobFormat.AUTO,
    telemetry: Annotated[
        str | None,
        typer.Option(
            "--telemetry",
            help="Measured power (CSV/Parquet): per node "
            "(node, timestamp, power), wide (timestamp + one column per node) or "
            "one cluster series. Enables energy per job and the Telemetry section.",
        ),
    ] = None,
    fragments: Annotated[
        str | None,
        typer.Option(
            "--fragments",
            help="OpenDC fragments.parquet: per-job CPU usage "
            "every 30 s, used to split the dynamic power among running jobs.",
        ),
    ] = None,
    hardware: Annotated[
        str | None,
        typer.Option(
            "--hardware",
            help="Hardware table (CSV/JSON/Parquet): nodes per "
            "node type and optionally cores, gpus, idle_w (W per node), tdp_w, partition.",
        ),
    ] = None,
    class_rule: Annotated[
        str | None,
        typer.Option(
            "--class-rule",
            help="Which jobs count as ML/accelerator jobs: a "
            "SQL condition over the job columns, e.g. \"partition LIKE 'gpu%'\" or "
            "'gpus > 0'. Default: GPUs held, or a partition/node type naming a GPU.",
        ),
    ] = None,
    method: Annotated[
        AttributionMethod,
        typer.Option(
            "--method",
            help="How a slot's power is split among running jobs: "
            "usage (measured per-job usage, needs --fragments), equal (per node, the baseline), "
            "cores or gpus (weighted by what each job holds). auto: usage with --fragments, else equal.",
        ),
    ] = AttributionMethod.AUTO,
    timezone: Annotated[
        str,
        typer.Option(
            "--timezone",
            help="Time zone of time stamps written without a UTC offset "
            "(sacct prints local time), e.g. Europe/Amsterdam. Offsets in the data always win.",
        ),
    ] = "UTC",
    lenient: Annotated[
        bool, typer.Option("--lenient", help="Clear and count unparseable node lists instead of stopping.")
    ] = False,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit",
            help="Cap DuckDB's memory, e.g. 2GB: a "
            "Parquet job table larger than it spills to --temp-dir (slower, not failing).",
        ),
    ] = None,
    temp_dir: Annotated[
        Path | None, typer.Option("--temp-dir", help="Where DuckDB spills past --memory-limit.")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where data:DATASET/FILE paths are looked up first.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write report.html, summary.json, tables (Parquet + CSV) and plots (PNG) here."
        ),
    ] = None,
    force: ForceOpt = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object (the summary) to stdout instead of tables.")
    ] = False,
):
    """Characterise a workload (classes, states and failures, runtimes and waits, arrivals) and,
    with --telemetry, split the measured energy over the jobs; writes an HTML report with --out."""
    from schedlab.analytics.inputs import resolve_inputs
    from schedlab.analytics.report import _json_safe, run_analysis, write_report

    if fragments is not None and telemetry is None:
        fail("--fragments needs --telemetry (usage only weights how measured power is split)")
    if method == AttributionMethod.USAGE and fragments is None:
        fail("--method usage needs --fragments")
    folder = check_out(out, force)
    specs = {"jobs": jobs, "telemetry": telemetry, "fragments": fragments, "hardware": hardware}
    paths = resolve_inputs(specs, data_dir)
    with spinner("analyzing", disable=as_json) as step:
        an = run_analysis(
            paths["jobs"], format=format.value, telemetry=paths["telemetry"], fragments=paths["fragments"],
            hardware=paths["hardware"], class_rule=class_rule, timezone=timezone, method=method.value,
            lenient=lenient, step=step, memory_limit=memory_limit, temp_directory=temp_dir,
        )  # fmt: skip
        written = write_out(folder, lambda d: write_report(an, d))
    s = an.summary if out is not None else _json_safe(an.summary)  # write_report makes it JSON-safe
    if as_json:
        print_json(s)
        return
    render_analysis(s, written, out)
