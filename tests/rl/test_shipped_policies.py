"""Every shipped model and tree still schedules exactly as before the refactor that made them
registry policies (rl/policy.py, explain/policy.py), typed their options (EnvOptions) and moved
the trees onto the decision view.

The expected values were computed with the code before that refactor (commit 60e413f), with
``simulate(window, SimConfig(policy="model:<file>" | "tree:<name>", ...))``: the sha256 of the
start times' bytes (first 20 hex digits), the decisions taken (``passes``) and the mean wait.
A model or tree added to ``src/schedlab/data`` needs its own line here.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources

import numpy as np
import pytest

from schedlab.policies import resolve
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace

DATA = resources.files("schedlab") / "data"
SHIPPED = sorted(
    [f"model:{p.name[:-3]}" for p in (DATA / "models").iterdir() if p.name.endswith(".pt")]
    + [f"tree:{p.name[:-5]}" for p in (DATA / "trees").iterdir() if p.name.endswith(".json")]
)

# spec -> [(trace, rules, window start, window length, config options, (start sha, passes, mean wait))]
EXPECTED = {
    "model:theta_2022-dras": [
        ("theta_2022", "textbook", 1000, 300, {"backfill": "easy"}, ("6edf18bda224bbc0c5a7", 500, 659.5966666666667)),
        (
            "theta_2022",
            "textbook",
            5000,
            300,
            {"capacity_unit": "nodes", "estimates": "actual", "kill_at_request": False},
            ("32b1bdbaf4a0e91b734f", 900, 8636.91),
        ),
    ],
    "model:lublin_256-scorer": [
        ("lublin_256", "textbook", 3000, 400, {"backfill": "easy"}, ("71c62d1685d94dbc8ebf", 1088, 8474.1725)),
        ("lublin_256", "textbook", 3000, 400, {"backfill": "none"}, ("2d68045436a38b564c22", 1159, 32614.835)),
        (
            "lublin_256",
            "rlscheduler",
            3000,
            400,
            {"preset": "rlscheduler", "capacity_unit": "nodes", "kill_at_request": False},
            ("f61495f878a6eee97103", 400, 13438.9625),
        ),
    ],
    # added with the tree (submit features, for `schedlab deploy`): its values when it was shipped
    "tree:lublin_256-f1-submit": [
        ("lublin_256", "textbook", 3000, 400, {"backfill": "easy"}, ("148cc25e7da5ba7971a3", 1054, 8624.265)),
        ("lublin_256", "textbook", 3000, 400, {"backfill": "none"}, ("bf6253d1844b0f57cff2", 1158, 20199.4625)),
    ],
    "tree:theta_2022-dras": [
        ("theta_2022", "textbook", 1000, 300, {"backfill": "easy"}, ("7247a14e2dcc0789d8b2", 501, 653.9966666666667)),
        ("lublin_256", "textbook", 3000, 400, {"backfill": "none"}, ("0c8dceac3a59b063d581", 1156, 13126.43)),
        (
            "theta_2022",
            "textbook",
            5000,
            300,
            {"capacity_unit": "nodes", "estimates": "actual"},
            ("3d8aa8d5ffd79f29abbd", 718, 4635.76),
        ),
    ],
}


@cache
def _trace(name: str, rules: str):
    return load_trace(name, rules=rules)


def _sha(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:20]


def test_every_shipped_model_and_tree_has_expected_values():
    assert SHIPPED, "no shipped models or trees found"
    assert sorted(EXPECTED) == SHIPPED


@pytest.mark.parametrize("spec", SHIPPED)
def test_shipped_policy_schedules_as_before(spec):
    policy = resolve(spec)  # loaded once, used for every case
    for trace, rules, start, length, options, (sha, passes, mean_wait) in EXPECTED[spec]:
        window = _trace(trace, rules).window(start, length)
        res = simulate(window, SimConfig(policy=policy, **options))
        got = (_sha(res.start), res.passes, float(np.mean(res.start - window.submit)))
        assert got == (sha, passes, mean_wait), (spec, trace, options)
