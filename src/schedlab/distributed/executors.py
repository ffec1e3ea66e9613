"""Executors: run cells and hand back each row as it finishes (any order; the sweep sorts).

``serial``     in this process, in grid order.
``processes``  a pool of ``workers`` spawned processes (default: the CPUs); a worker that dies
               takes its cells with it: they are run again in a new pool, up to ``RETRIES`` times,
               then recorded as failed.
``ray``        one Ray task per cell on a running cluster (``address``, or ``RAY_ADDRESS``) or on a
               local Ray started for the sweep (``workers`` CPUs) and stopped after it.  Each trace
               and machine description is read here and put in the object store once (it reaches
               a node once, not once per task, and need not exist there); a task
               whose worker dies is retried by Ray (``RETRIES``); workers run BLAS and torch at one
               thread each.

Every worker caches what it loaded (:mod:`.cells`), and numba loads its compiled kernels from the
on-disk cache, so a worker compiles nothing after its first cell.  On a Ray cluster joined with an
address, workers keep that cache in a node-local folder (see :func:`_worker_env`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from multiprocessing import get_context

from schedlab.distributed.cells import run_cell
from schedlab.distributed.grid import Cell, SweepGrid
from schedlab.errors import SchedlabError

EXECUTORS = ("serial", "processes", "ray")
RETRIES = 2
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}

OnRow = Callable[[dict], None]


def _died(cell: Cell, why: str) -> dict:
    return {**asdict(cell), "status": "failed", "error": why, "cell_seconds": float("nan")}


def run_serial(cells: Sequence[Cell], grid: SweepGrid, on_row: OnRow, **_) -> None:
    for cell in cells:
        on_row(run_cell(cell, grid))


def _one_thread() -> None:
    os.environ.update(ONE_THREAD)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # torch is optional for plain simulations
        pass


def run_processes(cells: Sequence[Cell], grid: SweepGrid, on_row: OnRow, workers: int | None = None, **_) -> None:
    todo = list(cells)
    for _attempt in range(RETRIES + 1):
        if not todo:
            return
        done = set()
        ctx = get_context("spawn")
        try:
            with ProcessPoolExecutor(
                max_workers=workers or os.cpu_count(), mp_context=ctx, initializer=_one_thread
            ) as pool:
                futures = {pool.submit(run_cell, cell, grid): cell for cell in todo}
                for fut in as_completed(futures):
                    on_row(fut.result())
                    done.add(futures[fut])
        except BrokenProcessPool:
            pass  # a worker died: what it did not finish is run again
        todo = [c for c in todo if c not in done]
    for cell in todo:
        on_row(_died(cell, f"worker process died ({RETRIES + 1} tries)"))


def _worker_env(joining: bool) -> dict:
    """One thread per task; on a cluster joined (other nodes), numba's cache in a node-local folder
    unless NUMBA_CACHE_DIR is set: each node compiles the kernels once, in its first task, instead
    of sharing a cache folder over the network or writing into a read-only install."""
    env = dict(ONE_THREAD)
    if joining and "NUMBA_CACHE_DIR" not in os.environ:
        env["NUMBA_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "schedlab-numba-cache")
    elif "NUMBA_CACHE_DIR" in os.environ:
        env["NUMBA_CACHE_DIR"] = os.environ["NUMBA_CACHE_DIR"]
    return env


def _ray_cell(cell, grid, workload, machine):
    _one_thread()
    return run_cell(cell, grid, workload, machine)


def run_ray(cells: Sequence[Cell], grid: SweepGrid, on_row: OnRow, workers: int | None = None,
            address: str | None = None) -> None:  # fmt: skip
    try:
        import ray
    except ImportError:
        raise SchedlabError("--executor ray needs Ray (pip install 'ray[default]')") from None
    from schedlab.distributed.cells import _cluster, _trace

    started = not ray.is_initialized()
    if started:
        addr = address or os.environ.get("RAY_ADDRESS") or None
        # "local": a new Ray of our own, never one another process started on this machine
        kw = {"address": addr} if addr else {"address": "local", "num_cpus": workers or os.cpu_count()}
        # a local Ray without its dashboard cannot export metrics; trying stalls the first tasks
        # for about a minute on a small machine (measured: a 12-cell sweep 70 s -> 9 s)
        os.environ.setdefault("RAY_enable_metrics_collection", "0")
        try:
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False,
                     runtime_env={"env_vars": _worker_env(joining=bool(addr))}, **kw)  # fmt: skip
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise SchedlabError(f"cannot start or join Ray ({addr or 'local'}): {str(exc).splitlines()[0]}") from None
    try:
        task = ray.remote(num_cpus=1, max_retries=RETRIES, retry_exceptions=False)(_ray_cell)
        shipped: dict = {}
        pending = {}
        for cell in cells:
            for kind, spec, load in (("trace", cell.trace, _trace), ("cluster", cell.cluster, _cluster)):
                if (kind, spec) not in shipped:
                    try:  # what does not load here fails its cells, in the worker, with its error
                        shipped[kind, spec] = ray.put(load(spec)) if spec else None
                    except Exception:
                        shipped[kind, spec] = None
            ref = task.remote(cell, grid, shipped["trace", cell.trace], shipped["cluster", cell.cluster])
            pending[ref] = cell
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                cell = pending.pop(ref)
                try:
                    on_row(ray.get(ref))
                except ray.exceptions.RayError as exc:
                    on_row(_died(cell, f"Ray task failed: {str(exc).splitlines()[0]}"))
    finally:
        if started:
            ray.shutdown()


def executor(name: str) -> Callable:
    try:
        return {"serial": run_serial, "processes": run_processes, "ray": run_ray}[name]
    except KeyError:
        raise SchedlabError(f"unknown executor {name!r} (known: {', '.join(EXECUTORS)})") from None


__all__ = ["EXECUTORS", "RETRIES", "executor", "run_processes", "run_ray", "run_serial"]
