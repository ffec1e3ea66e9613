"""``schedlab cluster show``: what schedlab reads from a machine description."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from schedlab.cli.common import JsonOpt, new_app, out_console, print_json

HELP = (
    "Machine descriptions: node types, partitions (Slurm partitions or PBS queues), QOS and priority "
    "settings, read from a shipped example (polaris, marconi100), a TOML file, a site's slurm.conf or the "
    "Alibaba GPU cluster's node list."
)
app = new_app(help=HELP)

#: the longest host list shown in a table cell (the --json output has them whole)
MAX_HOSTLIST = 40


def _short(text: str, most: int = MAX_HOSTLIST) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _mem(mib: int) -> str:
    if not mib:
        return "-"
    if mib >= 10 * 1024**2:
        return f"{mib / 1024**2:,.1f} TiB"
    return f"{mib / 1024:,.0f} GiB" if mib >= 1024 else f"{mib} MiB"


def _num(v) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:,.3g}"


def _node_types_table(d: dict) -> Table:
    t = Table(title="node types")
    for c in ("name", "count", "CPUs", "GPUs", "GPU type", "memory", "hosts"):
        t.add_column(c, justify="right" if c in ("count", "CPUs", "GPUs", "memory") else "left")
    for nt in d["node_types"]:
        t.add_row(
            escape(nt["name"]), f"{nt['count']:,}", _num(nt["cpus"]), _num(nt["gpus"]), escape(nt["gpu_type"] or "-"),
            _mem(nt["mem_mib"]), escape(_short(nt["hostlist"])),
        )  # fmt: skip
    return t


def _partitions_table(d: dict) -> Table:
    t = Table(title="partitions")
    for c in ("name", "nodes", "max time", "max nodes", "default", "tier", "job factor", "QOS"):
        t.add_column(c, justify="right" if c in ("max time", "max nodes", "tier", "job factor") else "left")
    for p in d["partitions"]:
        qos = [f"allow {','.join(p['allow_qos'])}"] if p["allow_qos"] else []
        qos += [f"partition QOS {p['qos']}"] if p["qos"] else []
        t.add_row(
            escape(p["name"]), escape(f"{p['nodes']:,}  {_short(p['hostlist'])}"), p["max_time"],
            f"{p['max_nodes']:,}" if p["max_nodes"] else "-", "yes" if p["default"] else "",
            str(p["priority_tier"]), str(p["priority_job_factor"]), escape("; ".join(qos) or "any"),
        )  # fmt: skip
    return t


def _qos_table(d: dict) -> Table:
    t = Table(title="QOS")
    for c in ("name", "priority", "max jobs / user", "max GPUs / user", "max wall"):
        t.add_column(c, justify="left" if c == "name" else "right")
    for q in d["qos"]:
        t.add_row(
            escape(q["name"]), f"{q['priority']:,}", f"{q['max_jobs_per_user']:,}" if q["max_jobs_per_user"] else "-",
            f"{q['max_gpus_per_user']:,}" if q["max_gpus_per_user"] else "-", q["max_wall"],
        )  # fmt: skip
    return t


def _priority_table(d: dict) -> Table:
    from schedlab.cluster.fields import format_slurm_time

    t = Table(title="priority (Slurm multifactor)")
    t.add_column("setting")
    t.add_column("value", justify="right")
    for key, value in d["priority"].items():
        if key == "shares":
            value = ", ".join(f"{a}={s:g}" for a, s in value.items()) or "1 each"
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif key.endswith("_s"):
            value = "none" if value is None else format_slurm_time(value)
            key = key.removesuffix("_s")
        t.add_row(key, escape(str(value)))
    return t


def _render(d: dict) -> None:
    tot = d["totals"]
    out_console.print(
        f"[bold]{escape(d['name'])}[/]: {tot['nodes']:,} nodes, {_num(tot['cpus'])} CPUs, {_num(tot['gpus'])} GPUs, "
        f"{_mem(tot['mem_mib'])} memory; allocation {d['allocation']}, node selection {d['select']}",
        highlight=False,
    )
    out_console.print(f"read from {escape(d['source'])}", style="dim", highlight=False)
    for table in (_node_types_table(d), _partitions_table(d)):
        out_console.print(table)
    if d["qos"]:
        out_console.print(_qos_table(d))
    out_console.print(_priority_table(d))
    for note in d["notes"]:
        out_console.print(f"note: {note}", markup=False, highlight=False)


@app.command("show")
def show(
    spec: Annotated[
        str,
        typer.Argument(
            metavar="FILE_OR_NAME",
            help="A shipped machine (polaris, marconi100), a TOML description, a site's slurm.conf, or the "
            "Alibaba node list (openb_node_list_all_node.csv[.gz]).",
        ),
    ],
    as_json: JsonOpt = False,
):
    """Show a machine as schedlab reads it: node types, partitions with their limits, QOS, priority
    settings, totals, and notes on what was assumed or ignored."""
    from schedlab.cluster import describe, load_cluster

    d = describe(load_cluster(spec))
    if as_json:
        print_json(d)
        return
    _render(d)
