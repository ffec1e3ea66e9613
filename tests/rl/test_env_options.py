"""EnvOptions: one typed, validated set of environment options from ``schedlab train`` to the files;
old checkpoints and tree files (a partial ``env_kwargs`` dict) keep loading with their legacy rules."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from schedlab.errors import OptionError, PolicyError, SchedlabError
from schedlab.explain.tree import Tree, load_tree, shipped_trees
from schedlab.options import CapacityUnit, EnvBackfill, Reward, Split
from schedlab.policies import resolve
from schedlab.rl.agents import build_agent, checkpoint_options, load_policy
from schedlab.rl.checkpoint import read_checkpoint, save_checkpoint
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.options import CHECKPOINT_FIELDS, TREE_FIELDS, EnvOptions
from schedlab.rl.ppo import PPOConfig, Stage, train
from schedlab.simulator import SimConfig, simulate
from tests.helpers import make_workload

torch.set_num_threads(1)


def test_fields_become_enums_and_plain_values():
    o = EnvOptions(backfill="agent", reward="wait", split="all", capacity_unit="nodes", visible="16", window_len=0)
    assert o.backfill is EnvBackfill.AGENT and o.reward is Reward.WAIT and o.split is Split.ALL
    assert o.capacity_unit is CapacityUnit.NODES and o.visible == 16 and o.window_len is None
    d = o.to_dict()
    assert json.loads(json.dumps(d)) == d  # plain JSON values
    assert all(type(v) in (int, float, bool, str, type(None)) for v in d.values())
    assert EnvOptions(**d) == o
    assert list(o.to_dict(TREE_FIELDS)) == list(TREE_FIELDS)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(reward="makespan"), "unknown reward 'makespan'; choose one of bsld, bsld-dense, wait, util, dras"),
        (dict(backfill="conservative"), "unknown backfill mode 'conservative'; choose one of none, easy, agent"),
        (dict(queue_order="wfp3"), "unknown queue order 'wfp3'"),
        (dict(backfill_order="bogus"), "unknown backfill order 'bogus'"),
        (dict(baseline="best"), "unknown baseline policy 'best'"),
        (dict(visible=0), "visible must be >= 1, got 0"),
        (dict(train_split=1.5), "train split must be between 0 and 1, got 1.5"),
    ],
)
def test_bad_values_fail_once_with_the_environments_messages(options, message):
    with pytest.raises(SchedlabError, match=message):
        EnvOptions(**options)


def test_environment_takes_options_or_keywords():
    wl = make_workload(np.arange(30) * 10.0, np.full(30, 50.0), np.full(30, 2), capacity=8)
    o = EnvOptions(window_len=10, visible=4, backfill="agent", split="all", reward="dras")
    a = SchedulingEnv(wl, o)
    b = SchedulingEnv(wl, window_len=10, visible=4, backfill="agent", split="all", reward="dras")
    c = SchedulingEnv(wl, o.replace(visible=8), visible=4)  # keywords override the options
    assert a.options == b.options == c.options == o
    assert a.action_space.n == 5
    with pytest.raises(OptionError, match="unknown split"):
        SchedulingEnv(wl, o, split="validation")


def test_ppo_config_converts_a_dict():
    cfg = PPOConfig(env={"visible": 12, "backfill": "agent"})
    assert isinstance(cfg.env, EnvOptions) and cfg.env.visible == 12 and cfg.env.stop_action
    d = cfg.to_dict()
    assert json.loads(json.dumps(d)) == d


def test_unknown_saved_option_is_an_error():
    with pytest.raises(SchedlabError, match="unknown environment option"):
        EnvOptions.from_dict({"visible": 8, "window": 3})


# -- legacy files ------------------------------------------------------------------------------
def _legacy_checkpoint(path, env_kwargs: dict, agent="scorer") -> None:
    """A checkpoint as written before EnvOptions: only the options that were given."""
    stop = env_kwargs.get("backfill") == "agent"
    save_checkpoint(path, build_agent(agent, env_kwargs["visible"], stop), {"agent": agent, "env_kwargs": env_kwargs})


def test_legacy_checkpoint_missing_options_take_the_defaults(tmp_path):
    """Rule for models: a missing option takes EnvOptions' default (backfill_order fcfs)."""
    _legacy_checkpoint(tmp_path / "m.pt", {"visible": 32, "backfill": "easy"})
    o = checkpoint_options(read_checkpoint(tmp_path / "m.pt")["meta"])
    assert (o.visible, o.backfill, o.queue_order, o.backfill_order) == (32, "easy", "fcfs", "fcfs")
    pol = resolve(f"model:{tmp_path / 'm.pt'}")
    run = pol.env_options(SimConfig(backfill="none", capacity_unit="nodes"))
    assert (run.backfill, run.backfill_order, run.capacity_unit, run.window_len, run.split) == (
        "none",
        "fcfs",
        "nodes",
        None,
        "all",
    )


