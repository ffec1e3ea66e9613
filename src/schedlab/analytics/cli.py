"""``schedlab analyze``: operations analytics over a job table (and optional power telemetry).

Import stays light: the command body imports DuckDB, pandas and matplotlib only when it runs.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class JobFormat(StrEnum):
    auto = "auto"
    sacct = "sacct"
    csv = "csv"
    parquet = "parquet"
    swf = "swf"
    opendc = "opendc"
    schedlab = "schedlab"


class Method(StrEnum):
    auto = "auto"
    usage = "usage"
    equal = "equal"
    cores = "cores"
    gpus = "gpus"


def _resolve(spec: str | None, data_dir: Path | None) -> Path | None:
    """A path, or ``data:NAME/FILE`` for a file of a dataset schedlab finds (``--data-dir``,
    $SCHEDLAB_DATA, the cache, shared/data), e.g. ``data:surf_lisa/surf_week/tasks.parquet``."""
    if spec is None:
        return None
    if not spec.startswith("data:"):
        return Path(spec)
    from schedlab.datasets import find_dataset

    name, _, rest = spec[5:].partition("/")
    if not name or not rest:
        raise ValueError(f"{spec!r}: write data:DATASET/PATH, e.g. data:surf_lisa/surf_week/tasks.parquet")
    return find_dataset(name, [rest], data_dir) / rest


def register(app: typer.Typer) -> None:
    """Add the top-level ``analyze`` command to ``app``."""

    @app.command()
    def analyze(
        jobs: str = typer.Option(
            ...,
            "--jobs",
            "-j",
            help="Job table: sacct --parsable2 output, CSV, Parquet, SWF trace, "
            "OpenDC tasks.parquet, a `schedlab simulate --out` folder, or a bundled trace name (theta_2022, ...). "
            "data:DATASET/FILE names a file of a dataset schedlab finds, e.g. "
            "data:surf_lisa/surf_week/tasks.parquet.",
        ),
        format: JobFormat = typer.Option(
            JobFormat.auto, "--format", "-f", help="Format of --jobs; auto guesses from the name and content."
        ),
        telemetry: str | None = typer.Option(
            None,
            "--telemetry",
            help="Measured power (CSV/Parquet): per node "
            "(node, timestamp, power), wide (timestamp + one column per node) or "
            "one cluster series. Enables energy per job and the Telemetry section.",
        ),
        fragments: str | None = typer.Option(
            None,
            "--fragments",
            help="OpenDC fragments.parquet: per-job CPU usage "
            "every 30 s, used to split the dynamic power among running jobs.",
        ),
        hardware: str | None = typer.Option(
            None,
            "--hardware",
            help="Hardware table (CSV/JSON/Parquet): nodes per "
            "node type and optionally cores, gpus, idle_w (W per node), tdp_w, partition.",
        ),
        class_rule: str | None = typer.Option(
            None,
            "--class-rule",
            help="Which jobs count as ML/accelerator jobs: a "
            "SQL condition over the job columns, e.g. \"partition LIKE 'gpu%'\" or "
            "'gpus > 0'. Default: GPUs held, or a partition/node type naming a GPU.",
        ),
        method: Method = typer.Option(
            Method.auto,
            "--method",
            help="How a slot's power is split among running jobs: "
            "usage (measured per-job usage, needs --fragments), equal (per node, the baseline), "
            "cores or gpus (weighted by what each job holds). auto: usage with --fragments, else equal.",
        ),
        timezone: str = typer.Option(
            "UTC",
            "--timezone",
            help="Time zone of time stamps written without a UTC offset "
            "(sacct prints local time), e.g. Europe/Amsterdam. Offsets in the data always win.",
        ),
        lenient: bool = typer.Option(
            False, "--lenient", help="Clear and count unparseable node lists instead of stopping."
        ),
        memory_limit: str | None = typer.Option(
            None,
            "--memory-limit",
            help="Cap DuckDB's memory, e.g. 2GB: a "
            "Parquet job table larger than it spills to --temp-dir (slower, not failing).",
        ),
        temp_dir: Path | None = typer.Option(None, "--temp-dir", help="Where DuckDB spills past --memory-limit."),
        data_dir: Path | None = typer.Option(
            None, "--data-dir", help="Where data:DATASET/FILE paths are looked up first."
        ),
        out: Path | None = typer.Option(
            None, "--out", "-o", help="Write report.html, summary.json, tables (Parquet + CSV) and plots (PNG) here."
        ),
        as_json: bool = typer.Option(
            False, "--json", help="Print one JSON object (the summary) to stdout instead of tables."
        ),
    ):
        """Characterise a workload (classes, states and failures, runtimes and waits, arrivals) and,
        with --telemetry, split the measured energy over the jobs; writes an HTML report with --out."""
        import json
        from contextlib import nullcontext

        from rich.table import Table

        from schedlab.cli import _fail, err_console, out_console

        try:
            paths = {
                k: _resolve(v, data_dir)
                for k, v in (("jobs", jobs), ("telemetry", telemetry), ("fragments", fragments), ("hardware", hardware))
            }
        except (ValueError, FileNotFoundError) as exc:
            _fail(str(exc))
        if paths["fragments"] is not None and paths["telemetry"] is None:
            _fail("--fragments needs --telemetry (usage only weights how measured power is split)")
        if method == Method.usage and paths["fragments"] is None:
            _fail("--method usage needs --fragments")
        from schedlab.analytics.report import run_analysis, write_report

        status = (
            err_console.status("analyzing", spinner="dots")
            if err_console.is_terminal and not as_json
            else nullcontext()
        )
        try:
            with status as st:

                def step(name):
                    if st is not None:
                        st.update(name)

                an = run_analysis(
                    paths["jobs"],
                    format=format.value,
                    telemetry=paths["telemetry"],
                    fragments=paths["fragments"],
                    hardware=paths["hardware"],
                    class_rule=class_rule,
                    timezone=timezone,
                    method=method.value,
                    lenient=lenient,
                    step=step,
                    memory_limit=memory_limit,
                    temp_directory=temp_dir,
                )
                written = write_report(an, out) if out is not None else []
        except (ValueError, FileNotFoundError) as exc:
            _fail(str(exc))
        if out is None:
            from schedlab.analytics.report import _json_safe

            an.summary = _json_safe(an.summary)
        s = an.summary
        if as_json:
            print(json.dumps(s))
            return
        cl = s["cleaning"]
        err_console.print(
            "[dim]"
            + "; ".join(
                [f"read {cl['read']:,} jobs"]
                + [f"dropped {v:,} {k}" for k, v in cl["dropped"].items()]
                + [f"{k}: {v:,}" for k, v in cl["changed"].items()]
                + [f"kept {cl['kept']:,}"]
            )
            + "[/]"
        )
        for n in cl["notes"] + s["notes"]:
            err_console.print(f"[dim]note: {n}[/]")
        t = Table(title=f"{Path(s['source']).name}: jobs by class")
        for c in ("class", "jobs", "share", "node-h share", "runtime p50", "wait p50", "FAILED", "not COMPLETED"):
            t.add_column(c, justify="left" if c == "class" else "right")
        fr = {r["job_class"]: r for r in s["failure_rates"]}
        from schedlab.analytics.report import _dur, _pct

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
        out_console.print(t)
        if s.get("energy"):
            b = s["energy"]["balance"]
            et = Table(title=f"energy ({s['energy']['method']} split)")
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
            out_console.print(et)
        for line in s["findings"]:
            out_console.print(f"- {line}", highlight=False)
        for p in written:
            if p.endswith((".html", ".json")):
                out_console.print(f"wrote {p}")
        if written:
            out_console.print(f"({len(written)} files in {out})")
