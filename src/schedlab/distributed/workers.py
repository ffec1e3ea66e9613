"""A pool of persistent workers for work that repeats on the same data: RL rollouts.

``WorkerPool(setup, payload, workers, executor)`` starts ``workers`` workers; each receives
``payload`` once (the traces, the environment options, the network's shape) and keeps
``setup(payload)`` (its environments, its network) for the life of the pool.  ``map(fn, jobs,
shared)`` then runs ``fn(kept, shared, job)`` for every job and returns the results *in job order*,
so what the caller makes of them never depends on which worker finished first.  ``shared`` (the
policy's weights, plain numpy arrays) is sent once per call and worker on Ray (the object store),
with every job for processes.

``processes``  spawned processes, ``workers`` of them.
``ray``        one Ray actor per worker, on a local Ray started for the pool (``workers`` CPUs) and
               stopped with it, or on the running cluster ``RAY_ADDRESS`` names; the payload goes
               through the object store once.

Jobs must be pure functions of (payload, shared, job): a job whose worker died is run again, in a
new worker (``RETRIES`` times), with the same result.  Workers run torch and BLAS at one thread each
(as the sweep executors' workers, :mod:`schedlab.distributed.executors`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from schedlab.distributed.executors import RETRIES, _one_thread, _worker_env
from schedlab.errors import OptionError, SchedlabError

POOL_EXECUTORS = ("processes", "ray")
_KEPT: list = [None]  # what setup(payload) returned, in this worker process


def _limit_threads() -> None:
    """One torch thread, one BLAS thread (BLAS libraries already loaded are limited too)."""
    _one_thread()
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass


def _start(setup: Callable, payload) -> None:
    _limit_threads()
    _KEPT[0] = setup(payload)


def _run(fn: Callable, shared, job):
    return fn(_KEPT[0], shared, job)


class _Actor:
    """A Ray worker: ``setup(payload)`` kept, ``fn`` run on it."""

    def __init__(self, setup: Callable, payload) -> None:
        _limit_threads()
        # arrays from the object store are read-only views; the simulator's compiled kernels take
        # writable ones only (a copy, once per worker)
        self.kept = setup(copy.deepcopy(payload))

    def run(self, fn: Callable, shared, job):
        return fn(self.kept, shared, job)


class WorkerPool:
    """See the module docstring; a context manager (the workers stop when it exits)."""

    def __init__(self, setup: Callable, payload, workers: int, executor: str = "processes") -> None:
        if executor not in POOL_EXECUTORS:
            raise OptionError(f"unknown executor {executor!r} for parallel rollouts (known: processes, ray)")
        if workers < 1:
            raise OptionError(f"at least one worker is needed (got {workers})")
        self.setup, self.payload, self.workers, self.executor = setup, payload, workers, executor
        self._pool = None
        self._ray_started = False
        self._actors: list = []
        self._payload_ref = None

    # -- life ----------------------------------------------------------------------------
    def __enter__(self) -> WorkerPool:
        if self.executor == "ray":
            self._start_ray()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._actors:
            import ray

            for a in self._actors:
                ray.kill(a)
            self._actors, self._payload_ref = [], None
        if self._ray_started:
            import ray

            ray.shutdown()
            self._ray_started = False

    def _processes(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=get_context("spawn"),
                initializer=_start,
                initargs=(self.setup, self.payload),
            )
        return self._pool

    def _start_ray(self) -> None:
        try:
            import ray
        except ImportError:
            raise SchedlabError("--executor ray needs Ray (pip install 'ray[default]')") from None
        if not ray.is_initialized():
            addr = os.environ.get("RAY_ADDRESS") or None
            # "local": a Ray of our own, never one another process started on this machine
            kw = {"address": addr} if addr else {"address": "local", "num_cpus": self.workers}
            os.environ.setdefault("RAY_enable_metrics_collection", "0")  # see executors.run_ray
            os.environ.setdefault("RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO", "0")  # CPU workers; silences a FutureWarning
            try:
                ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False,
                         runtime_env={"env_vars": _worker_env(joining=bool(addr))}, **kw)  # fmt: skip
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise SchedlabError(
                    f"cannot start or join Ray ({addr or 'local'}): {str(exc).splitlines()[0]}"
                ) from None
            self._ray_started = True
        self._payload_ref = ray.put(self.payload)
        self._new_actors()

    def _new_actors(self) -> None:
        """(Re)start the actors; a dead one is replaced by this, not by Ray's restarts (which
        would need the payload kept in the object store for the pool's whole life anyway)."""
        import ray

        for a in self._actors:
            ray.kill(a)
        actor = ray.remote(num_cpus=1, max_restarts=0)(_Actor)
        self._actors = [actor.remote(self.setup, self._payload_ref) for _ in range(self.workers)]

    # -- work ----------------------------------------------------------------------------
    def map(self, fn: Callable, jobs: Sequence, shared=None) -> list:
        """``fn(kept, shared, job)`` for every job, on the workers; the results in job order."""
        if self.executor == "ray":
            return self._map_ray(fn, jobs, shared)
        for _attempt in range(RETRIES + 1):
            pool = self._processes()
            try:
                futures = [pool.submit(_run, fn, shared, job) for job in jobs]
                return [f.result() for f in futures]
            except BrokenProcessPool:  # a worker died: every job of this call runs again, in new workers
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        raise SchedlabError(f"a rollout worker process died {RETRIES + 1} times in a row; giving up")

    def _map_ray(self, fn: Callable, jobs: Sequence, shared) -> list:
        import ray

        ref = ray.put(shared)
        for _attempt in range(RETRIES + 1):
            refs = [self._actors[i % self.workers].run.remote(fn, ref, job) for i, job in enumerate(jobs)]
            try:
                return ray.get(refs)
            except ray.exceptions.RayActorError:  # a worker died: every job of this call runs again
                self._new_actors()
            except ray.exceptions.RayTaskError as exc:  # the job raised: its own error, as in a process
                cause = getattr(exc, "cause", None)
                if isinstance(cause, SchedlabError):
                    raise cause from None
                raise SchedlabError(f"a rollout on Ray failed: {type(cause).__name__}: {cause}") from None
            except ray.exceptions.RayError as exc:
                raise SchedlabError(f"a rollout on Ray failed: {str(exc).splitlines()[0]}") from None
        raise SchedlabError(f"a rollout worker on Ray died {RETRIES + 1} times in a row; giving up")


__all__ = ["POOL_EXECUTORS", "WorkerPool"]
