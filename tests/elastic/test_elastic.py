"""BFTrainer reproduction: allocator exactness (DP = HiGHS MILP = brute force), idle traces, the
replay's accounting and invariants, data conversion, and the CLI's errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.elastic.allocate import (
    AllocationProblem,
    equal_share,
    objective_value,
    solve_bruteforce,
    solve_dp,
    solve_milp,
)
from schedlab.elastic.data import DataNotFound, bftrainer_dir, convert_bftrainer
from schedlab.elastic.idle import IdleTraceError, from_changes, from_schedule, synthetic
from schedlab.elastic.replay import ReplayConfig, replay
from schedlab.elastic.trainers import TrainerError, TrainerSet, amdahl_rates, interpolated_rates

try:
    DATA = bftrainer_dir()
except DataNotFound:
    DATA = None
needs_data = pytest.mark.skipif(DATA is None, reason="BFTrainer data (shared/data/bftrainer) not found")
runner = CliRunner()


def random_problem(
    rng, n_trainers=3, capacity=None, kmax=7, objective="throughput", compat=False, cost_rate="current"
) -> AllocationProblem:
    capacity = int(rng.integers(1, 12)) if capacity is None else capacity
    lo = rng.integers(1, 4, n_trainers)
    hi = lo + rng.integers(0, kmax - 3, n_trainers)
    rates = np.zeros((n_trainers, hi.max() + 1))
    for j in range(n_trainers):
        rates[j] = amdahl_rates(rng.uniform(1, 10), rng.uniform(0.5, 1.0), int(hi.max()))
    cur = np.zeros(n_trainers, dtype=int)
    left = capacity
    for j in range(n_trainers):
        if rng.random() < 0.6:
            cur[j] = min(int(rng.integers(0, hi[j] + 1)), left)
            left -= cur[j]
    return AllocationProblem(
        capacity=capacity,
        current=cur,
        rates=rates,
        min_nodes=lo,
        max_nodes=hi,
        scale_up=rng.uniform(5, 20, n_trainers),
        scale_down=rng.uniform(5, 15, n_trainers),
        horizon=rng.uniform(5, 100),
        done=rng.uniform(0, 50, n_trainers),
        work=rng.uniform(100, 200, n_trainers),
        objective=objective,
        compat=compat,
        cost_rate=cost_rate,
    )


# ------------------------------------------------------------------------------------- allocator


@pytest.mark.parametrize("objective", ["throughput", "fairness"])
@pytest.mark.parametrize("compat", [False, True])
def test_dp_milp_bruteforce_agree(objective, compat):
    """30 random instances per case, 120 in all: the same optimum from all three solvers."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        p = random_problem(rng, objective=objective, compat=compat, cost_rate=("current", "stall")[seed % 2])
        ref, dp, milp = solve_bruteforce(p), solve_dp(p), solve_milp(p)
        assert dp.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-6), seed
        assert milp.objective == pytest.approx(ref.objective, rel=1e-7, abs=1e-6), seed
        # the counts each solver returns achieve its reported objective
        assert objective_value(p, dp.counts)[0] == pytest.approx(dp.objective, rel=1e-9, abs=1e-9)
        assert objective_value(p, milp.counts)[0] == pytest.approx(ref.objective, rel=1e-7, abs=1e-6)
        if objective == "fairness":
            assert dp.min_progress == pytest.approx(ref.min_progress, rel=1e-9)
            assert milp.min_progress == pytest.approx(ref.min_progress, rel=1e-7)


def test_milp_node_map_has_no_migration():
    for seed in range(20):
        p = random_problem(np.random.default_rng(100 + seed), n_trainers=4, capacity=14)
        a = solve_milp(p)
        node_map, holder = a.extra["node_map"], a.extra["holder"]
        assert node_map.sum(axis=0).max() <= 1  # one trainer per node
        for j in range(p.n_trainers):
            held = holder == j
            kept, added = node_map[j, held].sum(), node_map[j, ~held].sum()
            assert kept == held.sum() or added == 0  # grow keeping all, or shrink adding none


def test_compat_big_m_caps_changes_at_half_the_idle_nodes():
    """One trainer on 0 of 10 idle nodes, linear speed-up: the exact model takes all 10, the
    published big-M (N + 1 = 11) lets it take at most 5 in one event."""
    rates = np.arange(11, dtype=float)[None, :] * 100
    kw = dict(
        capacity=10,
        current=[0],
        rates=rates,
        min_nodes=[1],
        max_nodes=[10],
        scale_up=[1.0],
        scale_down=[1.0],
        horizon=60.0,
    )
    exact, compat = AllocationProblem(**kw), AllocationProblem(**kw, compat=True)
    assert solve_dp(exact).counts.tolist() == solve_milp(exact).counts.tolist() == [10]
    assert solve_dp(compat).counts.tolist() == solve_milp(compat).counts.tolist() == [5]


