"""Pretrained models shipped in the package (``src/schedlab/data/models``)."""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parents[1] / "data" / "models"


def shipped_models() -> dict[str, Path]:
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.pt"))}


def resolve_model(name_or_path: str) -> Path:
    """A shipped model's name (e.g. ``theta_2022-dras``) or a path to a model file or run folder;
    checks that it is a readable schedlab model."""
    from schedlab.rl.agents import read_checkpoint

    shipped = shipped_models()
    if name_or_path in shipped:
        path = shipped[name_or_path]
    else:
        path = Path(name_or_path)
        if path.is_dir():
            path = path / "model.pt"
        if not path.exists():
            names = ", ".join(shipped) or "none"
            raise ValueError(f"no model file {name_or_path!r} (shipped models: {names})")
    read_checkpoint(path)
    return path
