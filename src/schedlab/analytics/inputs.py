"""Where ``analyze`` reads from: a path, a bundled trace name, or ``data:DATASET/PATH``, a file of a
dataset schedlab finds (``--data-dir``, $SCHEDLAB_DATA, the cache, shared/data beside a checkout)."""

from __future__ import annotations

from pathlib import Path

from schedlab.errors import DataNotFound

#: the inputs of an analysis, as ``resolve_inputs`` takes and returns them
INPUTS = ("jobs", "telemetry", "fragments", "hardware")


def resolve_input(spec: str | None, data_dir: Path | None = None) -> Path | None:
    """A path, or ``data:NAME/FILE`` for a file of a dataset schedlab finds, e.g.
    ``data:surf_lisa/surf_week/tasks.parquet`` (``None`` stays ``None``)."""
    if spec is None:
        return None
    if not spec.startswith("data:"):
        return Path(spec)
    from schedlab.datasets import resolve_data_path

    return resolve_data_path(spec, data_dir)


def _check_exists(kind: str, path: Path) -> None:
    """A missing input file is a :class:`DataNotFound` (jobs may also name a bundled trace)."""
    if path.exists():
        return
    if kind == "jobs":
        from schedlab.workload.bundled import BUNDLED, resolve_trace

        try:
            resolve_trace(path)
        except FileNotFoundError:
            raise DataNotFound(f"job file not found: {path} (nor a bundled trace: {', '.join(BUNDLED)})") from None
        return
    raise DataNotFound(f"{kind} file not found: {path}")


def resolve_inputs(specs: dict[str, str | None], data_dir: Path | None = None) -> dict[str, Path | None]:
    """Each of ``jobs``, ``telemetry``, ``fragments``, ``hardware`` (:data:`INPUTS`) resolved by
    :func:`resolve_input` and checked to exist, so a wrong name fails before any reading starts."""
    paths = {}
    for kind in INPUTS:
        paths[kind] = resolve_input(specs.get(kind), data_dir)
        if paths[kind] is not None:
            _check_exists(kind, paths[kind])
    return paths


__all__ = ["INPUTS", "resolve_input", "resolve_inputs"]
