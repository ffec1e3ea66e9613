"""Fuzzing model files: a shipped checkpoint with its weights, options and metadata mutated at
random (hypothesis, derandomized, bounded) either fails to load with a one-line SchedlabError
naming the file, or loads into a policy whose schedule of a 60-job Theta window is complete,
finite and valid.  Never a traceback, a hang or a huge allocation."""

from __future__ import annotations

import copy
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schedlab.errors import SchedlabError
from schedlab.policies.registry import resolve
from schedlab.rl.models import shipped_models
from schedlab.rl.options import CHECKPOINT_FIELDS
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace

FUZZ = settings(
    derandomize=True,
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: values an option or the agent name may be replaced with: valid, out of range, of the wrong type
VALUES = st.sampled_from(
    [0, 1, -1, 16, 128, 4096, 4097, 10**9, 2**70, 0.5, 1.5, float("nan"), True, False, None, "", "easy", "none",
     "agent", "bsld", "sjf", "fcfs", "saf", "nodes", "procs", "actual", "dras", "scorer", "x" * 200, [1], {"a": 1},
     torch.zeros(2)]
)  # fmt: skip
DTYPES = st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64, torch.bool, torch.complex64])


@cache
def _shipped(name: str) -> dict:
    return torch.load(shipped_models()[name], weights_only=True)


@cache
def _window():
    return load_trace("theta_2022", rules="textbook").window(1000, 60)


@st.composite
def _weight_change(draw, state: dict):
    """One change to the state dict: drop, add, reshape, retype, scale, poison or swap a weight."""
    names = sorted(state)
    name = draw(st.sampled_from(names))
    t = state[name]
    kind = draw(st.sampled_from(["drop", "add", "shape", "dtype", "scale", "poison", "swap", "transpose"]))
    if kind == "drop":
        del state[name]
    elif kind == "add":
        state[name + draw(st.sampled_from(["_", ".extra", "x"]))] = torch.zeros(draw(st.integers(0, 4)))
    elif kind == "shape":
        dims = draw(st.lists(st.integers(0, 70), min_size=0, max_size=3))
        state[name] = torch.zeros(dims)
    elif kind == "dtype":
        state[name] = t.to(draw(DTYPES))
    elif kind == "scale":
        state[name] = t * draw(st.sampled_from([0.0, -1.0, 1e-30, 1e3, 1e20, 1e38]))
    elif kind == "poison":
        flat = t.clone().reshape(-1)
        flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        state[name] = flat.reshape(t.shape)
    elif kind == "swap":
        other = draw(st.sampled_from(names))
        state[name], state[other] = state[other], t
    else:
        state[name] = t.T.contiguous() if t.dim() == 2 else t.flip(0)


@st.composite
def _model(draw):
    """A mutated copy of a shipped checkpoint (the dict torch.save will write)."""
    name = draw(st.sampled_from(sorted(shipped_models())))
    ck = copy.deepcopy(_shipped(name))
    options = ck["meta"]["env_kwargs"]
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 3]))):
        draw(_weight_change(ck["model"]))
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2]))):
        key = draw(st.sampled_from([*CHECKPOINT_FIELDS, "window_len", "train_split", "colour"]))
        if draw(st.booleans()) and key in options:
            del options[key]
        else:
            options[key] = draw(VALUES)
    if draw(st.sampled_from([False] * 9 + [True])):  # hypothesis favours small integers: not integers()
        ck["meta"]["agent"] = draw(VALUES)
    return ck


@FUZZ
@given(ck=_model())
def test_a_mutated_model_loads_and_schedules_validly_or_fails_in_one_line(ck):
    window = _window()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pt"
        torch.save(ck, path)
        try:
            policy = resolve(f"model:{path}")
            res = simulate(window, SimConfig(policy=policy, backfill="easy"))
        except SchedlabError as exc:
            message = str(exc)
            assert "\n" not in message and str(path) in message, message
            event(message.split(": ", 1)[-1][:40])
            return
    event("loaded and scheduled")
    assert len(res.start) == len(window.submit) == 60
    assert np.isfinite(res.start).all() and np.isfinite(res.end).all()
    assert (res.start >= window.submit).all()
    assert res.passes > 0
