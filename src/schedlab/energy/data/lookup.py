"""Where the converted EcoSched and OPEN CSVs are (the lookup of :mod:`schedlab.datasets`)."""

from __future__ import annotations

from pathlib import Path

from schedlab.datasets import find_dataset
from schedlab.energy.data.sources import ECOSCHED_REQUIRED, OPEN_REQUIRED


def ecosched_dir(data_dir: Path | None = None) -> Path:
    """The folder holding the EcoSched CSVs (``<data>/ecosched``), or a clear error."""
    return find_dataset(
        "ecosched", ECOSCHED_REQUIRED, data_dir, "run `schedlab data fetch ecosched` or pass --data-dir"
    )


def open_a100_dir(data_dir: Path | None = None) -> Path:
    """The folder holding the OPEN A100 CSVs (``<data>/open_a100``), or a clear error."""
    return find_dataset("open_a100", OPEN_REQUIRED, data_dir, "run `schedlab data fetch open_a100` or pass --data-dir")
