"""schedlab: trace-driven HPC batch-scheduling simulation and AI-driven resource management.

The faces, imported on first use (``import schedlab`` stays light)::

    from schedlab import load_trace, simulate, SimConfig, resolve, SchedlabError
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_FACES = {
    "load_trace": "schedlab.workload",
    "simulate": "schedlab.simulator",
    "SimConfig": "schedlab.simulator",
    "SimResult": "schedlab.simulator",
    "resolve": "schedlab.policies",
    "SchedlabError": "schedlab.errors",
}


def __getattr__(name: str):
    if name in _FACES:
        return getattr(importlib.import_module(_FACES[name]), name)
    raise AttributeError(f"module 'schedlab' has no attribute {name!r}")


__all__ = ["SchedlabError", "SimConfig", "SimResult", "__version__", "load_trace", "resolve", "simulate"]
