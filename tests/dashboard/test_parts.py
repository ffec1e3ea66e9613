"""The dashboard's parts without a browser: the Gantt placement never puts two jobs on the same
processor at the same time, a run that fails from the page ends with its message."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from schedlab.dashboard import gantt
from schedlab.dashboard.runs import Runner, RunSpec


def test_placement_never_overlaps_and_keeps_each_jobs_size():
    rng = np.random.default_rng(7)
    n = 300
    start = np.sort(rng.integers(0, 5000, n)).astype(float)
    end = start + rng.integers(0, 800, n)  # some zero-length jobs: not drawn
    size = rng.integers(1, 40, n)
    job, lo, hi, height = gantt.place(start, end, size)
    assert height == gantt.peak_use(start[end > start], end[end > start], size[end > start])
    assert (hi > lo).all() and lo.min() >= 0 and hi.max() <= height
    drawn = np.bincount(job, weights=hi - lo, minlength=n)
    assert np.array_equal(drawn[end > start], size[end > start]) and (drawn[end == start] == 0).all()
    for a in range(len(job)):  # any two segments that share time share no processor
        b = np.arange(a + 1, len(job))
        both = (start[job[b]] < end[job[a]]) & (start[job[a]] < end[job[b]])
        assert not ((lo[b] < hi[a]) & (lo[a] < hi[b]) & both).any()


def test_the_view_is_exact_below_the_limit_and_a_raster_above():
    n = 3000
    t = np.arange(n) * 10.0  # a job every 10 s, each 30 s on one processor
    jobs = pd.DataFrame(
        {"job_id": np.arange(n), "submit": np.zeros(n), "start": t, "end": t + 30, "size": 1, "wait": t}
    )
    g = gantt.build(jobs)
    fig, info = gantt.figure(g, "wait")
    assert info["mode"] == "raster" and info["jobs_in_view"] == n and fig["layout"]["images"]
    fig, info = gantt.figure(g, "wait", [0, 1000 / 3600], None)  # the first 1000 s: jobs 0..100
    assert info["mode"] == "exact" and {i for t in fig["data"] for i in t["customdata"]} == set(range(0, 101))


def test_a_run_that_fails_ends_with_its_message(tmp_path):
    runner = Runner(tmp_path)
    run = runner.start(RunSpec(str(tmp_path / "no-such-trace.swf"), ["fcfs"]))
    for _ in range(300):
        info = runner.get(run.id)
        if info["state"] in ("done", "error"):
            break
        time.sleep(0.05)
    assert info["state"] == "error" and "no-such-trace.swf" in info["message"]
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_a_run_on_a_machine_is_drawn_by_its_real_nodes():
    jobs = pd.DataFrame(
        {"job_id": [1, 2, 3], "submit": [0.0, 0, 0], "start": [0.0, 0, 10], "end": [10.0, 5, 20], "size": [2, 1, 2],
         "wait": [0.0, 0, 10], "nodelist": ["n[9-10]", "n2", "n[2,10]"]}
    )  # fmt: skip
    g = gantt.build(jobs)
    assert g.unit == "nodes" and g.height == 3  # n2, n9, n10 in natural order: rows 0, 1, 2
    segs = sorted(zip(g.job.tolist(), g.y0.tolist(), g.y1.tolist(), strict=True))
    assert segs == [(0, 1.0, 3.0), (1, 0.0, 1.0), (2, 0.0, 1.0), (2, 2.0, 3.0)]
