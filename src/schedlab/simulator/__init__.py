"""Discrete-event simulation of a batch scheduler on a trace (see :mod:`.engine` for semantics)."""

from schedlab.simulator.config import BACKFILLS, CAPACITY_UNITS, ESTIMATES, PRESETS, SimConfig
from schedlab.simulator.result import SimResult
from schedlab.simulator.run import job_sizes, simulate

__all__ = ["BACKFILLS", "CAPACITY_UNITS", "ESTIMATES", "PRESETS", "SimConfig", "SimResult", "job_sizes", "simulate"]
