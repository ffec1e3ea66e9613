"""OPEN and EcoShift: hand-computed DP, fair-share and reclaim cases, DP = exhaustive search on
random small instances, the cap never exceeded (hypothesis), accuracy on the measured A100 matrix
for a few apps, bad inputs, and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.datasets import DataNotFound, find_dataset
from schedlab.energy import ecoshift as es
from schedlab.energy import open as op

try:
    find_dataset("open_a100", [op.MEASURED_FILE])
    DATA = op.load_dual_cap()
except DataNotFound:
    DATA = None
needs_data = pytest.mark.skipif(DATA is None, reason="OPEN data (shared/data/open_a100) not found")
runner = CliRunner()

A100 = np.array([(c, g) for c in range(120, 201, 10) for g in range(150, 251, 10)])
SMALL = np.array([(c, g) for c in (120, 130, 140) for g in (150, 160, 170)])


def grid(cpus, gpus):
    return np.array([(c, g) for c in cpus for g in gpus])


# ------------------------------------------------------------------------------- hand-made cases


def test_dp_two_apps_by_hand():
    """Pairs cost 20, 30, 30, 40 W.  A gains from CPU, B from GPU.

    cap 60: (A 30 W: .9) + (B 30 W: .8) = 1.7 beats 0.5 + 1.0 and 1.0 + 0.6;
    cap 50: (A 30 W: .9) + (B 20 W: .6) = 1.5 beats 0.5 + 0.8.
    """
    pairs = grid((10, 20), (10, 20))  # (10,10) (10,20) (20,10) (20,20)
    pred = np.array(
        [
            [0.5, 0.6, 0.9, 1.0],  # A
            [0.6, 0.8, 0.7, 1.0],
        ]
    )  # B
    a = es.global_dp(es.PowerProblem(pairs, pred, 60))
    assert a.pair_index.tolist() == [2, 1] and a.total_w == 60 and a.predicted_mean == pytest.approx(0.85)
    b = es.global_dp(es.PowerProblem(pairs, pred, 50))
    assert b.pair_index.tolist() == [2, 0] and b.total_w == 50 and b.predicted_mean == pytest.approx(0.75)
    # a 59 W cap is a 50 W cap on the 10 W grid
    assert es.global_dp(es.PowerProblem(pairs, pred, 59)).pair_index.tolist() == [2, 0]


def test_dp_three_apps_prefers_cheaper_on_ties():
    pairs = grid((10, 20), (10,))  # costs 20, 30
    pred = np.array([[1.0, 1.0], [0.5, 0.7], [0.5, 0.6]])
    # 70 W: room for one upgrade; B's (+.2) beats C's (+.1) and A's (+0)
    a = es.global_dp(es.PowerProblem(pairs, pred, 70))
    assert a.pair_index.tolist() == [0, 1, 0] and a.total_w == 70
    # 90 W: room for all three, but A gains nothing from its 30 W pair, so it stays at 20 W
    a = es.global_dp(es.PowerProblem(pairs, pred, 90))
    assert a.pair_index.tolist() == [0, 1, 1] and a.total_w == 80


def test_fair_share_definition_on_a100_grid():
    """Every node capped at floor10(f x 200) W CPU and floor10(f x 250) W GPU, f = cap / peak."""
    n = 4
    prob = lambda f: es.PowerProblem(A100, np.ones((n, len(A100))), f * n * 450)
    expect = {
        0.70: (140, 170),
        0.75: (150, 180),
        0.80: (160, 200),
        0.85: (170, 210),
        0.90: (180, 220),
        0.60: (120, 150),
        1.0: (200, 250),
    }
    for f, (c, g) in expect.items():
        a = es.fair_share(prob(f))
        assert (a.cpu_w == c).all() and (a.gpu_w == g).all(), f
        assert a.total_w <= f * n * 450
    # fair-best: cap/N = 0.7 x 450 = 315 W each, best pair within; with perf = GPU cap it is (120, 190)
    pred = np.tile(A100[:, 1] / 250.0, (n, 1))
    fb = es.fair_best(es.PowerProblem(A100, pred, 0.7 * n * 450))
    assert (fb.gpu_w == 190).all() and (fb.cpu_w == 120).all()


def test_reclaim_and_ecoshift_by_hand():
    """Grid 10..30 W x 10..30 W (peak 60 W per node); 2 nodes, cap 80 W, f = 2/3: fair = (20, 20).

    A is flat (1.0) except (10, 10) = 0.5: it keeps 1.0 at 30 W, so it reclaims 10 W.
    B's perf = (cpu + gpu) / 60: fair = 40/60 needs 40 W, nothing to reclaim.  Pool = 80 - 30 - 40
    = 10 W, which the DP gives to B: 50/60.  Mean (1 + 5/6) / 2 vs fair (1 + 4/6) / 2.
    """
    pairs = grid((10, 20, 30), (10, 20, 30))
    a = np.ones(9)
    a[0] = 0.5
    b = pairs.sum(1) / 60.0
    prob = es.PowerProblem(pairs, np.stack([a, b]), 80)
    fair = es.fair_pairs(prob)
    assert [tuple(pairs[k]) for k in fair] == [(20, 20), (20, 20)]
    rec, mask, pool = es.reclaim(prob)
    assert prob.cost_w[rec].tolist() == [30, 40] and pool == 10
    assert mask[0].sum() == 8 and mask[1].tolist() == (b >= 40 / 60 - 1e-12).tolist()
    e = es.ecoshift(prob)
    assert e.total_w == 80 and e.extra["pool_w"] == 10 and e.extra["reclaimed_w"] == 10
    assert e.predicted_mean == pytest.approx((1 + 5 / 6) / 2)
    assert es.fair_share(prob).predicted_mean == pytest.approx((1 + 4 / 6) / 2)


def test_greedy_and_proportional_by_hand():
    pairs = grid((10, 20), (10,))  # costs 20, 30
    pred = np.array([[0.5, 0.6], [0.5, 0.9]])
    g = es.greedy(es.PowerProblem(pairs, pred, 50))  # one 10 W upgrade: B's (+.4) beats A's (+.1)
    assert g.pair_index.tolist() == [0, 1]
    # proportional: extra 10 W split .1 : .4 -> A gets 0 W, B floor(8 W) = 0 W on the 10 W grid
    p = es.proportional(es.PowerProblem(pairs, pred, 50))
    assert p.pair_index.tolist() == [0, 0] and p.extra["sensitivity"] == pytest.approx([0.1, 0.4])
    p = es.proportional(es.PowerProblem(pairs, pred, 65))  # extra 25 W: A 5 -> 0, B 20 -> 1 upgrade
    assert p.pair_index.tolist() == [0, 1]


def test_lowrank_completer_recovers_rank_two_row():
    rng = np.random.default_rng(3)
    u, v = rng.normal(size=(12, 2)), rng.normal(size=(2, 30))
    R = 5 + u @ v
    new = 5 + rng.normal(size=2) @ v
    cf = op.LowRankCompleter(rank=2, ridge=1e-9).fit(R)
    idx = np.array([0, 7, 19, 25])
    assert np.allclose(cf.complete(idx, new[idx]), new, atol=1e-6)
    # missing entries in the known rows are imputed by the same low-rank model
    Rm = R.copy()
    Rm[0, 3] = np.nan
    assert abs(op.LowRankCompleter(rank=2, ridge=1e-9).fit(Rm).filled_[0, 3] - R[0, 3]) < 1e-6


def test_accuracy_definition():
    assert op.accuracy([0.9, 1.0], [1.0, 1.0]) == pytest.approx(95.0)
    assert op.accuracy([0.5, np.nan], [0.5, 0.7]) == pytest.approx(100.0)


# ---------------------------------------------------------------------- exactness and the cap


@st.composite
def small_instances(draw):
    n = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    pred = rng.uniform(0.3, 1.0, (n, len(SMALL)))
    pred[rng.random(pred.shape) < 0.3] = np.nan
    pred[:, 0] = rng.uniform(0.3, 1.0, n)  # the cheapest pair is always available
    cap = draw(st.integers(270 * n, 310 * n + 20))
    return es.PowerProblem(SMALL, pred, float(cap))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_instances())
def test_dp_equals_exhaustive(prob):
    ref = es.exhaustive(prob)
    dp = es.global_dp(prob)
    assert dp.predicted_mean == pytest.approx(ref.predicted_mean, abs=1e-12)
    assert dp.total_w <= ref.total_w + 1e-9  # ties go to less power
    ref_f = es.exhaustive(prob, floor=True)
    eco = es.ecoshift(prob)
    assert eco.predicted_mean == pytest.approx(ref_f.predicted_mean, abs=1e-12)
    assert es.greedy(prob).predicted_mean <= dp.predicted_mean + 1e-12


@st.composite
def a100_instances(draw):
    n = draw(st.integers(1, 12))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["random", "monotone"]))
    if kind == "random":
        pred = rng.uniform(0.2, 1.0, (n, len(A100)))
    else:  # saturating in each cap, like the measured surfaces
        a, b = rng.uniform(0, 0.05, (2, n, 1))
        pred = 1 - a * (200 - A100[None, :, 0]) / 10 - b * (250 - A100[None, :, 1]) / 10
    pred[rng.random(pred.shape) < 0.05] = np.nan
    pred[:, 0] = np.nan_to_num(pred[:, 0], nan=0.3)
    frac = draw(st.floats(0.6, 1.05))
    return es.PowerProblem(A100, pred, max(270.0 * n, frac * n * 450 + draw(st.floats(0, 9.99))))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a100_instances())
def test_no_policy_exceeds_the_cap(prob):
    res = {p: es.allocate(prob, p) for p in es.POLICIES}
    for p, a in res.items():
        assert a.total_w <= prob.cap_w + 1e-9 * prob.unit_w, p  # the cap's float-rounding tolerance
        assert a.total_w == (a.cpu_w + a.gpu_w).sum()
        assert prob.allowed[np.arange(prob.n_nodes), a.pair_index].all(), p
    best = res["global-dp"].predicted_mean
    assert all(a.predicted_mean <= best + 1e-12 for a in res.values())
    # EcoShift's guarantee: no node predicted worse than at its fair share
    fair = res["fair"].extra["pred"]
    assert (res["ecoshift"].extra["pred"] >= fair - 1e-12).all()
    assert res["ecoshift"].predicted_mean >= res["fair"].predicted_mean - 1e-12


def test_dp_many_nodes_is_exact_against_a_lagrangian_bound():
    """1,000 nodes: the DP's value is at least the greedy's and at most an LP-relaxation bound."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 0.05, (2, 1000, 1))
    pred = 1 - a * (200 - A100[None, :, 0]) / 10 - b * (250 - A100[None, :, 1]) / 10
    prob = es.PowerProblem(A100, pred, 0.8 * 1000 * 450)
    dp, gr = es.global_dp(prob), es.greedy(prob)
    assert gr.predicted_mean <= dp.predicted_mean + 1e-12 and dp.total_w <= prob.cap_w
    lam = np.linspace(0, 0.01, 201)[:, None, None]  # max over pairs of (v - lam c), plus lam * cap
    bound = (np.nanmax(pred[None] - lam * A100.sum(1)[None, None, :], axis=2).sum(1) + lam[:, 0, 0] * prob.cap_w).min()
    assert dp.predicted_mean * 1000 <= bound + 1e-9


