"""Pretrained models shipped in the package (``src/schedlab/data/models``), and finding a model by
name or path."""

from __future__ import annotations

from pathlib import Path

from schedlab.errors import SchedlabError

MODELS_DIR = Path(__file__).resolve().parents[1] / "data" / "models"


def shipped_models() -> dict[str, Path]:
    return {p.stem: p for p in sorted(MODELS_DIR.glob("*.pt"))}


def find_model(name_or_path: str) -> Path:
    """The file a shipped model's name (e.g. ``theta_2022-dras``), a model file or a run folder
    (its ``model.pt``) names; an error naming the shipped models when there is none.  Reads nothing."""
    shipped = shipped_models()
    if name_or_path in shipped:
        return shipped[name_or_path]
    path = Path(name_or_path)
    if path.is_dir():
        path = path / "model.pt"
    if not path.exists():
        names = ", ".join(shipped) or "none"
        raise SchedlabError(f"no model file {name_or_path!r} (shipped models: {names})")
    return path


def resolve_model(name_or_path: str) -> Path:
    """:func:`find_model`, and a check that the file is a readable schedlab model (it is read once
    for that; to use the model, :func:`schedlab.rl.policy.model_policy` loads it once instead)."""
    from schedlab.rl.checkpoint import read_checkpoint

    path = find_model(name_or_path)
    read_checkpoint(path)
    return path


def shipped_model_rows() -> list[dict]:
    """One row per shipped model: name, agent, trace, objective, file and the command that trained it."""
    from schedlab.rl.checkpoint import read_checkpoint

    rows = []
    for name, path in shipped_models().items():
        meta = read_checkpoint(path)["meta"]
        rows.append(
            {
                "name": name,
                "agent": meta["agent"],
                "trace": meta.get("trace", ""),
                "objective": meta["env_kwargs"].get("reward", ""),
                "file": str(path),
                "command": meta.get("command", ""),
            }
        )
    return rows