def test_equal_share_respects_bounds_and_capacity():
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = random_problem(rng, n_trainers=5, capacity=int(rng.integers(0, 30)))
        c = equal_share(p).counts
        assert c.sum() <= p.capacity
        assert np.all((c == 0) | ((c >= p.min_nodes) & (c <= p.max_nodes)))


def test_rate_models():
    r = interpolated_rates([0, 1, 2, 4, 8], [0, 10, 19, 36, 64], 10)
    assert r[[0, 1, 2, 4, 8]].tolist() == [0, 10, 19, 36, 64]
    assert r[3] == pytest.approx(27.5) and r[6] == pytest.approx(50.0)
    assert r[9] == r[10] == 64  # flat past the last measurement
    a = amdahl_rates(10.0, 0.9, 4)
    assert a[1] == pytest.approx(10.0) and a[4] == pytest.approx(10.0 / (0.1 + 0.9 / 4))


def _one_trainer(work=1e6, lo=1, hi=4, up=5.0, down=3.0) -> TrainerSet:
    return TrainerSet(
        job_id=np.array(["t0"]),
        model=np.array(["m"]),
        submit=[0.0],
        scale_up=[up],
        scale_down=[down],
        min_nodes=[lo],
        max_nodes=[hi],
        work=[work],
        rates=amdahl_rates(10.0, 1.0, hi)[None, :],
    )


def test_trainer_bounds_are_checked():
    with pytest.raises(TrainerError, match="impossible"):
        _one_trainer(lo=5, hi=4)
    with pytest.raises(TrainerError, match="impossible"):
        _one_trainer(lo=0, hi=4)


# ------------------------------------------------------------------------------------- idle traces


def test_from_schedule_holes_are_the_complement_of_the_jobs():
    rng = np.random.default_rng(0)
    from schedlab.simulator import simulate
    from tests.helpers import make_workload

    n = 60
    wl = make_workload(
        submit=np.sort(rng.uniform(0, 5000, n)), run=rng.uniform(10, 900, n), procs=rng.integers(1, 9, n), capacity=16
    )
    res = simulate(wl, policy="fcfs", backfill="easy", capacity_unit="nodes")
    tr = from_schedule(res.start, res.end, res.size, res.capacity)
    busy = float(np.sum((res.end - res.start) * res.size))
    span = res.end.max() - res.start.min()
    assert tr.idle_node_seconds() == pytest.approx(res.capacity * span - busy)
    # node-level: never more nodes busy than the machine has, and idle counts match the schedule
    t_mid = (tr.times[:-1] + tr.times[1:]) / 2
    running = np.array([res.size[(res.start <= t) & (res.end > t)].sum() for t in t_mid])
    assert np.array_equal(tr.idle_counts()[:-1], res.capacity - running)


def test_synthetic_hits_its_idle_fraction_and_window_keeps_state():
    tr = synthetic(300, 48, idle_fraction=0.1, seed=2)
    assert tr.idle_fraction() == pytest.approx(0.1, abs=0.015)
    w = tr.window(3600 * 10, 3600 * 20)
    full_counts = np.r_[tr.initial_idle.sum(), tr.idle_counts()]
    at = np.searchsorted(tr.times, 3600 * 10, side="right")
    assert w.initial_idle.sum() == full_counts[at]
    assert w.idle_node_seconds() == pytest.approx(
        tr.window(3600 * 10, 3600 * 15).idle_node_seconds() + tr.window(3600 * 15, 3600 * 20).idle_node_seconds()
    )


def test_empty_idle_trace_is_an_error():
    with pytest.raises(IdleTraceError, match="empty idle trace"):
        from_changes(4, [], [], [], 10.0, 10.0)


@needs_data
def test_real_trace_statistics_match_the_data_readme():
    from schedlab.elastic.idle import read_node_states

    tr = read_node_states()
    assert tr.n_nodes == 4734
    assert tr.idle_fraction() == pytest.approx(0.082674, abs=5e-7)
    holes = tr.holes()
    assert len(holes) == 423_502 and holes["duration"].median() == 475 and holes["censored"].sum() == 148


# ------------------------------------------------------------------------------------- replay


