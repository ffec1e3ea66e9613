"""Measured datasets schedlab reads but does not ship: where they are looked up, and how they are fetched.

* :mod:`schedlab.datasets.find`: ``find_dataset`` / ``cache_dir`` / ``data_roots``, the one lookup
  order (``--data-dir``, ``$SCHEDLAB_DATA``, the user cache, ``shared/data`` beside a checkout),
  and ``resolve_data_path`` for ``data:DATASET/FILE`` names;
* :mod:`schedlab.datasets.download`: the one downloader (pinned URLs, SHA-256 checked);
* :mod:`schedlab.datasets.registry`: ``FETCHERS``, the targets of ``schedlab data fetch``.

Only the lookup is imported here; the downloader (pooch) and the dataset modules load when used.
"""

from __future__ import annotations

from schedlab.datasets.find import DataNotFound, cache_dir, data_roots, find_dataset, resolve_data_path

__all__ = ["DataNotFound", "cache_dir", "data_roots", "find_dataset", "resolve_data_path"]
