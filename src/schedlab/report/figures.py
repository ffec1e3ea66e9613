"""The one figure helper: headless matplotlib and an atomic PNG save.

Every plotting module draws with ``plt = pyplot()`` and finishes with
``save_figure(fig, path)``; nothing else in schedlab calls ``savefig`` or picks a backend.
"""

from __future__ import annotations

from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the headless Agg backend (imported on first use: keeps the CLI fast)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path | str, dpi: int = 110, tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` as PNG (through a temporary file, then a rename) and close it."""
    from schedlab.report.outputs import atomic_path

    path = Path(path)
    if tight:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    pyplot().close(fig)
    return path


__all__ = ["pyplot", "save_figure"]
