"""Energy- and power-aware scheduling on measured GPU data.

* EcoSched (GPU-count choice and co-scheduling of jobs on one multi-GPU node),
* OPEN (performance under CPU/GPU power caps predicted from a little profiling),
* EcoShift (sharing a cluster-wide power cap for maximum average performance).

The measurements are read from the ``ecosched`` and ``open_a100`` datasets (see
:mod:`schedlab.datasets`); schedlab does not ship them.
"""