# --------------------------------------------------------------------------------- bad inputs


def test_bad_inputs_give_clear_errors():
    with pytest.raises(es.InfeasibleCap, match="below 540 W"):
        es.PowerProblem(A100, np.ones((2, len(A100))), 539)
    with pytest.raises(es.EcoShiftError, match="unknown policy"):
        es.allocate(es.PowerProblem(A100, np.ones((1, len(A100))), 400), "nope")
    with pytest.raises(es.EcoShiftError, match="multiple of 10"):
        es.PowerProblem([[125, 150]], [[1.0]], 400)
    with pytest.raises(es.EcoShiftError, match="no available pair"):
        es.PowerProblem(SMALL, np.full((1, len(SMALL)), np.nan), 400)
    with pytest.raises(es.EcoShiftError, match="tiny"):
        es.exhaustive(es.PowerProblem(A100, np.ones((5, len(A100))), 5 * 450))
    assert issubclass(es.InfeasibleCap, ValueError) and issubclass(op.UnknownApp, ValueError)


@needs_data
def test_open_bad_inputs():
    rng = np.random.default_rng(0)
    for f in (0.0, -0.1, 1.5):
        with pytest.raises(op.OpenError, match="fraction"):
            op.profile_app(DATA, "gemm", f, rng)
    with pytest.raises(op.OpenError, match="at least 2"):
        op.profile_app(DATA, "gemm", 0.01, rng)
    with pytest.raises(op.UnknownApp, match="unknown app 'nope'"):
        op.profile_app(DATA, "nope", 0.2, rng)
    with pytest.raises(op.OpenError, match="unknown mode"):
        op.OpenPredictor(mode="psychic")


