"""The scheduling environment on a multi-resource machine (``EnvOptions.cluster``).

The decisive check: an agent that always picks the first visible job reproduces ``simulate`` on
the same machine job for job (queue order = the policy, same backfilling), so the environment and
the compiled engine share one set of rules: every resource, partitions, node selection, QOS
per-user limits and EASY's resource-exact reservation.  Then gymnasium's checker, exact
save/restore, a short PPO run on the machine, and the trained model scheduling a whole workload
through the registry (``model:``) with the engine's invariants checked on its schedule.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from schedlab.cluster import load_cluster
from schedlab.errors import SchedlabError
from schedlab.rl.multires_env import MULTI_FEATURES, MultiSchedulingEnv, make_env
from schedlab.rl.options import EnvOptions
from schedlab.simulator import SimConfig, simulate
from schedlab.simulator.stepper import CLUSTER_FEATURES, JOB_FEATURES
from schedlab.workload.resources import JobResources
from schedlab.workload.table import Workload

SMALL = Path(__file__).resolve().parents[1] / "fixtures" / "cluster" / "small.toml"


def mixed_workload(n: int = 400, seed: int = 0) -> Workload:
    """CPU jobs in ``batch`` (1-4 nodes, some asking much memory) and GPU jobs in ``gpu`` (QOS high,
    8 GPUs per user at most), from 6 users, arriving faster than the machine drains them."""
    rng = np.random.default_rng(seed)
    gpu = rng.random(n) < 0.35
    run = np.round(rng.lognormal(7.0, 1.2, n).clip(30, 3000))
    req = np.minimum(run * rng.uniform(1.0, 3.0, n), 3600)
    nodes = np.where(gpu, rng.integers(1, 3, n), rng.integers(1, 5, n))
    res = JobResources.build(
        n,
        nodes=nodes,
        cpus_per_node=np.where(gpu, rng.integers(4, 33, n), rng.integers(8, 65, n)),
        gpus_per_node=np.where(gpu, rng.integers(1, 5, n), 0),
        mem_per_node=np.where(rng.random(n) < 0.2, 200_000, rng.integers(1000, 60_000, n)),
        partition=np.where(gpu, "gpu", "batch"),
        qos=np.where(gpu, "high", "normal"),
        account=np.where(rng.random(n) < 0.5, "acctA", "acctB"),
    )
    submit = np.round(np.cumsum(rng.exponential(60.0, n)))  # whole seconds, as traces record them
    return Workload(
        name="mixed", job_id=np.arange(n), submit=submit, run=run, req_time=req, procs=nodes * 32,
        user=rng.integers(0, 6, n), raw_submit=submit, status=np.ones(n, dtype=np.int64), max_procs=384,
        max_nodes=6, resources=res,
    )  # fmt: skip


def write_job_table(wl: Workload, path: Path) -> Path:
    """``wl`` as a site's job table (CSV: one row per job, ISO times, totals per job)."""
    import pandas as pd

    res = wl.resources.to_columns()
    t0 = pd.Timestamp("2025-01-06T00:00:00")
    stamp = lambda s: (t0 + pd.to_timedelta(np.round(s), unit="s")).strftime("%Y-%m-%dT%H:%M:%S")
    pd.DataFrame({
        "job_id": wl.job_id, "user": [f"u{u}" for u in wl.user], "account": res["account"],
        "partition": res["partition"], "qos": res["qos"], "submit": stamp(wl.submit),
        "start": stamp(wl.submit), "end": stamp(wl.submit + np.round(wl.run)), "nodes": res["nodes"],
        "cpus": res["nodes"] * res["cpus_per_node"], "gpus": res["nodes"] * res["gpus_per_node"],
        "mem_per_node": res["mem_per_node"], "time_limit_s": np.ceil(wl.req_time), "state": "COMPLETED",
    }).to_csv(path, index=False)  # fmt: skip
    return path


def slot0_episode(env) -> np.ndarray:
    env.reset(seed=0)
    done = False
    while not done:
        _, _, done, _, _ = env.step(0)
    return env.start.copy()


@pytest.mark.parametrize(
    ("allocation", "select", "order", "backfill"),
    [
        ("shared", "best-fit", "fcfs", "easy"),
        ("shared", "first-fit", "sjf", "easy"),
        ("shared", "first-fit", "fcfs", "none"),
        ("exclusive", "first-fit", "saf", "easy"),
    ],
)
def test_slot0_agent_reproduces_the_engine(allocation, select, order, backfill):
    wl = mixed_workload()
    machine = replace(load_cluster(str(SMALL)), allocation=allocation, select=select)
    env = MultiSchedulingEnv(
        wl, EnvOptions(window_len=None, split="all", visible=8, queue_order=order, backfill=backfill), cluster=machine
    )
    starts = slot0_episode(env)
    r = simulate(wl, SimConfig(policy=order, backfill=backfill, cluster=machine))
    assert len(r.start) == len(starts) > 300
    assert np.array_equal(starts, r.start - r.workload.submit[0])  # the window's clock starts at its first job
    assert env.decisions >= len(starts)