def test_shipped_model_without_backfill_order_schedules_with_fcfs(tmp_path):
    """The lublin scorer was trained with backfill_order fcfs: dropping it from the file (as an old
    file would lack it) must not change its schedule."""
    ck = torch.load(resolve("model:lublin_256-scorer").path, weights_only=False)
    assert ck["meta"]["env_kwargs"]["backfill_order"] == "fcfs"
    del ck["meta"]["env_kwargs"]["backfill_order"]
    torch.save(ck, tmp_path / "old.pt")
    window = make_workload(np.arange(80) * 30.0, np.full(80, 500.0), np.arange(80) % 200 + 1, capacity=256)
    a = simulate(window, SimConfig(policy="model:lublin_256-scorer"))
    b = simulate(window, SimConfig(policy=f"model:{tmp_path / 'old.pt'}"))
    np.testing.assert_array_equal(a.start, b.start)


def test_new_checkpoints_record_every_option_as_plain_data(tmp_path):
    wl = make_workload(np.arange(200) * 20.0, np.full(200, 100.0), np.arange(200) % 4 + 1, capacity=8)
    cfg = PPOConfig(
        agent="scorer",
        total_steps=64,
        num_envs=2,
        num_steps=32,
        bc_teacher=None,
        validate_every=0,
        env={"visible": 8, "window_len": 40, "backfill_order": "sjf"},
    )
    train(cfg, [Stage("real", [wl], 1.0)], tmp_path)
    saved = torch.load(tmp_path / "model.pt", weights_only=True)["meta"]  # plain data only
    assert list(saved["env_kwargs"]) == list(CHECKPOINT_FIELDS)
    assert saved["env_kwargs"]["backfill_order"] == "sjf" and saved["ppo"]["env"]["window_len"] == 40
    loaded = load_policy(tmp_path / "model.pt").env
    assert loaded == EnvOptions.from_dict(saved["env_kwargs"])
    assert loaded.to_dict(CHECKPOINT_FIELDS) == cfg.env.to_dict(CHECKPOINT_FIELDS)


def test_resume_from_a_legacy_last_checkpoint_equals_the_uninterrupted_run(tmp_path):
    """A run saved before EnvOptions (last.pt with a partial env_kwargs) resumes, exactly."""
    wl = make_workload(np.arange(400) * 20.0, np.arange(400) % 7 * 40.0 + 10, np.arange(400) % 4 + 1, capacity=8)

    def cfg():
        return PPOConfig(
            agent="dras",
            seed=1,
            total_steps=2 * 32 * 4,
            num_envs=2,
            num_steps=32,
            bc_teacher=None,
            validate_every=0,
            checkpoint_every=2,
            env={"visible": 8, "window_len": 40, "backfill": "agent"},
        )

    stages = [Stage("real", [wl], 1.0)]
    train(cfg(), stages, tmp_path / "full")
    train(cfg(), stages, tmp_path / "cut", stop_after_updates=2)
    ck = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)
    ck["meta"]["env_kwargs"] = {"visible": 8, "backfill": "agent"}  # as written before EnvOptions
    torch.save(ck, tmp_path / "cut" / "last.pt")
    train(cfg(), stages, tmp_path / "cut", resume=True)
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=False)["model"]
    b = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = cfg()
    other.env = other.env.replace(backfill_order="sjf")
    with pytest.raises(SchedlabError, match="different options"):
        train(other, stages, tmp_path / "cut", resume=True)


def test_legacy_tree_missing_backfill_order_schedules_with_sjf(tmp_path):
    """Rule for trees: a missing backfill_order reads as sjf (the tree loader's default before)."""
    d = json.loads(shipped_trees()["theta_2022-dras"].read_text())
    assert d["env_kwargs"]["backfill_order"] == "sjf"
    del d["env_kwargs"]["backfill_order"]
    (tmp_path / "tree.json").write_text(json.dumps(d))
    old = load_tree(tmp_path)
    assert old.env.backfill_order == "sjf" and old.env == load_tree("theta_2022-dras").env
    d["env_kwargs"] = {}
    assert Tree.from_dict(d).env.to_dict(TREE_FIELDS) == {
        "visible": 128,
        "backfill": "easy",
        "queue_order": "fcfs",
        "backfill_order": "sjf",
        "history_features": False,
    }


def test_tree_file_round_trip_keeps_what_it_records(tmp_path):
    tree = load_tree("theta_2022-dras")
    back = json.loads(tree.save(tmp_path / "t.json").read_text())
    shipped = json.loads(shipped_trees()["theta_2022-dras"].read_text())["env_kwargs"]
    # files written before trees could read history features load as history_features=False,
    # and a saved tree states it
    assert back["env_kwargs"] == {**shipped, "history_features": False}


def test_bad_model_and_tree_specs_are_policy_errors(tmp_path):
    with pytest.raises(PolicyError, match="no model file"):
        resolve(f"model:{tmp_path / 'none.pt'}")
    with pytest.raises(PolicyError, match="no tree file"):
        resolve(f"tree:{tmp_path / 'none.json'}")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(PolicyError, match=r"is not a readable schedlab model \(not a PyTorch checkpoint archive\)"):
        resolve(f"model:{tmp_path / 'bad.pt'}")