# ------------------------------------------------------------------------------- measured data


@needs_data
def test_matrix_layout():
    assert DATA.perf.shape == (28, 99) and DATA.counters.shape == (28, 99, 4)
    assert tuple(DATA.pairs[DATA.anchor]) == (200, 250)
    assert np.isnan(DATA.perf).sum() == 2
    k = int(np.flatnonzero((DATA.pairs[:, 0] == 120) & (DATA.pairs[:, 1] == 210))[0])
    assert np.isnan(DATA.perf[DATA.index("bert_large"), k])
    assert np.nanmax(DATA.perf, axis=1) == pytest.approx(np.ones(28))


@needs_data
def test_profile_holds_anchor_and_no_more_than_the_fraction():
    p = op.profile_app(DATA, "miniGAN", 0.2, np.random.default_rng(1), mode="runtime")
    assert DATA.anchor in p.pairs and len(p.pairs) == 19 and len(set(p.pairs)) == 19  # floor(0.2 x 98)
    i = DATA.index("miniGAN")
    assert p.relative_perf == pytest.approx(DATA.perf[i, p.pairs] / DATA.perf[i, DATA.anchor])
    assert op.profile_app(DATA, "miniGAN", 0.2, np.random.default_rng(1)).relative_perf is None


@needs_data
def test_authors_predictions_match_readme():
    auth = op.load_authors_predictions(DATA)
    assert len(auth) == 10
    for app_, expect in (("lammps", 97.36), ("XSBench", 82.49), ("Laghos", 89.74)):
        assert op.accuracy(auth[app_], DATA.perf[DATA.index(app_)]) == pytest.approx(expect, abs=0.006)


