"""The machine-readable output folder every command writes: summary.json, each table as Parquet
and CSV, and plots."""

from __future__ import annotations

import json
from pathlib import Path


def write_outputs(out: Path, summary: dict, frames: dict, plots) -> list[str]:
    """Write ``summary`` and ``frames`` (name -> DataFrame) into ``out``; ``plots`` are callables
    that draw one PNG each and return its path.  Returns every path written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    written.append(str(out / "summary.json"))
    for name, df in frames.items():
        df.to_parquet(out / f"{name}.parquet", index=False)
        df.to_csv(out / f"{name}.csv", index=False)
        written += [str(out / f"{name}.parquet"), str(out / f"{name}.csv")]
    for make in plots:
        written.append(str(make()))
    return written
