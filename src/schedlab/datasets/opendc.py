"""``schedlab data fetch surf_lisa`` / ``marconi100``: OpenDC workload traces, copied unchanged.

The SURF Lisa jobs (a week, a month, half a year; CPU usage fragments for the week; measured power
of the CPU partition) and the Marconi100 jobs are Parquet files in the OpenDC repositories.  They
need no conversion: each is downloaded at a pinned commit, checked against its SHA-256 (the hashes
below are those of the repository blobs) and moved into ``<dest>/<dataset>/`` under its own name,
where ``analyze`` finds it as ``data:surf_lisa/surf_week/tasks.parquet`` etc.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from schedlab.datasets.download import PinnedFile, fetch_files, sha256_of
from schedlab.datasets.find import cache_dir
from schedlab.errors import ChecksumMismatch, DataNotFound

OPENDC_COMMIT = "691036deb92b9e236d1a33c6f3066f98a96ba0e6"
OPENDC_BASE = (
    f"https://raw.githubusercontent.com/atlarge-research/opendc/{OPENDC_COMMIT}/"
    "opendc-experiments/opendc-experiments-base/src/jmh/resources/workloadTraces/workloadScaling/"
)
M3SA_COMMIT = "f649ff27edc673d39ac632a33d078707f458ec3e"
M3SA_BASE = f"https://raw.githubusercontent.com/atlarge-research/opendc-m3sa-reproducibility-capsule/{M3SA_COMMIT}/"

#: dataset -> {file in the dataset folder: (URL at the pinned commit, SHA-256 of the blob)}
SOURCES: dict[str, dict[str, tuple[str, str]]] = {
    "surf_lisa": {
        "surf_week/tasks.parquet": (
            OPENDC_BASE + "surf_week/tasks.parquet",
            "d3e7c247cccb9201601d45e7cdb322db8dd8059d162e246cf74474e3669129a4",
        ),
        "surf_week/fragments.parquet": (
            OPENDC_BASE + "surf_week/fragments.parquet",
            "6db66564c0c2f5fe123733a448c266817c29f2a44d02531a2fc89ac03deeebfa",
        ),
        "surf_month/tasks.parquet": (
            OPENDC_BASE + "surf_month/tasks.parquet",
            "9cf5221b540c56640a00d716618aa027805ccba372429454e13764c89f307efb",
        ),
        "surf_halfyear/tasks.parquet": (
            OPENDC_BASE + "surf_halfyear/tasks.parquet",
            "fb4e46dfd5ff3caca66c10a6226a343785a077c19e2507a6ad5e1c16f10550d5",
        ),
        "surf_week_measured_power/host.parquet": (
            M3SA_BASE + "experiments/experiment1/footprinter/raw-output/fp-reality/seed=0/host.parquet",
            "8a60b0b7a5c336c5ffb1a813838dc52288f35822e7ab16ec47c11a23b9399d92",
        ),
    },
    "marconi100": {
        "marconi-22/tasks.parquet": (
            M3SA_BASE + "experiments/experiment2/inputs/marconi-22/tasks.parquet",
            "00c70370ff9e509ba1df4bbc8ef5180852537c38b81168d2ef106bc532388084",
        ),
    },
}


def pinned_files(dataset: str) -> list[PinnedFile]:
    """The dataset's files, each named by its place in the dataset folder."""
    return [PinnedFile(path, url, sha) for path, (url, sha) in SOURCES[dataset].items()]


def _fetch(dataset: str, dest: Path | None, progress, allow_unverified: bool) -> Path:
    dest = Path(dest) if dest is not None else cache_dir()
    raw = dest / dataset / "_download"
    raw.mkdir(parents=True, exist_ok=True)
    fetch_files(pinned_files(dataset), raw, progress=progress, allow_unverified=allow_unverified, workers=2)
    _convert(dataset, raw, dest / dataset)
    return dest / dataset


def _convert(dataset: str, raw: Path, dest: Path) -> list[Path]:
    """Copy each verified original from ``raw`` into ``dest`` (atomically: a temporary name, then a rename)."""
    written = []
    for file in pinned_files(dataset):
        src, target = Path(raw) / file.path, Path(dest) / file.path
        if not src.is_file() or src.is_symlink():
            raise DataNotFound(f"{src}: not found or not a plain file ({dataset} originals keep their layout)")
        got = sha256_of(src)
        if got != file.sha256:
            raise ChecksumMismatch(f"{src}: SHA-256 {got} is not the pinned {file.sha256}")
        from schedlab.report.outputs import atomic_path

        with atomic_path(target) as tmp:
            shutil.copyfile(src, tmp)
        written.append(target)
    return written


def fetch_surf_lisa(dest: Path | None = None, progress=None, allow_unverified: bool = False) -> Path:
    """Download the pinned SURF Lisa Parquet files into ``dest/surf_lisa`` (default: the cache)."""
    return _fetch("surf_lisa", dest, progress, allow_unverified)


def convert_surf_lisa(raw: Path, dest: Path) -> list[Path]:
    """Check and copy SURF Lisa originals already on disk (laid out as in :data:`SOURCES`)."""
    return _convert("surf_lisa", raw, dest)


def fetch_marconi100(dest: Path | None = None, progress=None, allow_unverified: bool = False) -> Path:
    """Download the pinned Marconi100 Parquet file into ``dest/marconi100`` (default: the cache)."""
    return _fetch("marconi100", dest, progress, allow_unverified)


def convert_marconi100(raw: Path, dest: Path) -> list[Path]:
    """Check and copy the Marconi100 original already on disk."""
    return _convert("marconi100", raw, dest)


__all__ = [
    "SOURCES",
    "convert_marconi100",
    "convert_surf_lisa",
    "fetch_marconi100",
    "fetch_surf_lisa",
    "pinned_files",
]
