"""One checker over every registered policy (as Gymnasium runs check_env over every env).

Every spelling the registry knows (each heuristic, an ``expr:``, each shipped ``model:`` and
``tree:``) is resolved once and run through ``simulate()`` on a small real trace window; the
schedule must keep the engine's invariants, the policy its registry contract, and a second run
must be bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest

from schedlab.errors import PolicyError
from schedlab.options import PolicyKind
from schedlab.policies import registry
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace
from tests.simulator.test_engine_properties import max_usage


def _shipped(kind: str) -> list[str]:
    from importlib import resources

    folder = resources.files("schedlab") / "data" / kind
    suffix = ".pt" if kind == "models" else ".json"
    return sorted(p.name[: -len(suffix)] for p in folder.iterdir() if p.name.endswith(suffix))


SPECS = [
    *registry.heuristics(),
    "expr:n * r",
    "expr:log2(n) + sqrt(r)",
    *[f"model:{name}" for name in _shipped("models")],
    *[f"tree:{name}" for name in _shipped("trees")],
]


@pytest.fixture(scope="module")
def window():
    return load_trace("theta_2022").window(1000, 300)


def test_every_prefix_is_covered():
    # a prefix registered later must get a spelling in SPECS
    assert set(registry.prefixes()) == {"expr", "model", "tree"}
    assert {s.partition(":")[0] for s in SPECS if ":" in s} == set(registry.prefixes())


@pytest.mark.parametrize("spec", SPECS)
def test_policy_contract_and_engine_invariants(spec, window):
    policy = registry.resolve(spec)
    assert registry.resolve(policy) is policy  # a resolved policy passes through
    assert isinstance(policy.kind, PolicyKind)
    assert isinstance(policy.label, str) and policy.label
    # the canonical spec resolves to an equivalent policy
    again = registry.resolve(policy.spec)
    assert again.kind is policy.kind and again.spec == policy.spec
    if policy.kind is PolicyKind.STATIC:
        s = policy.scores(window.req_time, window.procs, window.submit, window)
        assert s.shape == (len(window),) and np.all(np.isfinite(s))

    backfill = "easy"
    res = simulate(window, SimConfig(policy=policy, backfill=backfill))
    assert len(res.start) == len(window)
    assert np.all(np.isfinite(res.start))
    assert np.all(res.start >= window.submit)  # no start before submit
    np.testing.assert_array_equal(res.end, res.start + res.run)
    assert max_usage(res.start, res.end, res.size) <= res.capacity  # no overcommit
    assert res.config.to_dict()["policy"] == policy.spec

    twice = simulate(window, SimConfig(policy=spec, backfill=backfill))  # from the string, same schedule
    np.testing.assert_array_equal(twice.start, res.start)


@pytest.mark.parametrize("spec", ["nope", "model:", "tree:/no/such/tree.json", "expr:", "expr:n *", "bogus:x", 42])
def test_bad_specs_are_policy_errors(spec):
    with pytest.raises(PolicyError):
        registry.resolve(spec)


def test_register_a_prefix_at_run_time(window):
    class Longest(registry.Policy):
        def scores(self, req_time, procs, submit, workload=None):
            return -np.asarray(req_time, dtype=float)

    registry.register("neg", lambda arg: Longest(spec=f"neg:{arg}"))
    try:
        a = simulate(window, SimConfig(policy="neg:x", backfill="none"))
        b = simulate(window, SimConfig(policy="ljf", backfill="none"))
        np.testing.assert_array_equal(a.start, b.start)
    finally:
        registry._PREFIXES.pop("neg")
