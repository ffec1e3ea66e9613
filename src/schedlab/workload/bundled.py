"""Traces shipped inside the package (see ``schedlab traces``) and name-or-path resolution."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from schedlab.errors import DataNotFound

#: Bundled trace name -> (file in schedlab/data/traces, one-line description).
BUNDLED: dict[str, tuple[str, str]] = {
    "theta_2022": ("theta_2022.swf.gz", "ALCF Theta (Cray XC40, 4,360 nodes), calendar 2022; real"),
    "nasa_ipsc": ("NASA-iPSC-1993-3.1-cln.swf.gz", "NASA Ames Intel iPSC/860 (128 nodes), 1993; real (PWA)"),
    "lublin_256": ("lublin_256.swf.gz", "Lublin-Feitelson model, 256 nodes; RLScheduler's Lublin-1"),
    "lublin_256_new2": ("lublin_256_new2.swf.gz", "Lublin-Feitelson model, 256 nodes; RLScheduler's Lublin-2"),
    "lublin_aaroh": ("lublin-aaroh.swf.gz", "Lublin-Feitelson model, 256 nodes, low load"),
    "cqsim_test": ("cqsim_test.swf.gz", "first 9 jobs of KTH IBM SP2 (100 nodes); CQSim smoke test"),
    "cqsim_test2": ("cqsim_test2.swf.gz", "20-job KTH IBM SP2 fragment (100 nodes)"),
}
DEFAULT_TRACE = "theta_2022"

_ALIASES = {
    "nasa-ipsc": "nasa_ipsc",
    "lublin-1": "lublin_256",
    "lublin-2": "lublin_256_new2",
}
# each bundled file's own name (e.g. NASA-iPSC-1993-3.1-cln) names it too
_ALIASES.update(
    {
        fname.lower().removesuffix(".gz").removesuffix(".swf"): name
        for name, (fname, _) in BUNDLED.items()
        if fname.lower() != f"{name}.swf.gz"
    }
)


def bundled_path(name: str) -> Path:
    key = _ALIASES.get(name.lower(), name.lower())
    fname = BUNDLED[key][0]
    return Path(str(resources.files("schedlab") / "data" / "traces" / fname))


def resolve_trace(name_or_path: str | Path) -> Path:
    """A bundled trace name (``theta_2022``) or any path to an SWF file (plain or .gz)."""
    text = str(name_or_path)
    key = _ALIASES.get(text.lower(), text.lower())
    if key in BUNDLED:
        return bundled_path(key)
    path = Path(text).expanduser()
    if path.exists():
        return path
    raise DataNotFound(f"no trace named {text!r}: not a bundled trace ({', '.join(BUNDLED)}) and no such file")


def trace_key(name_or_path: str | Path) -> str:
    """One name per trace, to tell whether two mentions are the same trace: the bundled name for
    a bundled trace however it is spelt (``nasa_ipsc``, ``NASA-iPSC-1993-3.1-cln``, its path),
    otherwise the file name without ``.swf``/``.gz``, lower case."""
    stem = Path(str(name_or_path)).name.lower().removesuffix(".gz").removesuffix(".swf")
    return _ALIASES.get(stem, stem)