@needs_data
def test_runtime_mode_accuracy_few_apps():
    per_app, _summary, surf = op.leave_one_out(DATA, "runtime", 0.2, repeats=2, apps=["gemm", "lammps", "bfs"])
    assert (per_app["acc_unprofiled"] > 96.0).all(), per_app
    assert (per_app["profiled_pairs"] == 19).all()
    s = surf["runtime"][DATA.index("gemm")]
    assert s.max() == pytest.approx(1.0) and np.isnan(surf["runtime"][DATA.index("sort")]).all()


@needs_data
def test_counters_mode_accuracy_one_app():
    """The MLP (a short training) + CF on a new app from counters alone."""
    per_app, _, _ = op.leave_one_out(DATA, "counters", 0.2, repeats=1, apps=["gromacs"], epochs=300)
    assert per_app["acc_unprofiled"].iloc[0] > 93.0


def test_mlp_ensemble_is_the_mean_of_independent_members_and_deterministic():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, (200, 3))
    y = 0.6 + 0.3 * X[:, 0] * X[:, 1] + 0.1 * X[:, 2]
    m = op.MLPPredictor(hidden=(16,), epochs=200, seed=7, n_models=3).fit(X, y)
    members = m.predict_members(X[:20])
    assert members.shape == (3, 20) and np.ptp(members, axis=0).max() > 0  # different initial weights
    assert m.predict(X[:20]) == pytest.approx(members.mean(0))
    assert op.accuracy(m.predict(X), y) > 97.0
    again = op.MLPPredictor(hidden=(16,), epochs=200, seed=7, n_models=3).fit(X, y).predict_members(X[:20])
    assert np.array_equal(members, again)
    with pytest.raises(op.OpenError, match="n_models"):
        op.MLPPredictor(n_models=0)


