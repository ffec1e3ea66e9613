"""What every command shares: the consoles, ``fail``, the one error handler, shared option types
and small renderers.

The error contract: a :class:`~schedlab.errors.SchedlabError` raised anywhere below a command is a
user error and becomes ``error: <message>`` on stderr with exit status 2 (:class:`SchedlabGroup`).
Any other exception is a bug in schedlab and surfaces with its traceback.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer
from rich.console import Console
from typer.core import TyperGroup

from schedlab.errors import SchedlabError
from schedlab.options import Allocation, BackfillOrder, CapacityUnit, Correction, Estimates, NodeSelect, Overrun, Preset
from schedlab.workload.bundled import BUNDLED

if TYPE_CHECKING:
    from schedlab.report.outputs import OutputFolder

_WIDTH = None if sys.stdout.isatty() else 140  # wide tables when piped to a file or a log
out_console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


def fail(msg: str) -> NoReturn:
    """Print ``error: msg`` on stderr and exit with status 2."""
    err_console.print(f"[bold red]error:[/] {msg}", markup=True, highlight=False, soft_wrap=True)  # one line
    raise typer.Exit(2)


MAX_SEED = 2**32 - 1  # numpy's and torch's seed range


def _number_guard(name: str, previous: Callable | None) -> Callable:
    """Option callback every numeric option gets: a float must be finite (``nan``/``inf`` parse as
    floats but mean nothing as an option), a seed must be in [0, 2^32); then the option's own check."""

    def check(ctx, param, value):
        if isinstance(value, float) and not math.isfinite(value):
            fail(f"{name} must be a finite number (got {value})")
        if name == "--seed" and value is not None and not 0 <= value <= MAX_SEED:
            fail(f"--seed must be in [0, {MAX_SEED}] (got {value})")
        return value if previous is None else previous(ctx, param, value)

    return check


def guard_numbers(command) -> None:
    """Give every int/float option of ``command`` (and its subcommands) :func:`_number_guard`."""
    for sub in getattr(command, "commands", {}).values():
        guard_numbers(sub)
    for param in getattr(command, "params", []):
        kind = getattr(getattr(param, "type_descriptor", None), "annotation", None)
        if kind in (int, float) and not getattr(param.callback, "_guarded", False):
            param.callback = _number_guard(param.opts[0], param.callback)
            param.callback._guarded = True


class SchedlabGroup(TyperGroup):
    """A command group whose commands' :class:`SchedlabError` become a one-line error, exit 2;
    every numeric option of its commands is checked by :func:`guard_numbers`."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        guard_numbers(self)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SchedlabError as exc:
            fail(str(exc))


def new_app(help: str, **kw) -> typer.Typer:
    """A typer app (or command group) with schedlab's error handling and settings."""
    return typer.Typer(
        cls=SchedlabGroup, add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True, help=help, **kw
    )


def command_line() -> str:
    """The command as typed, stored in run folders so a result says how it was made."""
    return "schedlab " + " ".join(sys.argv[1:])


# --- option checks (run while parsing, before any data is read) -------------------------------
def positive(name: str, most: float = 1e12) -> Callable:
    """Option callback: a finite value in (0, most]; the message gives the range."""

    def check(value):
        if value is not None and not value > 0:
            fail(f"{name} must be > 0 (got {value:g})")
        if value is not None and not value <= most:
            fail(f"{name} must be at most {most:g} (got {value:g})")
        return value

    return check


def fraction(name: str) -> Callable:
    def check(value):
        if value is not None and not 0 < value < 1:
            fail(f"{name} must be between 0 and 1 (got {value})")
        return value

    return check


def at_least(name: str, low: float) -> Callable:
    """Option callback: the value must be ``>= low`` (``None`` passes)."""

    def check(value):
        if value is not None and not value >= low:
            fail(f"{name} must be >= {low:g} (got {value})")
        return value

    return check


def above(name: str, low: float) -> Callable:
    """Option callback: the value must be ``> low`` (``None`` passes); the message shows it as given."""

    def check(value):
        if value is not None and not value > low:
            fail(f"{name} must be > {low:g} (got {value})")
        return value

    return check


