"""Operations analytics: what the workload does to the machine.

Workload characterisation (job classes, distributions, failures, arrivals), energy attribution
from telemetry, and telemetry analytics (mrDMD, clustering, changepoints), brought together by
``schedlab analyze``.
"""
