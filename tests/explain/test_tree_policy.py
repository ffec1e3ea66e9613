"""``tree:`` and ``model:`` as registry policies: how they resolve, what their spec is, and their
clear errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from schedlab.errors import SchedlabError
from schedlab.explain.policy import TreePolicy, tree_policy
from schedlab.explain.tree import shipped_trees
from schedlab.options import PolicyKind
from schedlab.policies import resolve
from schedlab.rl.models import MODELS_DIR
from schedlab.rl.policy import ModelPolicy, model_policy
from schedlab.simulator import SimConfig, simulate
from tests.helpers import make_workload


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(1)
    n = 120
    return make_workload(
        np.sort(rng.uniform(0, 9000, n)), rng.uniform(60, 3000, n), rng.integers(1, 64, n), capacity=64
    )


def test_tree_spellings_resolve_to_the_same_tree(tmp_path, small):
    shutil.copy(shipped_trees()["theta_2022-dras"], tmp_path / "tree.json")
    by_name, by_folder, by_file = (resolve(f"tree:{a}") for a in ("theta_2022-dras", tmp_path, tmp_path / "tree.json"))
    assert isinstance(by_name, TreePolicy) and by_name.kind is PolicyKind.AGENT
    assert by_name.spec == "tree:theta_2022-dras" and by_folder.spec == f"tree:{tmp_path}"
    starts = [simulate(small, SimConfig(policy=p)).start for p in (by_name, by_folder, by_file)]
    assert all(np.array_equal(s, starts[0]) for s in starts)
    res = simulate(small, SimConfig(policy=by_file))
    assert res.extra == {"tree": str(tmp_path / "tree.json"), "leaves": 9}
    assert res.config.policy_label == f"tree:{tmp_path / 'tree.json'}"


def test_model_spec_names_the_file_it_loaded(tmp_path, small):
    pol = model_policy("lublin_256-scorer")
    assert isinstance(pol, ModelPolicy) and pol.spec == f"model:{MODELS_DIR / 'lublin_256-scorer.pt'}"
    assert resolve(pol.spec).spec == pol.spec
    res = simulate(small, SimConfig(policy=pol))
    assert res.extra == {"model": str(MODELS_DIR / "lublin_256-scorer.pt"), "agent": "scorer"}


@pytest.mark.parametrize(
    "spec, options, message",
    [
        ("tree:theta_2022-dras", {"preset": "cqsim"}, "a distilled tree runs under the textbook preset, not 'cqsim'"),
        ("tree:theta_2022-dras", {"backfill": "conservative"}, "backfill none or easy (or its own), not conservative"),
        ("model:lublin_256-scorer", {"preset": "cqsim"}, "textbook or rlscheduler preset, not 'cqsim'"),
        ("model:lublin_256-scorer", {"backfill": "conservative"}, "(or its own, for DRAS models), not conservative"),
    ],
)
def test_unsupported_semantics_fail_clearly(spec, options, message, small):
    with pytest.raises(SchedlabError, match=message.replace("(", r"\(").replace(")", r"\)")):
        simulate(small, SimConfig(policy=spec, **options))


def test_bad_tree_file(tmp_path):
    (tmp_path / "tree.json").write_text("not json")
    with pytest.raises(SchedlabError, match="not a readable tree"):
        tree_policy(str(tmp_path))
