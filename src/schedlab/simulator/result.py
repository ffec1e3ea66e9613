"""The outcome of one simulation: per-job times as columns, plus what produced them."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from schedlab.simulator.config import SimConfig
from schedlab.workload.table import Workload


@dataclass
class SimResult:
    """Per-job schedule of a workload.

    start/end  float64 seconds on the workload's clock (submit of the first job = 0)
    run        effective runtime (clipped at the request when jobs are killed)
    size       units held (processors or nodes, see ``config.capacity_unit``); ``capacity`` units
    reservation  EASY: shadow time the job got when it last became the blocked head; conservative:
               reservation made at arrival; inf if none was needed
    sim_seconds  engine wall time (parsing and cleaning excluded)
    """

    workload: Workload
    config: SimConfig
    start: np.ndarray
    end: np.ndarray
    run: np.ndarray
    size: np.ndarray
    capacity: int
    reservation: np.ndarray
    sim_seconds: float = 0.0
    passes: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def wait(self) -> np.ndarray:
        return self.start - self.workload.submit

    def to_frame(self):
        """Per-job table: id, user, submit, start, end, wait, run, req_time, procs, size, bsld."""
        import pandas as pd

        from schedlab.metrics import bounded_slowdown

        wl = self.workload
        frame = pd.DataFrame(
            {
                "job_id": wl.job_id,
                "user": wl.user,
                "submit": wl.submit,
                "start": self.start,
                "end": self.end,
                "wait": self.wait,
                "run": self.run,
                "req_time": wl.req_time,
                "procs": wl.procs,
                "size": self.size,
                "bsld": bounded_slowdown(self.wait, self.run),
            }
        )
        if "predicted" in self.extra:  # the runtime predicted when the job arrived
            frame["predicted"] = self.extra["predicted"]
        return frame
