"""DAgger's rollouts in parallel workers (``schedlab explain --rollout-workers N``).

With ``rollout_workers`` = 1 (the default) every window of an iteration is rolled out here, one
after the other, the teacher/student mixing drawn from the distiller's one generator, as always.
With N > 1 the iteration's windows are cut into N contiguous blocks, one per worker
(:class:`~schedlab.distributed.workers.WorkerPool`: processes or Ray actors).  Each worker holds
the environment (the trace, sent once) and the teacher (a heuristic's name, or the model's
weights as plain numpy arrays and its recorded options); each iteration it receives the student
tree (its node arrays) and rolls out its windows, window ``k`` of iteration ``i`` mixing with its
own generator seeded by (seed, i, k).  The teacher-labelled decisions come back and are added in
window order, so the data set, hence the tree, depends only on the seed: the same for any N > 1
and either executor (not the one-process run's, whose windows share one generator).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from schedlab.errors import SchedlabError
from schedlab.explain.dagger import Decisions, HeuristicTeacher, ModelTeacher, rollout
from schedlab.explain.tree import Tree
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.rollouts import blocks

TREE_ARRAYS = ("feature", "threshold", "left", "right", "value")


def teacher_spec(teacher) -> tuple:
    """What rebuilds ``teacher`` in a worker: plain data only."""
    if isinstance(teacher, HeuristicTeacher):
        return ("heuristic", teacher.policy)
    if isinstance(teacher, ModelTeacher):
        weights = {k: v.detach().cpu().numpy().copy() for k, v in teacher.policy.net.state_dict().items()}
        return ("model", teacher.policy.meta, weights)
    raise SchedlabError(f"parallel DAgger rollouts take a model or a heuristic teacher, not {type(teacher).__name__}")


def _teacher(spec: tuple):
    if spec[0] == "heuristic":
        return HeuristicTeacher(spec[1])
    import torch

    from schedlab.rl.agents import TrainedPolicy, build_agent, checkpoint_options

    meta, weights = spec[1], spec[2]
    options = checkpoint_options(meta)
    net = build_agent(meta["agent"], options.visible, options.stop_action, options.history_features)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    return ModelTeacher(TrainedPolicy(net, meta))


def _setup(payload: tuple) -> dict:
    spec, workload, options, history = payload
    return {"teacher": _teacher(spec), "env": SchedulingEnv(workload, options), "history": history}


def roll_block(kept: dict, student: dict | None, job: dict) -> list[tuple]:
    """One worker's windows: each one's teacher-labelled decisions (features, scores, queue lengths)."""
    tree = None if student is None else Tree(**student)
    out = []
    for k, start in zip(job["ids"], job["starts"], strict=True):
        rng = np.random.default_rng([job["seed"] % 2**63, job["iteration"], k])
        d = Decisions()
        rollout(kept["env"], start, kept["teacher"], tree, job["beta"], rng, d, kept["history"])
        out.append((d.X, d.score, d.queue))
    return out


class ParallelDagger:
    """``collect(starts, tree, beta, rng, data, iteration)`` on a pool (see the module docstring)."""

    def __init__(self, pool, seed: int) -> None:
        self.pool, self.seed = pool, seed

    def __call__(self, starts, tree: Tree | None, beta: float, rng, data: Decisions, iteration: int) -> None:
        jobs = [
            {"ids": list(range(lo, hi)), "starts": [int(s) for s in starts[lo:hi]], "beta": beta,
             "iteration": iteration, "seed": self.seed}
            for lo, hi in blocks(len(starts), self.pool.workers) if hi > lo
        ]  # fmt: skip
        student = None if tree is None else {**{a: getattr(tree, a) for a in TREE_ARRAYS}, "features": tree.features}
        for block in self.pool.map(roll_block, jobs, shared=student):
            for X, scores, queues in block:
                for x, s, q in zip(X, scores, queues, strict=True):
                    data.add(x, s, q)


@contextmanager
def dagger_rollouts(distiller, teacher, env: SchedulingEnv):
    """The rollout function of a DAgger fit: ``collect(starts, tree, beta, rng, data, iteration)``,
    in this process (``distiller.rollout_workers`` = 1) or on a pool of workers."""
    if distiller.rollout_workers <= 1:

        def serial(starts, tree, beta, rng, data, iteration):
            for s in starts:
                rollout(env, s, teacher, tree, beta, rng, data, distiller.history)

        yield serial
        return
    from schedlab.distributed.workers import WorkerPool

    payload = (teacher_spec(teacher), env.workload, env.options, distiller.history)
    with WorkerPool(_setup, payload, distiller.rollout_workers, distiller.executor) as pool:
        yield ParallelDagger(pool, distiller.seed)


__all__ = ["ParallelDagger", "dagger_rollouts", "roll_block", "teacher_spec"]
