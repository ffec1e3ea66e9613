"""The grid of a sweep: its axes, validated once, and its cells in a fixed order.

Axes (each a list; every combination is one cell): ``traces`` (bundled names, SWF paths, job
tables, ``data:`` specs), ``clusters`` (machine descriptions or shipped names; ``""`` = the trace's
own single-resource machine), ``policies`` (any ``--policy`` spelling, ``model:``/``tree:``
included), ``backfills``, ``estimates``, ``load_scales`` and ``seeds``.  A seed places the
evaluation windows (``windows`` > 0: that many windows of ``window_len`` jobs, each simulated
alone, their metrics averaged); without windows a cell is the whole trace and ``seeds`` must be
``[0]`` (a deterministic simulation repeated gives the same numbers).
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from itertools import product
from pathlib import Path

from schedlab.errors import SchedlabError
from schedlab.options import Backfill, Estimates

#: the columns that name a cell, in the results table
AXES = ("trace", "cluster", "policy", "backfill", "estimates", "load_scale", "seed")
MAX_CELLS = 100_000
MAX_GRID_BYTES = 1 << 20


@dataclass(frozen=True)
class Cell:
    """One simulation setting of a sweep (the values of :data:`AXES`)."""

    trace: str
    cluster: str
    policy: str
    backfill: str
    estimates: str
    load_scale: float
    seed: int

    def key(self) -> str:
        """A stable name for the cell's result file."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:20]


def _strings(name: str, values, allow_empty_item: bool = False) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, list | tuple) or not values:
        raise SchedlabError(f"sweep axis {name} must be a non-empty list")
    out = []
    for v in values:
        if not isinstance(v, str) or (not v.strip() and not allow_empty_item) or len(v) > 4096:
            raise SchedlabError(f"sweep axis {name}: {v!r} is not a name")
        out.append(v.strip())
    if len(set(out)) != len(out):
        raise SchedlabError(f"sweep axis {name} repeats a value")
    return tuple(out)


@dataclass(frozen=True)
class SweepGrid:
    """The axes of a sweep and how each cell is measured (see the module docstring)."""

    traces: tuple[str, ...]
    policies: tuple[str, ...] = ("fcfs",)
    backfills: tuple[str, ...] = ("easy",)
    clusters: tuple[str, ...] = ("",)
    estimates: tuple[str, ...] = ("requested",)
    load_scales: tuple[float, ...] = (1.0,)
    seeds: tuple[int, ...] = (0,)
    windows: int = 0
    window_len: int = 1024
    tau: float = 10.0
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "traces", _strings("traces", self.traces))
        object.__setattr__(self, "policies", _strings("policies", self.policies))
        object.__setattr__(self, "clusters", _strings("clusters", self.clusters, allow_empty_item=True))
        for name, enum in (("backfills", Backfill), ("estimates", Estimates)):
            vals = _strings(name, getattr(self, name))
            for v in vals:
                if name == "estimates" and v.startswith("predicted:"):
                    continue
                if v not in {e.value for e in enum}:
                    raise SchedlabError(f"sweep axis {name}: {v!r} is not one of {', '.join(e.value for e in enum)}")
            object.__setattr__(self, name, vals)
        scales = self._numbers("load_scales", float)
        if any(not (math.isfinite(s) and 0 < s <= 100) for s in scales):
            raise SchedlabError("sweep axis load_scales: each must be in (0, 100]")
        seeds = self._numbers("seeds", int)
        if any(not 0 <= s < 2**32 for s in seeds):
            raise SchedlabError("sweep axis seeds: each must be in [0, 2^32)")
        if not isinstance(self.windows, int) or not 0 <= self.windows <= 10_000:
            raise SchedlabError("sweep windows must be a whole number in [0, 10000]")
        if not isinstance(self.window_len, int) or not 2 <= self.window_len <= 10_000_000:
            raise SchedlabError("sweep window_len must be a whole number in [2, 10000000]")
        if self.windows == 0 and seeds != (0,):
            raise SchedlabError("sweep seeds place evaluation windows: give windows > 0, or seeds = [0]")
        if not (isinstance(self.tau, int | float) and math.isfinite(self.tau) and self.tau > 0):
            raise SchedlabError("sweep tau must be > 0 seconds")
        n = math.prod(len(getattr(self, a)) for a in ("traces", "clusters", "policies", "backfills", "estimates"))
        if n * len(scales) * len(seeds) > MAX_CELLS:
            raise SchedlabError(f"the sweep has more than {MAX_CELLS:,} cells; split it")

    def _numbers(self, name, kind):
        values = getattr(self, name)
        if isinstance(values, str | bytes) or not isinstance(values, list | tuple) or not values:
            raise SchedlabError(f"sweep axis {name} must be a non-empty list")
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values):
            raise SchedlabError(f"sweep axis {name}: every value must be a number")
        if kind is int and any(v != int(v) for v in values):
            raise SchedlabError(f"sweep axis {name}: every value must be a whole number")
        out = tuple(kind(v) for v in values)
        if len(set(out)) != len(out):
            raise SchedlabError(f"sweep axis {name} repeats a value")
        object.__setattr__(self, name, out)
        return out

    def cells(self) -> list[Cell]:
        """Every cell, in the order of the axes (trace slowest, seed fastest)."""
        return [
            Cell(t, c, p, b, e, s, seed)
            for t, c, p, b, e, s, seed in product(
                self.traces, self.clusters, self.policies, self.backfills, self.estimates, self.load_scales,
                self.seeds,
            )
        ]  # fmt: skip

    def to_dict(self) -> dict:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in fields(self) if f.name != "extra"}  # fmt: skip


_KEYS = {f.name for f in fields(SweepGrid)} - {"extra"}


def grid_from_dict(data: dict, where: str = "the sweep grid") -> SweepGrid:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise SchedlabError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    if "traces" not in data:
        raise SchedlabError(f"{where}: no traces")
    return SweepGrid(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def grid_from_toml(path: str | Path) -> SweepGrid:
    """A grid from a TOML file with the keys of :class:`SweepGrid` (lists for the axes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()[: MAX_GRID_BYTES + 1]
    except OSError as exc:
        raise SchedlabError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_GRID_BYTES:
        raise SchedlabError(f"{path}: larger than 1 MiB; not a sweep grid")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SchedlabError(f"{path}: not a TOML sweep grid ({exc})") from None
    return grid_from_dict(data, str(path))


__all__ = ["AXES", "Cell", "SweepGrid", "grid_from_dict", "grid_from_toml"]
