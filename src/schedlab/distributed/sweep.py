"""``run_sweep``: every cell of a grid, kept on disk as it finishes, gathered into one table.

The output folder holds ``sweep.json`` (the grid), ``cells/KEY.json`` (one finished cell each,
written atomically) and, once every cell is done, ``results.parquet``/``results.csv`` (one row per
cell in grid order: the axes, ``status``, ``error``, the metrics of ``compare``,
``cell_seconds``), ``summary.json`` (the grid, counts, executor, wall time) and the plots
(``metrics.png`` by policy and backfilling, ``by_AXIS.png`` along every other axis that varies).
Run again with the same grid, a stopped sweep continues: finished cells are not run again.  A
folder holding another sweep is replaced only with ``force``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from schedlab.distributed.executors import executor
from schedlab.distributed.grid import AXES, Cell, SweepGrid, grid_from_dict
from schedlab.errors import SchedlabError
from schedlab.report.outputs import MARKER, prepare_out, write_csv, write_json

GRID_FILE = "sweep.json"
CELLS = "cells"


@dataclass
class SweepResult:
    table: pd.DataFrame  # one row per cell, grid order
    ran: int  # cells run now (the rest were found finished)
    wall_seconds: float
    files: list[str]


def _same_sweep(out: Path, grid: SweepGrid) -> bool | None:
    """None: no sweep there; else whether it is this grid's."""
    f = out / GRID_FILE
    if not f.is_file() or f.is_symlink():
        return None
    try:
        return grid_from_dict(json.loads(f.read_text())) == grid
    except (json.JSONDecodeError, SchedlabError, UnicodeDecodeError, TypeError):
        return False


def _finished(out: Path, cells: list[Cell]) -> dict[str, dict]:
    rows = {}
    for cell in cells:
        f = out / CELLS / f"{cell.key()}.json"
        if f.is_file() and not f.is_symlink():
            try:
                row = json.loads(f.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue  # unreadable: run it again
            if all(row.get(a) == getattr(cell, a) for a in AXES):
                rows[cell.key()] = row
    return rows


def run_sweep(grid: SweepGrid, out: str | Path, executor_name: str = "serial", workers: int | None = None,
              address: str | None = None, force: bool = False, command: str = "",
              on_cell: Callable[[dict], None] | None = None) -> SweepResult:  # fmt: skip
    """Run the cells of ``grid`` not yet finished in ``out`` with the named executor (see
    :mod:`schedlab.distributed.executors`); ``on_cell`` is called with each new row."""
    t0 = time.perf_counter()
    run = executor(executor_name)
    out = Path(out)
    same = _same_sweep(out, grid) if out.is_dir() and not out.is_symlink() else None
    if same is False and not force:
        raise SchedlabError(f"--out {out} holds another sweep (a different grid); give another folder or --force")
    folder = prepare_out(out, force, command, resume=bool(same))
    cells = grid.cells()
    with folder.progressive() as path:
        (path / MARKER).unlink(missing_ok=True)  # unfinished until every cell is in
        write_json(path / GRID_FILE, grid.to_dict())
        rows = _finished(path, cells) if same else {}
        todo = [c for c in cells if c.key() not in rows]

        def on_row(row: dict) -> None:
            cell = Cell(**{a: row[a] for a in AXES})
            write_json(path / CELLS / f"{cell.key()}.json", row)
            rows[cell.key()] = row
            if on_cell:
                on_cell(row)

        if todo:
            run(todo, grid, on_row, workers=workers, address=address)
        table = pd.DataFrame([rows[c.key()] for c in cells])
        files = _write_results(path, table, grid, executor_name, len(todo), time.perf_counter() - t0)
    return SweepResult(table, len(todo), time.perf_counter() - t0, files)


def _write_results(path: Path, table: pd.DataFrame, grid: SweepGrid, executor_name: str, ran: int, wall: float):
    table.to_parquet(path / "results.parquet", index=False)
    write_csv(path / "results.csv", table)
    failed = table[table["status"] != "ok"]
    write_json(path / "summary.json", {
        "grid": grid.to_dict(), "cells": len(table), "failed": len(failed), "ran_now": ran,
        "executor": executor_name, "wall_seconds": wall,
        "failures": failed[[*AXES, "error"]].to_dict(orient="records"),
    })  # fmt: skip
    files = ["results.parquet", "results.csv", "summary.json"]
    ok = table[table["status"] == "ok"]
    if len(ok) and "mean_bsld" in ok:
        from schedlab.distributed.plots import plot_sweep

        files += plot_sweep(ok, path)
    return [str(path / f) for f in files]


__all__ = ["SweepResult", "run_sweep"]
