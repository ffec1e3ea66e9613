"""The datasets ``schedlab data fetch NAME`` knows: name -> a loader of (fetch, convert, label).

``fetch(dest, progress, allow_unverified=False)`` downloads the pinned public originals (through
:mod:`schedlab.datasets.download`) and converts them, returning the folder written;
``convert(raw_dir, dest)`` converts originals already on disk, returning the files written.  Each
dataset's module owns its URLs, hashes and conversion.

The entries name their module as a string and import it only when that dataset is asked for: it
keeps ``schedlab --help`` fast, and this package below the dataset modules that use its lookup.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class FetchTarget:
    """One ``data fetch`` target: ``module`` holds the functions ``fetch`` and ``convert``.

    ``not_produced`` names a tuple in that module of the dataset's files that fetch cannot make;
    they are listed in the label.
    """

    module: str
    fetch: str
    convert: str
    label: str
    not_produced: str | None = None

    def __call__(self) -> tuple[Callable, Callable, str]:
        mod = importlib.import_module(self.module)
        label = self.label
        if self.not_produced:
            label += " (not produced by fetch: " + ", ".join(getattr(mod, self.not_produced)) + ")"
        return getattr(mod, self.fetch), getattr(mod, self.convert), label


#: dataset name -> loader; calling a loader imports its module and returns (fetch, convert, label)
FETCHERS: dict[str, FetchTarget] = {
    "bftrainer": FetchTarget("schedlab.elastic.data", "fetch_bftrainer", "convert_bftrainer", "BFTrainer"),
    "ecosched": FetchTarget(
        "schedlab.energy.data", "fetch_ecosched", "convert_ecosched", "EcoSched", not_produced="ECOSCHED_NOT_PRODUCED"
    ),
    "open_a100": FetchTarget("schedlab.energy.data", "fetch_open_a100", "convert_open_a100", "OPEN A100"),
    "surf_lisa": FetchTarget("schedlab.datasets.opendc", "fetch_surf_lisa", "convert_surf_lisa", "SURF Lisa (OpenDC)"),
    "marconi100": FetchTarget(
        "schedlab.datasets.opendc", "fetch_marconi100", "convert_marconi100", "Marconi100 (OpenDC)"
    ),
}

__all__ = ["FETCHERS", "FetchTarget"]