def test_replay_hand_computed():
    """One node idle for 100 s, one trainer at 10 samples/s that stalls 5 s to start:
    950 samples of an ideal 1,000."""
    tr = from_changes(1, [100.0], [0], [False], 0.0, 200.0, initial_idle=[True])
    res = replay(tr, _one_trainer(hi=1), ReplayConfig(tfwd=10.0))
    s = res.summary
    assert s["samples"] == pytest.approx(950.0) and s["ideal_samples"] == pytest.approx(1000.0)
    assert s["efficiency_vs_same_scales"] == pytest.approx(0.95)
    assert s["starts"] == 1 and s["preemptions"] == 1 and s["used_node_hours"] == pytest.approx(100 / 3600)


def test_replay_finishes_exactly_and_frees_nodes():
    tr = from_changes(2, [], [], [], 0.0, 10_000.0, initial_idle=[True, True])
    res = replay(tr, _one_trainer(work=1000.0, hi=2, up=5.0), ReplayConfig(tfwd=10.0))
    row = res.trainers.iloc[0]
    assert row["finished"] == pytest.approx(5.0 + 1000.0 / 20.0)  # stall, then 2 nodes at 10/s each
    assert row["samples"] == pytest.approx(1000.0)


def _synthetic_jobs(n=12, seed=0) -> TrainerSet:
    rng = np.random.default_rng(seed)
    hi = rng.integers(4, 17, n)
    rates = np.stack([amdahl_rates(rng.uniform(100, 1000), rng.uniform(0.8, 0.99), int(hi.max())) for _ in range(n)])
    return TrainerSet(
        job_id=np.array([f"j{i}" for i in range(n)]),
        model=np.array(["m"] * n),
        submit=np.sort(rng.uniform(0, 3600, n)),
        scale_up=rng.uniform(10, 20, n),
        scale_down=rng.uniform(5, 12, n),
        min_nodes=rng.integers(1, 4, n),
        max_nodes=hi,
        work=rng.uniform(2e5, 2e6, n),
        rates=rates,
    )


@pytest.mark.parametrize("solver,objective", [("dp", "throughput"), ("dp", "fairness"), ("equal", "throughput")])
def test_replay_invariants_and_determinism(solver, objective):
    tr = synthetic(64, 6, idle_fraction=0.2, seed=4)
    cfg = ReplayConfig(solver=solver, objective=objective, tfwd=60.0, max_running=4)
    a, b = replay(tr, _synthetic_jobs(), cfg), replay(tr, _synthetic_jobs(), cfg)
    ev = a.events
    assert (ev["used_nodes"] <= ev["idle_nodes"]).all()
    assert a.summary["busy_node_conflicts"] == 0
    assert (ev["running"] <= 4).all()
    assert (a.trainers["samples"] <= a.trainers["ideal_samples"] + 1e-6).all()
    fin = a.trainers["finished"].notna()
    assert np.allclose(a.trainers.loc[fin, "samples"], a.trainers.loc[fin, "work"])
    assert (a.trainers["admitted"].dropna() >= a.trainers.loc[a.trainers["admitted"].notna(), "submit"] - 1e-9).all()
    for key in ("samples", "preemptions", "starts", "scale_ups", "trainers_finished"):
        assert a.summary[key] == b.summary[key]


def test_dp_and_milp_replays_are_identical():
    tr = synthetic(24, 2, idle_fraction=0.3, seed=5)
    jobs = _synthetic_jobs(6, seed=1)
    a = replay(tr, jobs, ReplayConfig(solver="dp", tfwd=60.0, max_running=3))
    b = replay(tr, jobs, ReplayConfig(solver="milp", tfwd=60.0, max_running=3))
    assert np.allclose(a.events["objective"].fillna(0), b.events["objective"].fillna(0), rtol=1e-6, atol=1e-6)
    assert a.summary["samples"] == pytest.approx(b.summary["samples"], rel=1e-9)


# ------------------------------------------------------------------------------------- data