def parse_list(text: str, what: str = "value") -> list[str]:
    """Comma-separated items, stripped; an empty list is an error."""
    items = [x.strip() for x in text.split(",") if x.strip()]
    if not items:
        fail(f"no {what} given")
    return items


def parse_ints(text: str, what: str) -> list[int]:
    try:
        return [int(x) for x in parse_list(text, what)]
    except ValueError:
        fail(f"{what}s must be comma-separated integers (got {text!r})")


# --- shared option types -------------------------------------------------------------------------
TRACE_HELP = (
    f"Bundled trace name ({', '.join(BUNDLED)}), a path to an SWF file (.swf or .swf.gz), or a job table: "
    "sacct --parsable2 or --json output, CSV/Parquet with Slurm-like columns, OpenDC tasks Parquet, the Alibaba "
    "pod list (data:alibaba_openb2023/openb_pod_list_default.csv.gz names a file of ../shared/data); the format "
    "is detected from the content."
)
JSON_HELP = "Print one JSON object to stdout instead of tables."
TAU_HELP = "Bounded-slowdown threshold in seconds: bsld = max(1, (wait+run)/max(run, tau))."

TraceOpt = Annotated[str, typer.Option("--trace", "-t", help=TRACE_HELP)]
JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
TauOpt = Annotated[float, typer.Option("--tau", help=TAU_HELP, callback=positive("--tau"))]
PresetOpt = Annotated[
    Preset,
    typer.Option(
        "--preset",
        help="Semantics: textbook (schedlab defaults), rlscheduler (RLScheduler SchedGym, SC20: its loading rules, "
        "whole nodes, its loop), cqsim (CQSim's rules and EASY variant) or slurm (Slurm 22.05's main scheduler and "
        "backfill cycles at their default timers, multifactor or basic priority, cons_tres node choice; needs "
        "--cluster; a pure-Python model for traces of a few thousand jobs, checked against a real Slurm by "
        "`schedlab slurm replay`). A preset sets its own loading rules and overrides --capacity-unit/--estimates/"
        "--overrun.",
    ),
]
UnitOpt = Annotated[
    CapacityUnit,
    typer.Option(
        "--capacity-unit",
        help="What a job holds: procs (its processor count) or nodes (whole nodes, ceil(procs/(MaxProcs/MaxNodes))).",
    ),
]
EstimatesOpt = Annotated[
    Estimates,
    typer.Option(
        "--estimates",
        help="Runtime estimate used for reservations and backfilling: requested (the user's walltime), actual "
        "(perfect), predicted:last2 (mean of the user's last two completed runtimes, Tsafrir) or predicted:ml (an "
        "online regression on the user's recent runtimes, request and size). Predictions are made when a job "
        "arrives from jobs completed before; a trace without user ids groups jobs by similar requests.",
    ),
]
OverrunOpt = Annotated[
    Overrun,
    typer.Option(
        "--overrun", help="A job running past its requested time: kill (ends at the request) or run-on (keeps running)."
    ),
]
CorrectionOpt = Annotated[
    Correction,
    typer.Option(
        "--correction",
        help="With --estimates predicted:*: the new estimate of a job still running at its predicted end: reqtime "
        "(its requested time), double (twice its prediction, repeatedly) or tsafrir (the next usual walltime: 1, 5, "
        "15, 30 min, 1, 2, 4, 8, 12, 24, 48, 72 h); never past the request.",
    ),
]
BackfillOrderOpt = Annotated[
    BackfillOrder,
    typer.Option(
        "--backfill-order",
        help="Order in which EASY tries the waiting jobs behind the blocked head: queue (the policy's order) or "
        "shortest (shortest estimate first, EASY-SJBF).",
    ),
]
ClusterOpt = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="The machine: a description file (TOML, or a site's slurm.conf), the Alibaba node list CSV, or a shipped "
        "one's name (polaris, marconi100; see `schedlab cluster show NAME`). Jobs then need the nodes, CPUs, GPUs and "
        "memory they ask for, in their partition; jobs the machine would refuse are dropped and counted. Default: the "
        "trace's own single-resource machine.",
    ),
]
AllocationOpt = Annotated[
    Allocation | None,
    typer.Option(
        "--allocation",
        help="With --cluster: exclusive (a job holds whole nodes) or shared (CPUs, GPUs and memory per node counted "
        "separately, several jobs per node, as Slurm's cons_tres). Default: the machine description's.",
    ),
]
SelectOpt = Annotated[
    NodeSelect | None,
    typer.Option(
        "--select",
        help="With --cluster: which nodes a job gets among those that fit: first-fit (lowest node first) or best-fit "
        "(the nodes it leaves with the fewest free GPUs, then CPUs, then memory). Default: the description's.",
    ),
]
LenientOpt = Annotated[
    bool, typer.Option("--lenient", help="Skip and count malformed trace lines instead of stopping at the first one.")
]
LoadScaleOpt = Annotated[
    float,
    typer.Option(
        "--load-scale",
        help="Multiply inter-arrival gaps by this factor (<1 = more load) before simulating.",
        callback=positive("--load-scale", 1000.0),
    ),
]

