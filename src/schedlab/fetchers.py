"""Kept for existing imports: the ``schedlab data fetch`` table lives in :mod:`schedlab.datasets.registry`."""

from __future__ import annotations

from schedlab.datasets.registry import FETCHERS, FetchTarget

__all__ = ["FETCHERS", "FetchTarget"]
