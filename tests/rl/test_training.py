"""PPO learns, resumes exactly after a kill, and trained models run wherever a heuristic does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from schedlab.rl.agents import build_agent, load_policy, masked_logits, save_checkpoint, to_action
from schedlab.rl.env import SchedulingEnv
from schedlab.rl.ppo import PPOConfig, Stage, greedy_episodes, train
from tests.helpers import make_workload

torch.set_num_threads(1)
SCHEDLAB = [sys.executable, "-m", "schedlab.cli"]


def sjf_world(n=3000, seed=0):
    """One processor, bursts of 12 jobs with very different runtimes: shortest-job-first is
    optimal for mean wait here, FCFS and random are far from it."""
    rng = np.random.default_rng(seed)
    burst = np.repeat(np.arange(n // 12) * 12 * 400.0, 12)
    run = rng.choice([30.0, 300.0, 3000.0], size=n, p=[0.5, 0.3, 0.2])
    return make_workload(burst, run, np.ones(n, dtype=np.int64), capacity=1, name="sjf-world")


def mean_wait_of(chooser, env: SchedulingEnv, starts) -> float:
    waits = []
    for s in starts:
        obs, info = env.reset(options={"start": int(s)})
        done = False
        while not done:
            obs, _, done, _, info = env.step(chooser(obs, info["action_mask"]))
        waits.append(info["episode_metrics"]["mean_wait"])
    return float(np.mean(waits))


def test_ppo_learns_shortest_job_first_from_scratch(tmp_path):
    wl = sjf_world()
    env_kw = dict(window_len=96, visible=16, backfill="none", reward="wait")
    cfg = PPOConfig(
        agent="scorer",
        seed=0,
        total_steps=40_000,
        num_envs=8,
        num_steps=128,
        learning_rate=3e-3,
        ent_coef=0.003,
        bc_teacher=None,
        validate_every=0,
        checkpoint_every=1000,
        env=env_kw,
    )
    t0 = time.perf_counter()
    train(cfg, [Stage("train", [wl], 1.0)], tmp_path)
    assert time.perf_counter() - t0 < 120
    policy = load_policy(tmp_path / "model.pt")
    test = SchedulingEnv(wl, split="test", **env_kw)
    starts = test.eval_starts
    rng = np.random.default_rng(1)
    learned = mean_wait_of(policy.act, test, starts)
    fcfs = mean_wait_of(lambda o, m: 0, test, starts)
    random = mean_wait_of(lambda o, m: int(rng.choice(np.flatnonzero(m))), test, starts)
    sjf = mean_wait_of(lambda o, m: test.teacher_action("sjf"), test, starts)
    assert learned < 0.75 * fcfs and learned < 0.75 * random, (learned, fcfs, random, sjf)
    assert learned < 1.25 * sjf, (learned, sjf)


def _train_cmd(out: Path, steps: int) -> list[str]:
    return [
        *SCHEDLAB,
        "train",
        "--agent",
        "dras",
        "--trace",
        "lublin_256",
        "--steps",
        str(steps),
        "--seed",
        "3",
        "--out",
        str(out),
        "--window-len",
        "64",
        "--visible",
        "16",
        "--num-envs",
        "2",
        "--curriculum",
        "none",
        "--imitate",
        "none",
    ]


@pytest.mark.slow
def test_kill_and_resume_gives_the_uninterrupted_result(tmp_path):
    """A run killed mid-way and resumed ends with the same weights as one that never stopped."""
    steps = 2 * 256 * 30  # 30 updates of 2 envs x 256 steps; checkpoints every 10 updates
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    full = tmp_path / "full"
    subprocess.run(_train_cmd(full, steps), check=True, env=env, capture_output=True)
    cut = tmp_path / "cut"
    proc = subprocess.Popen(_train_cmd(cut, steps), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (cut / "last.pt").exists():  # the first checkpoint (after update 10) is on disk
        assert proc.poll() is None and time.time() < deadline, "training ended before its first checkpoint"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    logged = len((cut / "train_log.csv").read_text().splitlines()) - 1
    assert logged < 30  # it really was cut short
    subprocess.run([*_train_cmd(cut, steps), "--resume"], check=True, env=env, capture_output=True)
    a = torch.load(full / "last.pt", weights_only=False)
    b = torch.load(cut / "last.pt", weights_only=False)
    assert a["global_step"] == b["global_step"] == steps
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    # the log has each update once, as the uninterrupted run's
    updates = [line.split(",")[0] for line in (cut / "train_log.csv").read_text().splitlines()[1:]]
    assert updates == [str(u) for u in range(1, 31)]


def test_train_refuses_to_overwrite_a_run(tmp_path):
    """A second `schedlab train` into a run folder must not silently replace its model and log."""
    (tmp_path / "run.json").write_text("{}")
    r = subprocess.run(_train_cmd(tmp_path, 512), capture_output=True, text=True)
    assert r.returncode == 2 and "already holds a training run" in r.stderr + r.stdout
    assert "Traceback" not in r.stderr
    assert (tmp_path / "run.json").read_text() == "{}"


def test_greedy_episodes_match_one_at_a_time():
    """Batched greedy evaluation (training's validation) equals running the policy alone."""
    from tests.helpers import make_workload as mk

    rng = np.random.default_rng(0)
    n = 400
    wl = mk(np.sort(rng.uniform(0, 20000, n)), rng.uniform(10, 2000, n), rng.integers(1, 9, n), capacity=16)
    net = build_agent("dras", 16, True)
    kw = dict(window_len=100, visible=16, backfill="agent", split="all")
    starts = [0, 150, 300]
    batched = greedy_episodes(net, [(SchedulingEnv(wl, **kw), s) for s in starts])
    meta = {"agent": "dras", "env_kwargs": {"visible": 16, "backfill": "agent"}}
    from schedlab.rl.agents import TrainedPolicy

    pol = TrainedPolicy(net, meta)
    env = SchedulingEnv(wl, **kw)
    for s, m in zip(starts, batched, strict=False):
        obs, info = env.reset(options={"start": s})
        done = False
        while not done:
            obs, _, done, _, info = env.step(pol.act(obs, info["action_mask"]))
        assert info["episode_metrics"]["mean_bsld"] == pytest.approx(m["mean_bsld"])


def test_masked_logits_never_pick_invalid_slots():
    net = build_agent("scorer", 8, False)
    obs = torch.rand(64, 8 * 9 + 11)
    mask = torch.rand(64, 8) < 0.3
    mask[:, 0] = True
    logits, _, k = masked_logits(net, obs, mask)
    acts = to_action(torch.distributions.Categorical(logits=logits).sample(), k, 8)
    assert bool(mask[torch.arange(64), acts].all())


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    """An untrained scorer checkpoint (W = 32) in the real file format."""
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_checkpoint(
        path, build_agent("scorer", 32, False), {"agent": "scorer", "env_kwargs": {"visible": 32, "backfill": "easy"}}
    )
    return path


def test_model_policy_in_simulate_and_compare(tiny_model):
    r = subprocess.run(
        [*SCHEDLAB, "simulate", "--trace", "cqsim_test", "--policy", f"model:{tiny_model}", "--json"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["jobs"] > 0 and out["mean_bsld"] >= 1.0
    r = subprocess.run(
        [
            *SCHEDLAB,
            "compare",
            "--trace",
            "cqsim_test",
            "--policies",
            f"fcfs,model:{tiny_model}",
            "--backfill",
            "easy",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["results"]) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["simulate", "--trace", "cqsim_test", "--policy", "model:/nonexistent/model.pt"], "no model file"),
        (["train", "--agent", "transformer", "--steps", "10"], "transformer"),
        (["evaluate", "--model", "/nonexistent.pt"], "no model file"),
        (["train", "--steps", "10", "--train-split", "1.5"], "--train-split"),
        (["train", "--steps", "10", "--val-fraction", "1"], "--val-fraction"),
        (["train", "--steps", "10", "--backfill-order", "wfp3"], "--backfill-order"),
        (["train", "--steps", "10", "--load-scales", "1,fast"], "--load-scales"),
        (["train", "--steps", "10", "--load-scales", "1,-2"], "--load-scales"),
        (["train", "--steps", "10", "--val-metric", "median"], "--val-metric"),
        (["train", "--steps", "10", "--val-metric", "relative", "--baseline", "none"], "--baseline"),
    ],
)
def test_bad_model_options_fail_cleanly(args, message):
    r = subprocess.run(SCHEDLAB + args, capture_output=True, text=True)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert message in r.stderr


def test_corrupt_and_mismatched_checkpoints_fail_cleanly(tmp_path, tiny_model):
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"not a checkpoint at all")
    r = subprocess.run(
        [*SCHEDLAB, "simulate", "--trace", "cqsim_test", "--policy", f"model:{bad}"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "not a readable schedlab model" in r.stderr and "Traceback" not in r.stderr
    # weights of a W = 32 scorer declared as W = 64: the shapes do not match the declared window
    ck = torch.load(tiny_model, weights_only=False)
    ck["meta"]["agent"] = "dras"
    torch.save(ck, tmp_path / "mismatch.pt")
    r = subprocess.run(
        [
            *SCHEDLAB,
            "evaluate",
            "--model",
            str(tmp_path / "mismatch.pt"),
            "--trace",
            "lublin_256",
            "--windows",
            "1",
            "--window-len",
            "64",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2 and "do not match" in r.stderr and "Traceback" not in r.stderr
    # resuming with other options than the run was started with
    out = tmp_path / "run"
    cmd = _train_cmd(out, 512)
    subprocess.run(cmd, check=True, capture_output=True)
    r = subprocess.run([c if c != "16" else "32" for c in cmd] + ["--resume"], capture_output=True, text=True)
    assert r.returncode == 2 and "differs" in r.stderr and "Traceback" not in r.stderr


def test_evaluate_writes_tables_plot_and_json(tmp_path, tiny_model):
    out = tmp_path / "eval"
    r = subprocess.run(
        [
            *SCHEDLAB,
            "evaluate",
            "--model",
            str(tiny_model),
            "--trace",
            "lublin_256",
            "--windows",
            "2",
            "--window-len",
            "128",
            "--out",
            str(out),
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)["results"]
    assert {"fcfs", "sjf", "saf", "wfp3", "unicep", "f1"} <= set(res)
    assert all(len(v["windows"]) == 2 and v["mean_bsld"] >= 1.0 for v in res.values())
    assert {"evaluation.csv", "evaluation.parquet", "metrics.png", "summary.json"} <= {p.name for p in out.iterdir()}


def test_load_scales_reach_training_and_validation():
    """--load-scales: the real stage draws from the trace at every scale, and the validation windows
    are the same job windows at every scale (so a relative score compares like with like)."""
    from schedlab.rl.training import build_stages, validation_reference, validation_set
    from schedlab.workload import load_trace

    wl = load_trace("lublin_256")
    stages = build_stages(wl, 0.56, 256, "none", "textbook", 0, load_scales=(1.0, 1.5))
    real = stages[-1].workloads
    assert len(real) == 2 and real[0] is wl
    assert np.allclose(np.diff(real[1].submit), 1.5 * np.diff(wl.submit))
    env_options = {"window_len": 256, "visible": 32, "backfill": "easy", "reward": "bsld", "train_split": 0.56}
    val = validation_set(wl, env_options, 5600, 7000, n=3, load_scales=(1.0, 1.5))
    assert len(val) == 6 and [s for _, s in val[:3]] == [s for _, s in val[3:]]
    ref = validation_reference(val, "sjf")
    assert len(ref) == 6 and all(r >= 1.0 for r in ref)
    # lighter load (gaps x 1.5) never makes SJF's slowdown worse on these windows in total
    assert sum(ref[3:]) <= sum(ref[:3])


def test_relative_validation_chooses_on_ratio_to_the_baseline(tmp_path):
    """val_metric=relative: the log carries val_ratio = mean(bsld / baseline bsld), the imitation warm
    start is validated too (log row 0), and model.pt is the best of all of them."""
    wl = sjf_world(600)
    cfg = PPOConfig(
        agent="scorer",
        seed=0,
        total_steps=2 * 4 * 64,
        num_envs=4,
        num_steps=64,
        bc_teacher="sjf",
        bc_updates=2,
        validate_every=1,
        env={"visible": 12, "backfill": "easy", "window_len": 120, "reward": "wait"},
    )
    val = [(SchedulingEnv(wl, window_len=120, visible=12, split="all"), s) for s in (0, 240)]
    ref = [2.0, 4.0]
    train(cfg, [Stage("real", [wl], 1.0, split="all")], tmp_path, validation=val, validation_reference=ref)
    import csv

    with open(tmp_path / "train_log.csv") as fh:
        rows = list(csv.DictReader(fh))
    ratios = [float(r["val_ratio"]) for r in rows]
    bslds = [float(r["val_bsld"]) for r in rows]
    assert [r["update"] for r in rows] == ["0", "1", "2"] and rows[0]["stage"] == "imitation"
    assert all(np.isfinite(ratios))
    meta = load_policy(tmp_path / "model.pt").meta
    assert meta["val_ratio"] == pytest.approx(min(ratios))
    assert all(r >= b / 4.0 - 1e-9 for r, b in zip(ratios, bslds, strict=False))  # mean of x/ref with ref <= 4


def test_a_trained_model_holds_only_plain_types(tmp_path):
    """model.pt from `schedlab train` loads with weights_only=True: its metadata holds strings and
    numbers (option enums stored as their values), no reference to a schedlab class."""
    out = tmp_path / "run"
    subprocess.run(_train_cmd(out, 512), check=True, capture_output=True)
    ck = torch.load(out / "model.pt", weights_only=True)
    meta = ck["meta"]
    assert type(meta["agent"]) is str and type(meta["objective"]) is str and type(meta["preset"]) is str
    assert all(type(v) in (str, int, float, bool, type(None)) for v in meta["env_kwargs"].values())