def test_checker_observation_layout_and_exact_restore():
    opts = EnvOptions(cluster=str(SMALL), window_len=64, visible=8, baseline="sjf", reward="bsld")
    env = make_env(mixed_workload(), opts)
    assert isinstance(env, MultiSchedulingEnv)
    check_env(env, skip_render_check=True)
    jobs, cluster = env.feature_names
    assert jobs == JOB_FEATURES + MULTI_FEATURES and cluster == CLUSTER_FEATURES
    obs, info = env.reset(seed=3)
    assert obs.shape == (8 * len(JOB_FEATURES) + len(CLUSTER_FEATURES) + 8 * len(MULTI_FEATURES),)
    assert ((obs >= 0) & (obs <= 1)).all() and info["action_mask"].any()
    for a in (1, 0, 2):
        env.step(a)
    saved = env.get_state()
    first = [env.step(i % 3) for i in range(10)]
    env.set_state(saved)
    again = [env.step(i % 3) for i in range(10)]
    for (o1, r1, d1, *_), (o2, r2, d2, *_) in zip(first, again, strict=True):
        assert np.array_equal(o1, o2) and r1 == r2 and d1 == d2


def test_gpu_rows_say_what_a_job_asks_and_what_its_partition_has_free():
    env = MultiSchedulingEnv(mixed_workload(), EnvOptions(cluster=str(SMALL), window_len=64, visible=8))
    obs, _ = env.reset(seed=1)
    W, F, G = 8, len(JOB_FEATURES), len(CLUSTER_FEATURES)
    extra = obs[W * F + G :].reshape(W, len(MULTI_FEATURES))
    p = env.prep
    for slot, j in enumerate(env._visible):
        g = env.window_start + j
        part = env.cluster.partitions[p.partition[g]].name
        if part == "gpu":  # 2 nodes x 4 GPUs in the gpu partition
            assert extra[slot, 0] == pytest.approx(p.nodes[g] * p.req[g, 1] / 8)
        else:
            assert extra[slot, 0] == 0.0
    assert (extra[: len(env._visible), 2] > 0).all()  # a fresh machine: every pool has free CPUs


def test_options_the_machine_cannot_honour_are_refused():
    wl = mixed_workload(100)
    for bad in ({"backfill": "agent"}, {"estimates": "predicted:last2"}, {"reward": "dras"}, {"baseline": "wfp3"}):
        with pytest.raises(SchedlabError, match="multi-resource"):
            MultiSchedulingEnv(wl, EnvOptions(cluster=str(SMALL), window_len=32, visible=4, **bad))


def test_a_model_trained_on_the_machine_schedules_it(tmp_path):
    from schedlab.rl.training import TrainConfig, train_run

    wl_path = write_job_table(mixed_workload(900, seed=4), tmp_path / "jobs.csv")
    cfg = TrainConfig(
        agent="scorer", trace=str(wl_path), objective="bsld", train_split=0.7, val_fraction=0.2, steps=512,
        seed=0, window_len=64, visible=8, backfill="easy", backfill_order="fcfs", baseline="sjf",
        curriculum="none", preset="textbook", ppo={"num_envs": 2, "validate_every": 1}, cluster=str(SMALL),
    )  # fmt: skip
    train_run(cfg, tmp_path / "run")
    model = tmp_path / "run" / "model.pt"
    assert model.exists()
    from schedlab.workload import load_trace

    wl = load_trace(str(wl_path))
    assert len(wl) == 900
    r = simulate(wl, SimConfig(policy=f"model:{model}", backfill="easy", cluster=str(SMALL)))
    assert (r.start >= r.workload.submit).all() and np.isfinite(r.start).all()
    assert "multires" in r.extra
    with pytest.raises(SchedlabError, match="single-resource"):
        simulate(wl, SimConfig(policy="model:lublin_256-scorer", cluster=str(SMALL)))
    # the command line: every heuristic beside the model on the later period, on the same machine
    from typer.testing import CliRunner

    from schedlab.cli import app

    res = CliRunner().invoke(
        app, ["evaluate", "--model", str(model), "--trace", str(wl_path), "--cluster", str(SMALL), "--window-len",
              "128", "--json"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    import json

    rows = json.loads(res.output)["results"]
    assert {"fcfs", "sjf", "wfp3"} <= set(rows) and "easy++" not in rows
    assert all(r["mean_bsld"] >= 1.0 for r in rows.values())
