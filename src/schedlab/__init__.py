"""schedlab: trace-driven HPC batch-scheduling simulation and AI-driven resource management."""

__version__ = "0.1.0"
