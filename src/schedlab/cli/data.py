"""``schedlab data fetch``: the measured datasets schedlab reads but does not ship."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from schedlab.cli.common import err_console, fail, new_app, out_console, print_written

app = new_app(help="Measured datasets that schedlab reads but does not ship (no licence of their own).")


@app.command("fetch")
def fetch(
    name: Annotated[
        str,
        typer.Argument(
            help="Dataset to fetch: bftrainer (BFTrainer's node-state trace and trainer tables), ecosched "
            "(EcoSched's multi-GPU app profiles and evaluation logs), open_a100 (OPEN's CPU-cap x GPU-cap "
            "performance matrix on A100), surf_lisa (SURF Lisa jobs, CPU-usage fragments and measured power, "
            "OpenDC Parquet), marconi100 (Marconi100 jobs, OpenDC Parquet)."
        ),
    ],
    dest: Annotated[
        Path | None,
        typer.Option(
            "--dest",
            help="Folder to write into (default: the user cache, ~/.cache/schedlab/data, where schedlab looks).",
        ),
    ] = None,
    convert_only: Annotated[
        Path | None,
        typer.Option(
            "--convert-only",
            help="Do not download: convert originals already in this folder (the pinned upstream files, laid out "
            "as in their repository).",
        ),
    ] = None,
    allow_unverified: Annotated[
        bool,
        typer.Option(
            "--allow-unverified",
            help="Download (or reuse) upstream files that have no pinned SHA-256 yet, unchecked; their hashes are "
            "written to SHA256SUMS.unverified in the download folder so they can be checked and pinned. Without it, "
            "such files are refused. Files with a pinned hash are always checked.",
        ),
    ] = False,
):
    """Download a public dataset at a pinned commit (every file checked against its SHA-256) and convert it
    into the CSV layout schedlab reads."""
    from schedlab.datasets import cache_dir
    from schedlab.datasets.registry import FETCHERS
    from schedlab.report.outputs import refuse_links

    if name not in FETCHERS:
        fail(f"unknown dataset {name!r}; available: {', '.join(FETCHERS)}")
    fetch_fn, convert, label = FETCHERS[name]()
    refuse_links((dest or cache_dir()) / name)  # never write a dataset through a link
    if convert_only is not None:
        target = (dest or cache_dir()) / name
        trust = {"allow_unverified": allow_unverified} if name == "bftrainer" else {}  # its originals are pickles
        files = convert(convert_only, target, **trust)
    else:
        progress = lambda m: err_console.print(f"[dim]{m}[/]")
        target = fetch_fn(dest, progress=progress, allow_unverified=allow_unverified)
        files = sorted(p for p in target.rglob("*") if p.is_file() and "_download" not in p.parts)
    print_written(files)
    out_console.print(f"{label} data ready in {target}")
