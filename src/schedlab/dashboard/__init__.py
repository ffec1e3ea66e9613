"""``schedlab dashboard``: a local web app over saved results and new runs.

:func:`create_app` builds the Dash app over results folders (the ``--out`` folders of simulate,
compare, evaluate, explain, bftrainer, energy and analyze); :func:`serve` binds it to a loopback
port and serves it until interrupted.  Views: the schedule Gantt (a server-side datashader raster,
exact rectangles once few jobs are in view, an AG Grid to drill down), utilisation and queue over
time, wait and slowdown distributions, two runs side by side, per-user and per-partition tables,
an RL agent's decisions, a distilled tree with a decision's path, BFTrainer, energy and analytics,
and new runs started from the page.  Nothing here imports the CLI.
"""

from __future__ import annotations

from schedlab.dashboard.app import create_app
from schedlab.dashboard.server import make_server, serve

__all__ = ["create_app", "make_server", "serve"]
