"""Kept for scripts written against earlier versions: the code lives in :mod:`schedlab.simulator.compare`."""

from schedlab.simulator.compare import REPORTED, ComparisonRow, compare, metrics_of, warm_up

__all__ = ["REPORTED", "ComparisonRow", "compare", "metrics_of", "warm_up"]
