"""``schedlab data fetch ecosched`` / ``open_a100``: download the pinned originals, then convert them.

Every file goes through the project's one downloader (:mod:`schedlab.datasets.download`): a URL at
the pinned commit and the SHA-256 of :data:`~schedlab.energy.data.sources.ECOSCHED_SHA256` /
:data:`~schedlab.energy.data.sources.OPEN_SHA256`.  Files with no established hash are refused
unless ``allow_unverified=True``.
"""

from __future__ import annotations

from pathlib import Path

from schedlab.datasets import cache_dir
from schedlab.datasets.download import PinnedFile, fetch_files
from schedlab.energy.data import sources
from schedlab.energy.data.ecosched import convert_ecosched
from schedlab.energy.data.open_a100 import _read_performance, convert_open_a100


def ecosched_files() -> list[PinnedFile]:
    """Every file ``fetch_ecosched`` downloads, pinned (URL at ECOSCHED_COMMIT, SHA-256 or None)."""
    return [PinnedFile(p, sources.ECOSCHED_BASE + p, sources.ECOSCHED_SHA256.get(p)) for p in sources.ecosched_paths()]


def open_files(paths: list[str]) -> list[PinnedFile]:
    """The given power_2 paths, pinned (URL at OPEN_COMMIT, SHA-256 or None)."""
    return [PinnedFile(p, sources.OPEN_BASE + p, sources.OPEN_SHA256.get(p)) for p in paths]


def fetch_ecosched(dest: Path | None = None, progress=None, allow_unverified: bool = False) -> Path:
    """Download the pinned EcoSched originals and convert them into ``dest/ecosched`` (default: the cache)."""
    dest = Path(dest) if dest is not None else cache_dir()
    raw = dest / "ecosched" / "_download"
    raw.mkdir(parents=True, exist_ok=True)
    fetch_files(
        ecosched_files(), raw, progress=progress, source=sources.ECOSCHED_BASE, allow_unverified=allow_unverified
    )
    convert_ecosched(raw, dest / "ecosched", progress=progress)
    if progress:
        progress("not produced by fetch: " + ", ".join(sources.ECOSCHED_NOT_PRODUCED))
    return dest / "ecosched"


def _series_paths(raw: Path) -> list[str]:
    """The per-pair series named by the downloaded performance tables' rows."""
    series = []
    for (_, _, app), (table, folder) in sources.OPEN_SOURCES.items():
        perf = _read_performance(raw / table, app)
        for cpu, gpu in zip(perf["cpu_cap_w"], perf["gpu_cap_w"], strict=False):
            series += sources.pair_paths(folder, int(cpu), int(gpu))
    return series


def fetch_open_a100(
    dest: Path | None = None, progress=None, raw_series: bool = True, allow_unverified: bool = False
) -> Path:
    """Download the pinned OPEN originals and convert them into ``dest/open_a100`` (default: the cache).

    ``raw_series=False`` skips the ~5,500 per-pair time series; the columns derived from them
    (``runtime_s`` … ``runtime_matches_perf_norm``) are then written empty.
    """
    dest = Path(dest) if dest is not None else cache_dir()
    raw = dest / "open_a100" / "_download"
    raw.mkdir(parents=True, exist_ok=True)
    base = sources.OPEN_BASE
    fetch_files(
        open_files(sources.open_table_paths()), raw, progress=progress, source=base, allow_unverified=allow_unverified
    )
    if raw_series:
        series = open_files(_series_paths(raw))
        absent = fetch_files(
            series, raw, progress=progress, source=base, allow_unverified=allow_unverified, optional=True
        )
        if progress and absent:
            progress(f"note: {absent} per-pair series files are absent upstream")
    convert_open_a100(raw, dest / "open_a100", raw_series=raw_series, progress=progress)
    return dest / "open_a100"