FORCE_HELP = (
    "Let --out replace a folder that holds files schedlab did not write (or a training run): its contents are "
    "deleted once the new results are complete. Without it such a folder is refused; an earlier schedlab output "
    "there is always replaced as a whole."
)
ForceOpt = Annotated[bool, typer.Option("--force", help=FORCE_HELP)]


def check_out(out: Path | None, force: bool, resume: bool = False) -> OutputFolder | None:
    """``--out`` checked before the work starts (a link, a file, an unwritable place or someone
    else's folder is refused: exit 2); None without --out.  Write into it with ``.write(fill)``."""
    from schedlab.report.outputs import prepare_out

    if out is None:
        return None
    try:
        return prepare_out(out, force, command=command_line(), resume=resume)
    except SchedlabError as exc:
        fail(str(exc))


def write_out(folder: OutputFolder | None, fill: Callable[[Path], Iterable]) -> list[str]:
    """``fill(folder)``'s files, written into a temporary folder and moved to --out when complete;
    the paths under --out ([] without --out)."""
    return folder.write(fill) if folder is not None else []


# --- rendering -------------------------------------------------------------------------------------
_DECIMALS = {
    "mean_bsld": 2,
    "max_bsld": 2,
    "utilization": 3,
    "user_wait_jain": 3,
    "sim_seconds": 4,
    "mean_queue_length": 1,
}


def fmt(v: float, metric: str | None = None) -> str:
    """A metric value as a table cell (seconds without decimals, ratios with a few)."""
    if isinstance(v, int):
        return f"{v:,}"
    if metric in _DECIMALS:
        return f"{v:,.{_DECIMALS[metric]}f}"
    if metric and (metric.endswith("wait") or metric in ("makespan", "mean_turnaround")):
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}"  # seconds
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.1f}"
    return f"{v:.3f}"


def print_written(paths: Iterable) -> None:
    for path in paths:
        out_console.print(f"wrote {path}")


def print_json(obj, **kw) -> None:
    """One strict JSON document on stdout (NaN and infinities become null)."""
    from schedlab.report.outputs import dumps

    print(dumps(obj, **kw))


def progress_bar(label: str, *, disable: bool = False, transient: bool = False, live: bool = False):
    """A rich progress bar on stderr (hidden when stderr is not a terminal or ``disable``)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn(label), BarColumn(), MofNCompleteColumn()]
    if live:
        columns.append(TextColumn("{task.fields[live]}"))
    columns.append(TimeElapsedColumn())
    return Progress(*columns, console=err_console, transient=transient, disable=disable or not err_console.is_terminal)


@contextmanager
def spinner(text: str, disable: bool = False):
    """A status line on stderr; yields a ``set(text)`` function (a no-op when hidden)."""
    if disable or not err_console.is_terminal:
        with nullcontext():
            yield lambda _text: None
        return
    with err_console.status(text, spinner="dots") as status:
        yield status.update