@needs_data
def test_leave_one_out_reuses_cached_mlps():
    cache = {}
    a, _, _ = op.leave_one_out(
        DATA, "counters", 0.2, repeats=1, apps=["gromacs"], epochs=50, n_models=2, mlp_cache=cache
    )
    assert list(cache) == [("gromacs", 50, 0, 2)]
    mlp = cache[("gromacs", 50, 0, 2)]
    _b, _, _ = op.leave_one_out(
        DATA, "counters", 0.1, repeats=1, apps=["gromacs"], epochs=50, n_models=2, mlp_cache=cache
    )
    assert cache[("gromacs", 50, 0, 2)] is mlp and len(cache) == 1
    c, _, _ = op.leave_one_out(DATA, "counters", 0.2, repeats=1, apps=["gromacs"], epochs=50, n_models=2)
    assert a["acc_unprofiled"].iloc[0] == c["acc_unprofiled"].iloc[0]  # deterministic for a seed


@needs_data
def test_oracle_ecoshift_gain_at_70_percent():
    df = es.evaluate_fractions(DATA.pairs, DATA.perf, DATA.perf, fractions=[0.7], policies=["ecoshift", "global-dp"])
    g = df.set_index("policy")["gain_vs_fair_pct"]
    assert g["global-dp"] == pytest.approx(16.86, abs=0.01) and g["ecoshift"] > 15.0
    assert not df["violation"].any()


# ------------------------------------------------------------------------------------------ CLI


@needs_data
def test_cli_open_single_app_json():
    r = runner.invoke(app, ["energy", "open", "--app", "gemm", "--mode", "runtime", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["app"] == "gemm" and len(out["surface"]) == 99 and len(out["profiled_pairs"]) == 19
    assert out["modes"]["runtime"]["acc_unprofiled"] > 96


@needs_data
def test_cli_open_leave_one_out_json(tmp_path):
    r = runner.invoke(
        app,
        [
            "energy",
            "open",
            "--leave-one-out",
            "--apps",
            "gemm,bfs",
            "--mode",
            "runtime",
            "--repeats",
            "1",
            "--json",
            "--out",
            str(tmp_path),
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["apps"] == 2 and len(out["per_app"]) == 2 and out["modes"]["runtime"]["acc_unprofiled"]["median"] > 95
    assert (tmp_path / "summary.json").exists() and (tmp_path / "per_app.parquet").exists()
    assert (tmp_path / "open_accuracy_per_app.png").exists()


@needs_data
def test_cli_ecoshift_json(tmp_path):
    r = runner.invoke(
        app, ["energy", "ecoshift", "--predictor", "oracle", "--cap-fraction", "0.8", "--json", "--out", str(tmp_path)]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    pol = {p["policy"]: p for p in out["policies"]}
    assert set(pol) == set(es.POLICIES) and out["nodes"] == 28
    assert all(p["total_w"] <= out["cap_w"] for p in pol.values())
    assert pol["global-dp"]["gain_vs_fair_pct"] == pytest.approx(9.57, abs=0.01)
    assert (tmp_path / "ecoshift_allocation.png").exists()
    r = runner.invoke(
        app,
        [
            "energy",
            "ecoshift",
            "--apps",
            "gemm,bfs,gemm",
            "--predictor",
            "open",
            "--mode",
            "runtime",
            "--cap",
            "1100",
            "--policy",
            "ecoshift",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["nodes"] == 3 and out["policies"][0]["total_w"] <= 1100 and len(out["allocations"]["ecoshift"]) == 3


@needs_data
@pytest.mark.parametrize(
    "args, msg",
    [
        (["energy", "ecoshift", "--cap", "1000", "--nodes", "4"], "below 1,080 W"),
        (["energy", "ecoshift", "--policy", "magic"], "unknown policy"),
        (["energy", "ecoshift", "--apps", "gemm,nope"], "unknown app"),
        (["energy", "open", "--profile-fraction", "1.5"], "fraction"),
        (["energy", "open", "--app", "nope"], "unknown app"),
        (["energy", "open", "--mode", "psychic"], "unknown mode"),
    ],
)
def test_cli_errors(args, msg):
    r = runner.invoke(app, args)
    assert r.exit_code == 2 and msg in r.output and "Traceback" not in r.output


def test_cli_help_lists_commands():
    r = runner.invoke(app, ["energy", "--help"])
    assert r.exit_code == 0 and "open" in r.output and "ecoshift" in r.output
    r = runner.invoke(app, ["energy", "ecoshift", "--help"])
    assert r.exit_code == 0 and "--cap-fraction" in r.output
