"""DAgger's rollouts in parallel workers: the teacher's labels are those it gives in this process,
and the tree depends on the seed only (any number of workers, processes or Ray)."""

from __future__ import annotations

import numpy as np
import pytest

from schedlab.explain import DaggerDistiller, HeuristicTeacher
from schedlab.explain.dagger import ModelTeacher
from schedlab.rl.agents import build_agent, load_policy, save_checkpoint
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.episodes import eval_window_starts

TRAIN = eval_window_starts(0, 5000, 128, 6, 0)
VAL = eval_window_starts(5000, 7000, 128, 2, 1)


@pytest.fixture(scope="module")
def env():
    return SchedulingEnv("lublin_256", window_len=128, visible=32, backfill="easy", split="all", backfill_order="sjf")


def fit(teacher, env, workers: int, executor: str = "processes", **kw) -> DaggerDistiller:
    d = DaggerDistiller(max_leaves=12, rollout_workers=workers, executor=executor, prune=False, **kw)
    return d.fit(teacher, env, TRAIN, VAL)


def same_fit(a: DaggerDistiller, b: DaggerDistiller) -> bool:
    nodes = ("feature", "threshold", "left", "right", "value")
    same_data = len(a.data_) == len(b.data_) and all(
        np.array_equal(x, y) for x, y in zip(a.data_.X + a.data_.score, b.data_.X + b.data_.score, strict=True)
    )
    return same_data and all(np.array_equal(getattr(a.tree_, n), getattr(b.tree_, n)) for n in nodes)


@pytest.fixture(scope="module")
def sjf_two(env):
    return fit(HeuristicTeacher("sjf"), env, 2, iterations=2, episodes_per_iteration=3)


def test_any_number_of_workers_gives_the_same_tree(env, sjf_two):
    three = fit(HeuristicTeacher("sjf"), env, 3, iterations=2, episodes_per_iteration=3)
    assert same_fit(sjf_two, three)
    assert sjf_two.history_ == three.history_
    assert sjf_two.history_[-1]["fidelity"] > 0.8  # it still learns SJF


def test_a_model_teachers_labels_in_workers_are_its_labels_here(env, tmp_path):
    """Iteration 0 rolls the teacher alone (no mixing draws), so one iteration in 2 workers is the
    one-process fit exactly: a trained model's weights reach the workers intact."""
    path = tmp_path / "model.pt"
    save_checkpoint(path, build_agent("scorer", 32, False), {"agent": "scorer", "env_kwargs": {"visible": 32}})
    teacher = ModelTeacher(load_policy(path))
    here = fit(teacher, env, 1, iterations=1, episodes_per_iteration=4)
    there = fit(teacher, env, 2, iterations=1, episodes_per_iteration=4)
    assert len(here.data_) > 100 and same_fit(here, there)


@pytest.mark.slow
def test_ray_workers_give_the_same_tree(env, sjf_two):
    ray = pytest.importorskip("ray")
    on_ray = fit(HeuristicTeacher("sjf"), env, 2, "ray", iterations=2, episodes_per_iteration=3)
    assert same_fit(sjf_two, on_ray)
    assert not ray.is_initialized()
