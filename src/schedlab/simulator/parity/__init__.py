"""Presets that reproduce peer simulators (RLScheduler SchedGym, CQSim), documented as such."""
