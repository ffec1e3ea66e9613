"""The temporal protocol of ``schedlab evaluate`` (consecutive windows covering the later period,
plus the whole period as one run, every row with the same information) and ``train --time-budget``."""

from __future__ import annotations

import json
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.errors import OptionError
from schedlab.rl.agents import build_agent, load_policy, save_checkpoint
from schedlab.rl.episodes import split_bounds
from schedlab.rl.evaluation import BASELINES, EVERY_HEURISTIC, consecutive_windows, temporal_evaluation
from schedlab.rl.training import TrainConfig
from tests.helpers import make_workload

torch.set_num_threads(1)
runner = CliRunner()


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    """An untrained scorer (W = 16) in the real file format."""
    path = tmp_path_factory.mktemp("model") / "model.pt"
    save_checkpoint(path, build_agent("scorer", 16, False), {"agent": "scorer", "env_kwargs": {"visible": 16}})
    return path


def _workload(n=700, seed=0):
    rng = np.random.default_rng(seed)
    run = rng.uniform(10, 2000, n)
    return make_workload(
        np.sort(rng.uniform(0, 40000, n)), run, rng.integers(1, 9, n), req_time=run * rng.uniform(1, 4, n),
        capacity=16, user=rng.integers(0, 5, n),
    )  # fmt: skip


# --- consecutive windows ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "lo, hi, length, expected",
    [
        (100, 400, 100, [(100, 100), (200, 100), (300, 100)]),  # an exact multiple
        (100, 440, 100, [(100, 100), (200, 100), (300, 140)]),  # a tail under half a window joins the last
        (100, 450, 100, [(100, 100), (200, 100), (300, 100), (400, 50)]),  # half a window: its own window
        (0, 70, 100, [(0, 70)]),  # a split shorter than a window is one window
        (16738, 23911, 1024, [(16738 + 1024 * i, 1024) for i in range(6)] + [(22882, 1029)]),  # theta_2022's
    ],
)
def test_consecutive_windows_cover_the_split_exactly(lo, hi, length, expected):
    spans = consecutive_windows(lo, hi, length)
    assert spans == expected
    assert spans[0][0] == lo and spans[-1][0] + spans[-1][1] == hi
    for (s, n), (t, _) in pairwise(spans):
        assert s + n == t  # no gap, no overlap


@pytest.mark.parametrize("seed", range(20))
def test_consecutive_windows_random_splits(seed):
    rng = np.random.default_rng(seed)
    lo = int(rng.integers(0, 1000))
    hi = lo + int(rng.integers(2, 5000))
    length = int(rng.integers(2, 1500))
    spans = consecutive_windows(lo, hi, length)
    covered = np.concatenate([np.arange(s, s + n) for s, n in spans])
    assert np.array_equal(covered, np.arange(lo, hi))
    if len(spans) > 1:
        assert all(length / 2 <= n < 1.5 * length for _, n in spans)


# --- the evaluation --------------------------------------------------------------------------------
def test_every_row_runs_on_every_window_and_the_whole_period_with_the_same_information(scorer):
    wl = _workload()
    lo, hi = split_bounds(len(wl), 0.6, "test")
    res = temporal_evaluation(scorer, wl, lo, hi, 100, estimates="actual", load_scale=1.3)
    rows = {r["policy"]: r for r in res["results"]}
    assert res["results"][0]["kind"] == "agent"
    assert set(EVERY_HEURISTIC) | set(BASELINES) <= set(rows)
    assert len(rows) == 1 + len(EVERY_HEURISTIC) + len(BASELINES)
    assert res["windows"] == [[lo + 100 * i, 100] for i in range(2)] + [[lo + 200, 80]]
    for r in res["results"]:
        assert [w["jobs"] for w in r["windows"]] == [n for _, n in res["windows"]]
        assert r["whole"]["jobs"] == hi - lo  # the whole period, one run
        assert r["config"]["load_scale"] == 1.3 and r["config"]["backfill"] == "easy"
    for h in (*EVERY_HEURISTIC, "random"):
        assert rows[h]["config"]["estimates"] == "actual" and rows[h]["same_information"]
        assert rows[h]["config"]["correction"] == rows["fcfs"]["config"]["correction"]
    assert res["results"][0]["config"]["estimates"] == "actual"
    # easy++ brings its own predictions: reported, never the best same-information heuristic
    assert rows["easy++"]["config"]["estimates"] == "predicted:last2" and not rows["easy++"]["same_information"]
    ranked = [r for r in res["results"] if r["same_information"] and r["kind"] != "agent"]
    best = min(ranked, key=lambda r: r["mean_bsld"])
    assert res["best_heuristic"] == best["policy"] and best["gap_to_best"] == 0.0
    assert res["bsld_vs_best_heuristic"] == pytest.approx(rows[res["results"][0]["policy"]]["gap_to_best"])
    whole_best = min(ranked, key=lambda r: r["whole"]["mean_bsld"])
    assert res["best_heuristic_whole"] == whole_best["policy"]


def test_load_scale_reaches_every_row(scorer):
    """The load scale is applied once, to the trace, before the windows are cut: every row sees it."""
    wl = _workload()
    lo, hi = split_bounds(len(wl), 0.6, "test")
    a = temporal_evaluation(scorer, wl, lo, hi, 100, heuristics=("fcfs",), baselines=())
    b = temporal_evaluation(scorer, wl, lo, hi, 100, heuristics=("fcfs",), baselines=(), load_scale=10.0)
    span = wl.submit[hi - 1] - wl.submit[lo]
    for ra, rb in zip(a["results"], b["results"], strict=True):  # arrivals spread 10x: the machine idles
        assert rb["whole"]["makespan"] > 10 * span > ra["whole"]["makespan"]
        assert rb["mean_wait"] < ra["mean_wait"] and rb["config"]["load_scale"] == 10.0