@needs_data
def test_conversion_round_trip_on_the_shared_copy(tmp_path):
    """Rebuild BFTrainer's original pickles (dense node map, Jbnd/JNPs job frames) from the shared
    CSVs, run the converter on them, and get the shared CSVs back."""
    n = 40
    ev = pd.read_csv(DATA / "node_state_events.csv.gz")
    ch = pd.read_csv(DATA / "node_state_changes.csv.gz")
    ch = ch[ch["node"] < n]
    row = np.searchsorted(ev["time_s"].to_numpy(), ch["time_s"].to_numpy())
    d = np.zeros((len(ev), n), np.int8)
    d[row, ch["node"].to_numpy()] = np.where(ch["state"] == "idle", 1, -1)
    names = pd.read_csv(DATA / "node_names.csv")["node_name"][:n]
    dense = pd.DataFrame(
        np.cumsum(d, axis=0).astype(np.int8), columns=list(names), index=pd.to_datetime(ev["timestamp"])
    )
    raw = tmp_path / "raw"
    raw.mkdir()
    dense.to_pickle(raw / "ndstat-10sdn6-evt.pkl")
    scal = pd.read_csv(DATA / "trainer_scalability.csv")
    for fname, stem in (
        ("trainer_jobs_imagenet_1001.csv", "ImageNet-imgps-{}-1001J.pkl"),
        ("trainer_jobs_hps_shufflenet_1000.csv", "hps-shufflenet-{}-1000J.pkl"),
        ("trainer_jobs_hps_shufflenet_10.csv", "hps-shufflenet-{}-10J.pkl"),
    ):
        jobs = pd.read_csv(DATA / fname).set_index("job_id")
        bnd = pd.DataFrame(
            {
                "Tcup": jobs["scale_up_cost_s"],
                "Tcdw": jobs["scale_down_cost_s"],
                "Jmin": jobs["min_nodes"],
                "Jmax": jobs["max_nodes"],
                "Pmax": jobs["total_work_samples"],
                "Tsub": pd.to_datetime(jobs["submit_time"]),
            }
        )
        per = {m: g for m, g in scal.groupby("model")}
        nps = pd.DataFrame(
            {
                "Ns": [per[m]["nodes"].tolist() for m in jobs["model"]],
                "Ps": [per[m]["throughput_samples_per_s"].tolist() for m in jobs["model"]],
            },
            index=jobs.index,
        )
        bnd.to_pickle(raw / stem.format("Jbnd"))
        nps.to_pickle(raw / stem.format("JNPs"))
    out = tmp_path / "out"
    convert_bftrainer(raw, out, allow_unverified=True)  # self-built pickles: trusted explicitly
    got = pd.read_csv(out / "node_state_changes.csv.gz")
    pd.testing.assert_frame_equal(got, ch.reset_index(drop=True))
    assert pd.read_csv(out / "node_state_events.csv.gz")["time_s"].tolist() == ev["time_s"].tolist()
    for fname in ("trainer_jobs_imagenet_1001.csv", "trainer_jobs_hps_shufflenet_10.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(out / fname), pd.read_csv(DATA / fname))
    back = pd.read_csv(out / "trainer_scalability.csv").sort_values(["model", "nodes"]).reset_index(drop=True)
    ref = scal.sort_values(["model", "nodes"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        back[["model", "nodes", "throughput_samples_per_s"]], ref[["model", "nodes", "throughput_samples_per_s"]]
    )
    assert json.loads((out / "node_state_meta.json").read_text())["n_nodes"] == n


# ------------------------------------------------------------------------------------- CLI


@needs_data
def test_cli_real_trace_json_and_outputs(tmp_path):
    r = runner.invoke(
        app, ["bftrainer", "--nodes", "400", "--hours", "4", "--trainers", "hps10", "--json", "--out", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["nodes"] == 400 and s["busy_node_conflicts"] == 0 and 0 < s["efficiency_vs_same_scales"] <= 1
    for f in (
        "summary.json",
        "events.parquet",
        "allocations.csv",
        "trainers.parquet",
        "idle_nodes_used.png",
        "trainer_allocation.png",
        "allocation_by_model.png",
    ):
        assert (tmp_path / f).exists(), f


def test_cli_synthetic_runs_without_data(tmp_path):
    bad = tmp_path / "jobs.csv"
    pd.DataFrame(
        {
            "job_id": ["a"],
            "model": ["m"],
            "submit_offset_s": [0],
            "scale_up_cost_s": [1.0],
            "scale_down_cost_s": [1.0],
            "min_nodes": [8],
            "max_nodes": [4],
            "total_work_samples": [10],
        }
    ).to_csv(bad, index=False)
    pd.DataFrame({"model": ["m", "m"], "nodes": [1, 8], "throughput_samples_per_s": [1.0, 7.0]}).to_csv(
        tmp_path / "trainer_scalability.csv", index=False
    )
    r = runner.invoke(app, ["bftrainer", "--idle-trace", "synthetic", "--trainers", str(bad), "--nodes", "32"])
    assert r.exit_code == 2 and "impossible" in r.output
    good = tmp_path / "good.csv"
    pd.read_csv(bad).assign(min_nodes=1, max_nodes=8, total_work_samples=1_000).to_csv(good, index=False)
    r = runner.invoke(
        app,
        ["bftrainer", "--idle-trace", "synthetic", "--trainers", str(good), "--nodes", "32", "--hours", "2", "--json"],
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["trainers_finished"] == 1


@pytest.mark.parametrize(
    "args,message",
    [
        (["--idle-trace", "nonsense"], "unknown idle trace"),
        (["--idle-trace", "synthetic", "--trainers", "nosuchset"], "no trainer set"),
        (["--idle-trace", "synthetic", "--hours", "0"], "--hours must be > 0"),
        (["--idle-trace", "synthetic", "--risk"], "--risk needs --predict-holes"),
        (["--idle-trace", "synthetic", "--tfwd-from-holes", "0.01"], "--tfwd-from-holes needs --predict-holes"),
        (["--idle-trace", "synthetic", "--nodes", "8", "--tfwd", "-1"], "tfwd must be > 0"),
        (["--idle-trace", "synthetic", "--tfwd-learned"], "--tfwd-learned needs --predict-holes"),
        (["--idle-trace", "synthetic", "--predict-holes", "--tfwd-learned", "--tfwd-from-holes", "0.01"], "not both"),
    ],
)
def test_cli_bad_inputs(args, message):
    r = runner.invoke(app, ["bftrainer", *args])
    assert r.exit_code == 2, r.output
    assert message in r.output


def test_hole_predictor_learns_that_old_holes_last_longer_and_drives_the_replay():
    """Heavy-tailed holes: a hole that has lasted an hour is predicted to last longer than a new one.
    With the predictor, trainers take the longest-lived nodes and Tfwd follows the predictions."""
    from schedlab.elastic.horizon import HoleLifePredictor

    rng = np.random.default_rng(0)
    history = synthetic(200, 72, idle_fraction=0.15, idle_durations=rng.pareto(1.2, 20_000) * 300 + 60, seed=1)
    model = HoleLifePredictor(max_iter=60).fit(history)
    young, old = model.predict_remaining(5e4, np.array([3, 3]), np.array([5e4 - 10, 5e4 - 3600]))
    assert old > 2 * young
    window = synthetic(64, 6, idle_fraction=0.2, seed=9)
    res = replay(
        window,
        _synthetic_jobs(),
        ReplayConfig(tfwd=30.0, max_running=4, horizon=model, node_choice="longest", tfwd_scale=0.05),
    )
    assert res.summary["busy_node_conflicts"] == 0 and res.summary["samples"] > 0
    assert res.summary["config"]["tfwd_scale"] == 0.05


def test_learned_tfwd_is_the_predicted_time_to_the_next_idle_node_leaving():
    """--tfwd-learned: at every decision Tfwd = 1 / sum(1 / predicted remaining life) over the idle
    nodes, no knob; the events log records it, and it follows the pool (shorter with more nodes)."""
    from schedlab.elastic.horizon import HoleLifePredictor

    rng = np.random.default_rng(0)
    history = synthetic(200, 72, idle_fraction=0.15, idle_durations=rng.pareto(1.2, 20_000) * 300 + 60, seed=1)
    model = HoleLifePredictor(max_iter=60).fit(history)
    window = synthetic(64, 6, idle_fraction=0.2, seed=9)
    seen = []

    class Spy:  # the fitted model, recording each decision's predictions
        def predict_remaining(self, t, nodes, hole_start):
            life = model.predict_remaining(t, nodes, hole_start)
            seen.append(float(np.clip(1.0 / np.sum(1.0 / np.maximum(life, 1.0)), 1.0, 3600.0)))
            return life

    res = replay(
        window, _synthetic_jobs(), ReplayConfig(max_running=4, horizon=Spy(), node_choice="longest", tfwd_learned=True)
    )
    used = res.events["tfwd"].dropna().to_numpy()
    assert len(used) == len(seen) > 10
    np.testing.assert_allclose(used, seen)
    assert res.summary["config"]["tfwd_learned"] and res.summary["busy_node_conflicts"] == 0
    assert res.summary["tfwd_median"] == pytest.approx(float(np.median(used)))
    assert used.std() > 0  # it moves with the pool, unlike a fixed Tfwd
    fixed = replay(window, _synthetic_jobs(), ReplayConfig(tfwd=30.0, max_running=4))
    assert set(fixed.events["tfwd"].dropna()) == {30.0}
    with pytest.raises(ValueError, match="not both"):
        ReplayConfig(horizon=model, tfwd_learned=True, tfwd_scale=0.1)
