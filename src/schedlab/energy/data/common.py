"""Helpers shared by the EcoSched and OPEN converters: required files, parse errors, counted notes."""

from __future__ import annotations

from pathlib import Path

from schedlab.energy.data.sources import GPU_MODELS, ML_APPS
from schedlab.errors import DataNotFound


def _need(path: Path) -> Path:
    if not path.exists():
        raise DataNotFound(f"required upstream file missing: {path}")
    return path


def _bad(path: Path, lineno: int, line: str, what: str) -> ValueError:
    return ValueError(f"{path}:{lineno}: cannot parse {what}: {line.strip()!r}")


class _Notes:
    def __init__(self, progress):
        self.lines: list[str] = []
        self.progress = progress

    def add(self, msg: str) -> None:
        self.lines.append(msg)
        if self.progress:
            self.progress(f"note: {msg}")

    def write(self, dest: Path) -> Path:
        from schedlab.report.outputs import write_text

        return write_text(dest / "conversion_notes.txt", "".join(f"- {m}\n" for m in self.lines) or "- none\n")


def _app_of(label: str) -> str:
    return label.split("#", 1)[0]


def _category(section: str, app: str) -> str:
    if section.upper().startswith("SPEC"):
        return "SPEC_HPC"
    return "ML" if app in ML_APPS else "CUDA_sample"


_GPU_ORDER = {g: i for i, g in enumerate(GPU_MODELS)}
