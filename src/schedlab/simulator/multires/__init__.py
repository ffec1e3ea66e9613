"""The multi-resource engine: nodes with CPUs, GPUs and memory, partitions, QOS limits, EASY with
resource-exact reservations, and Slurm's multifactor priority (see :mod:`.kernel`)."""
