"""Real Slurm on loopback: a harness that runs munged, slurmctld and N slurmd on one host from a
machine description (:mod:`.harness`, :mod:`.conf`), and trace replay into it compared with
schedlab's ``slurm`` preset (:mod:`.replay`)."""

from schedlab.slurm.harness import HarnessState, down, env, running, status, up

__all__ = ["HarnessState", "down", "env", "running", "status", "up"]