def test_evaluate_defaults_to_the_temporal_protocol(scorer, tmp_path):
    out = tmp_path / "eval"
    args = ["evaluate", "--model", str(scorer), "--trace", "lublin_256", "--train-split", "0.9", "--window-len", "300"]
    r = runner.invoke(app, [*args, "--json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    assert res["protocol"] == "consecutive" and res["period"] == [9000, 10000]
    assert res["windows"] == [[9000, 300], [9300, 300], [9600, 400]]  # the 100-job tail joins the last window
    assert set(EVERY_HEURISTIC) | set(BASELINES) <= set(res["results"])
    assert all(v["whole"]["jobs"] == 1000 for v in res["results"].values())
    table = pd.read_csv(out / "evaluation.csv")
    assert (table["part"] == "whole").sum() == len(res["results"])
    assert table[table["part"] == "window"].groupby("policy")["window_jobs"].sum().eq(1000).all()
    # the table: the best same-information heuristic and the agent's gap to it
    r = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "consecutive windows" in r.stdout and "best same-information heuristic" in r.stdout
    assert "easy++" in r.stdout and "random" in r.stdout


def test_the_windows_protocol_stays_available(scorer):
    args = ["evaluate", "--model", str(scorer), "--trace", "lublin_256", "--window-len", "128", "--json"]
    for extra in (["--windows", "2"], ["--protocol", "windows", "--windows", "2"]):
        r = runner.invoke(app, [*args, *extra])
        assert r.exit_code == 0, r.output
        res = json.loads(r.stdout)
        assert res["protocol"] == "windows" and len(res["window_starts"]) == 2
        assert set(res["results"]) == {"scorer (model.pt)", "fcfs", "sjf", "saf", "wfp3", "unicep", "f1"}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--protocol", "consecutive", "--windows", "3"], "--protocol windows"),
        (["--protocol", "consecutive", "--window-starts", "0,100"], "--protocol windows"),
        (["--protocol", "sliding"], "--protocol"),
        (["--load-scale", "0"], "--load-scale must be > 0"),
    ],
)
def test_evaluate_protocol_errors(scorer, extra, message):
    r = runner.invoke(app, ["evaluate", "--model", str(scorer), "--trace", "lublin_256", *extra])
    assert r.exit_code == 2, r.output
    assert message in " ".join(r.output.split())


# --- train --time-budget ---------------------------------------------------------------------------
TRAIN = [
    "train", "--agent", "dras", "--trace", "lublin_256", "--steps", str(2 * 256 * 400), "--seed", "3",
    "--window-len", "64", "--visible", "16", "--num-envs", "2", "--curriculum", "none", "--imitate", "none",
    "--validate-every", "1",
]  # fmt: skip


def _updates(run) -> list[int]:
    return [int(line.split(",")[0]) for line in (run / "train_log.csv").read_text().splitlines()[1:]]


def test_time_budget_stops_training_early_and_keeps_a_loadable_model(tmp_path):
    run = tmp_path / "run"
    r = runner.invoke(app, [*TRAIN, "--out", str(run), "--time-budget", "0.02"])
    assert r.exit_code == 0, r.output
    assert "--time-budget 0.02 min spent" in " ".join(r.output.split())
    done = _updates(run)
    assert 1 <= len(done) < 400 and done == list(range(1, len(done) + 1))
    policy = load_policy(run / "model.pt")  # the best validated checkpoint, loadable
    assert policy.agent == "dras" and "val_bsld" in policy.meta
    last = torch.load(run / "last.pt", weights_only=False)
    assert last["update"] == done[-1]  # the checkpoint is the update it stopped at
    assert (run / ".schedlab-run.json").exists()  # a finished run folder
    assert json.loads((run / "run.json").read_text())["time_budget_min"] == 0.02
    # --resume continues from there
    r = runner.invoke(app, [*TRAIN, "--out", str(run), "--time-budget", "0.03", "--resume"])
    assert r.exit_code == 0, r.output
    more = _updates(run)
    assert more[: len(done)] == done and len(more) > len(done) and more == list(range(1, len(more) + 1))


def test_time_budget_without_validation_keeps_the_last_model(tmp_path):
    run = tmp_path / "run"
    r = runner.invoke(app, [*TRAIN, "--validate-every", "0", "--out", str(run), "--time-budget", "0.01"])
    assert r.exit_code == 0, r.output
    last = torch.load(run / "last.pt", weights_only=False)
    model = load_policy(run / "model.pt")
    assert model.meta["global_step"] == last["global_step"]
    for k, v in torch.load(run / "model.pt", weights_only=False)["model"].items():
        assert torch.equal(v, last["model"][k]), k


@pytest.mark.parametrize("value", ["0", "-1", "10081", "nan"])
def test_time_budget_range(value, tmp_path):
    r = runner.invoke(app, [*TRAIN, "--out", str(tmp_path / "run"), "--time-budget", value])
    assert r.exit_code == 2, r.output
    text = " ".join(r.output.split())
    assert "--time-budget must be" in text
    if value != "nan":
        assert "(0, 10,080] minutes" in text
    assert not (tmp_path / "run").exists()


def test_train_config_checks_the_time_budget():
    with pytest.raises(OptionError, match=r"\(0, 10,080\] minutes"):
        TrainConfig(time_budget=0)
    assert TrainConfig(time_budget=10_080).time_budget == 10_080
