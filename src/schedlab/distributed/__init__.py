"""Sweeps: grids of simulations run serially, in processes, or on Ray, with the same results.

``SweepGrid`` (:mod:`.grid`) names the axes; :func:`~schedlab.distributed.sweep.run_sweep` runs
every cell (:mod:`.cells`) with an executor (:mod:`.executors`), keeps each finished cell on disk
so a stopped sweep continues where it stopped, and gathers one table (one row per cell).
"""

from schedlab.distributed.grid import AXES, Cell, SweepGrid, grid_from_toml
from schedlab.distributed.sweep import run_sweep

__all__ = ["AXES", "Cell", "SweepGrid", "grid_from_toml", "run_sweep"]
