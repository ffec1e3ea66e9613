"""A model file either loads into the policy that was trained or fails in one line naming the file.

Loading never runs code from the file (checkpoints are read with weights_only=True), never reads a
file that is too large, compressed or lying about its sizes, and checks the options and every
weight (names, shapes, dtypes, finiteness) against the network the options build before any
weight is loaded.  The cases are a shipped model, modified and saved with torch.save.
"""

from __future__ import annotations

import copy
import os
import struct
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from schedlab.cli import app
from schedlab.errors import ModelFormatError, SchedlabError
from schedlab.policies.registry import resolve
from schedlab.rl.agents import build_agent, load_policy
from schedlab.rl.checkpoint import MAX_FILE_BYTES, Progress, read_training_state, save_training_state
from schedlab.rl.models import shipped_models
from schedlab.simulator import SimConfig, simulate
from schedlab.workload import load_trace

SCORER, DRAS = "lublin_256-scorer", "theta_2022-dras"


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # what a hostile checkpoint would carry: a call made at unpickling time
        return (open, (str(self.marker), "w"))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    torch.save({"format": "schedlab-rl/1", "meta": {"agent": "scorer"}, "model": {}, "x": _Payload(marker)}, path)
    r = CliRunner().invoke(app, ["simulate", "--trace", "cqsim_test", "--policy", f"model:{path}"])
    assert r.exit_code == 2 and "not a readable schedlab model" in r.output, r.output
    assert "Traceback" not in r.output
    assert not marker.exists()  # the payload never ran


@cache
def _shipped(name: str) -> dict:
    return torch.load(shipped_models()[name], weights_only=True)


@cache
def _window():
    return load_trace("theta_2022", rules="textbook").window(1000, 60)


def _variant(tmp_path: Path, name: str, change) -> Path:
    """The shipped model ``name`` changed by ``change(ck)`` (which may return a whole new object)."""
    ck = copy.deepcopy(_shipped(name))
    new = change(ck)
    path = tmp_path / "model.pt"
    torch.save(ck if new is None else new, path)
    return path


def _refused(path: Path, *words: str) -> str:
    """The one-line error loading ``path`` as a policy gives; it names the file and ``words``."""
    with pytest.raises(SchedlabError) as info:
        resolve(f"model:{path}")
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for w in words:
        assert w in message, message
    return message


def _target(ck: dict, where: str) -> dict:
    return {"top": ck, "meta": ck["meta"], "model": ck["model"]}.get(where) or ck["meta"]["env_kwargs"]


def _set(where: str, key, value):
    """A change setting ``key`` of the top level, meta, the weights or the options to ``value``."""
    return lambda ck: _target(ck, where).__setitem__(key, value)


def _drop(where: str, key):
    def change(ck):
        del _target(ck, where)[key]

    return change


def _weight(name: str, make):
    def change(ck):
        ck["model"][name] = make(ck["model"][name])

    return change


def _huge_view(t):  # a 10^12-element view over a one-element storage: never materialised
    return torch.zeros(1).expand(10**6, 10**6)


def _hidden(ck):  # hidden sizes inconsistent between layers (32 -> 40 in one layer, not the next)
    ck["model"]["score.0.weight"] = torch.zeros(40, 20)
    ck["model"]["score.0.bias"] = torch.zeros(40)


CASES = [
    # (id, model, change, words the message holds); before this change, the ones marked * either
    # crashed with a traceback or loaded without complaint (NaN, wrong dtypes cast, "no" as True)
    ("bare-tensor", SCORER, lambda ck: torch.zeros(3), ["expected format"]),
    ("list", SCORER, lambda ck: [1, 2], ["expected format"]),
    ("string", SCORER, lambda ck: "model", ["expected format"]),
    ("format", SCORER, _set("top", "format", "schedlab-rl/2"), ["expected format"]),
    ("meta-list*", SCORER, _set("top", "meta", [1]), ["meta"]),
    ("meta-missing", SCORER, _drop("top", "meta"), ["meta"]),
    ("model-missing", SCORER, _drop("top", "model"), ["weights"]),
    ("model-tensor*", SCORER, _set("top", "model", torch.zeros(2)), ["weights"]),
    ("model-empty", SCORER, _set("top", "model", {}), ["no weights"]),
    ("agent-missing", SCORER, _drop("meta", "agent"), ["agent"]),
    ("agent-unknown", SCORER, _set("meta", "agent", "ppo"), ["unknown agent"]),
    ("agent-list", SCORER, _set("meta", "agent", ["scorer"]), ["agent"]),
    ("scorer-claims-dras", SCORER, _set("meta", "agent", "dras"), ["do not match a dras", "scorer agent's"]),
    ("dras-claims-scorer", DRAS, _set("meta", "agent", "scorer"), ["do not match a scorer", "dras agent's"]),
    ("options-missing", SCORER, _drop("meta", "env_kwargs"), ["env_kwargs"]),
    ("options-list*", SCORER, _set("meta", "env_kwargs", [1]), ["env_kwargs"]),
    ("option-int-key*", SCORER, _set("options", 3, 1), ["env_kwargs"]),
    ("option-unknown", SCORER, _set("options", "colour", 1), ["unknown environment option"]),
    ("visible-0", SCORER, _set("options", "visible", 0), ["visible must be >= 1"]),
    ("visible-1e9", SCORER, _set("options", "visible", 10**9), ["visible must be at most"]),
    ("visible-float", SCORER, _set("options", "visible", 12.5), ["visible must be int"]),
    ("visible-string*", SCORER, _set("options", "visible", "12"), ["visible must be int"]),
    ("visible-bool", SCORER, _set("options", "visible", True), ["visible must be int"]),
    ("backfill-unknown", SCORER, _set("options", "backfill", "eager"), ["unknown backfill mode"]),
    ("backfill-list", SCORER, _set("options", "backfill", ["easy"]), ["backfill must be str"]),
    ("backfill-huge", SCORER, _set("options", "backfill", "x" * 100_000), ["100,000 characters"]),
    ("reward-unknown", SCORER, _set("options", "reward", "speed"), ["unknown reward"]),
    ("queue-order-unknown", SCORER, _set("options", "queue_order", "lottery"), ["unknown queue order"]),
    ("baseline-unknown", SCORER, _set("options", "baseline", "oracle"), ["unknown baseline"]),
    ("kill-string*", SCORER, _set("options", "kill_at_request", "no"), ["kill_at_request must be bool"]),
    ("train-split-string*", SCORER, _set("options", "train_split", "a"), ["train_split"]),
    ("window-negative*", SCORER, _set("options", "window_len", -5), ["window length"]),
    ("capacity-none", SCORER, _set("options", "capacity_unit", None), ["capacity_unit must be str"]),
    ("scorer-with-agent-backfill", SCORER, _set("options", "backfill", "agent"), ["no stop head"]),
    ("dras-without-agent-backfill", DRAS, _set("options", "backfill", "easy"), ["have a stop head"]),
    ("weight-missing", SCORER, _drop("model", "score.0.bias"), ["missing weight(s) score.0.bias"]),
    ("weight-extra", SCORER, _set("model", "foo", torch.zeros(1)), ["unknown weight(s) foo"]),
    ("weight-int-key*", SCORER, lambda ck: ck["model"].update({5: torch.zeros(1)}), ["named 5"]),
    ("weight-list", SCORER, _weight("score.0.bias", lambda t: t.tolist()), ["not a tensor"]),
    ("weight-shape", SCORER, _weight("score.0.weight", lambda t: torch.zeros(32, 21)), ["32x21", "needs 32x20"]),
    ("weight-transposed", DRAS, _weight("context.0.0.weight", lambda t: t.T.contiguous()), ["139x64"]),
    ("hidden-inconsistent", SCORER, _hidden, ["40x20"]),
    ("weight-huge-view", SCORER, _weight("score.0.weight", _huge_view), ["1000000x1000000"]),
    ("weight-int*", SCORER, _weight("score.0.weight", lambda t: t.to(torch.int64)), ["torch.int64"]),
    ("weight-bool*", SCORER, _weight("score.0.weight", lambda t: t > 0), ["torch.bool"]),
    ("weight-complex*", SCORER, _weight("score.0.weight", lambda t: t.to(torch.complex64)), ["torch.complex64"]),
    ("weight-float16*", SCORER, _weight("score.0.weight", lambda t: t.half()), ["torch.float16"]),
    ("weight-float64*", DRAS, _weight("encode.0.0.weight", lambda t: t.double()), ["torch.float64"]),
    ("weight-sparse", SCORER, _weight("score.0.weight", lambda t: t.to_sparse()), ["not a dense tensor"]),
    ("weight-nan*", SCORER, _weight("score.0.weight", lambda t: t.index_fill(1, torch.tensor([0]), np.nan)), ["NaN"]),
    ("weight-inf*", DRAS, _weight("run_head.0.bias", lambda t: t.index_fill(0, torch.tensor([0]), np.inf)), ["NaN"]),
    ("value-head-nan*", SCORER, _weight("value.0.weight", lambda t: t * np.nan), ["value.0.weight"]),
]


@pytest.mark.parametrize(("name", "change", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_modified_model_is_refused_in_one_line(tmp_path, name, change, words):
    _refused(_variant(tmp_path, name, change), *words)


@pytest.mark.parametrize("name", [SCORER, DRAS])
def test_an_unmodified_copy_loads_and_schedules(tmp_path, name):
    path = _variant(tmp_path, name, lambda ck: None)
    res = simulate(_window(), SimConfig(policy=resolve(f"model:{path}"), backfill="easy"))
    assert np.isfinite(res.start).all() and len(res.start) == 60


@pytest.mark.parametrize(
    ("name", "weight", "factor"),
    [(SCORER, "score.6.weight", 1e38), (SCORER, "score.6.bias", -3e38), (DRAS, "run_head.2.bias", -3e38)],
    ids=["logits-overflow", "below-the-mask", "dras-below-the-mask"],
)
def test_absurd_finite_weights_fail_when_they_would_decide(tmp_path, name, weight, factor):
    """Finite weights that score jobs inf, NaN or below the mask value of invalid actions would take
    arbitrary (even invalid) actions; the policy refuses at the first such decision (before: it
    silently scheduled in some other order)."""
    path = _variant(tmp_path, name, _weight(weight, lambda t: t * factor if "bias" not in weight else t + factor))
    policy = resolve(f"model:{path}")
    with pytest.raises(ModelFormatError, match="NaN, infinite or below") as info:
        simulate(_window(), SimConfig(policy=policy, backfill="easy"))
    assert str(path) in str(info.value)


# -- the file itself --------------------------------------------------------------------------------
def _bytes(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "model.pt"
    path.write_bytes(data)
    return path


def _rezipped(tmp_path: Path) -> Path:
    """The shipped scorer with every entry deflated (torch.save never compresses)."""
    src = zipfile.ZipFile(shipped_models()[SCORER])
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info.filename))
    return path


def _lying_sizes(tmp_path: Path) -> Path:
    """The shipped scorer with its last entry's declared size set to 2 GiB (a zip bomb's trick)."""
    data = bytearray(shipped_models()[SCORER].read_bytes())
    entry = data.rfind(b"PK\x01\x02")  # the last central-directory record
    struct.pack_into("<II", data, entry + 20, 2**31, 2**31)  # compressed and uncompressed size
    return _bytes(tmp_path, bytes(data))


def test_files_that_are_not_checkpoints_are_refused_before_torch_reads_them(tmp_path):
    good = shipped_models()[SCORER].read_bytes()
    _refused(_bytes(tmp_path, b"not a checkpoint at all"), "not a PyTorch checkpoint archive")
    _refused(_bytes(tmp_path, good[: len(good) // 2]), "not a readable schedlab model")
    _refused(_bytes(tmp_path, good[:-30]), "not a readable schedlab model")
    _refused(_rezipped(tmp_path), "compressed")
    _refused(_lying_sizes(tmp_path), "claims more bytes than the file holds")
    huge = tmp_path / "huge.pt"
    with huge.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    _refused(huge, "more than a schedlab checkpoint may be")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_a_pipe_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "model.pt"
    os.mkfifo(pipe)
    _refused(pipe, "not a regular file")


def test_meta_never_traversed_beyond_what_is_used(tmp_path):
    """A self-referencing structure (2^60 paths) in meta is neither walked nor printed."""

    def laughs(ck):
        x: list = []
        for _ in range(60):
            x = [x, x]
        ck["meta"]["notes"] = x
        ck["meta"]["agent"] = x

    _refused(_variant(tmp_path, SCORER, laughs), "meta['agent'] is a value of type list")


def test_evaluate_and_explain_refuse_the_same_way(tmp_path):
    path = _variant(tmp_path, SCORER, _weight("score.0.weight", lambda t: t * np.nan))
    with pytest.raises(ModelFormatError, match="NaN"):
        load_policy(path)
    r = CliRunner().invoke(app, ["evaluate", "--model", str(path), "--trace", "lublin_256", "--windows", "1"])
    assert r.exit_code == 2 and "NaN" in r.output and "Traceback" not in r.output, r.output


def test_cli_simulate_with_a_bad_model_exits_2_in_one_line(tmp_path):
    path = _variant(tmp_path, DRAS, _set("options", "visible", 10**9))
    exe = Path(sys.executable).parent / "schedlab"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "schedlab.cli"]
    r = subprocess.run(
        [*cmd, "simulate", "--trace", "cqsim_test", "--policy", f"model:{path}"], capture_output=True, text=True
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr and "visible must be at most" in r.stderr


# -- the training state (train --resume) -------------------------------------------------------------
def _state(tmp_path: Path, change=None) -> Path:
    """A ``last.pt`` of a W = 16 DRAS agent (no environments), changed by ``change(ck)``."""
    torch.manual_seed(0)
    net = build_agent("dras", 16, True)
    path = tmp_path / "last.pt"
    meta = {"agent": "dras", "env_kwargs": {"visible": 16, "backfill": "agent"}}
    save_training_state(path, net, meta, torch.optim.Adam(net.parameters()), Progress(update=3), [])
    if change is not None:
        ck = torch.load(path, weights_only=False)
        change(ck)
        torch.save(ck, path)
    return path


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (_set("top", "update", "3"), "update is '3', not a number"),
        (_set("top", "stage", -1), "stage is -1, out of range"),
        (_set("top", "best", float("nan")), "best is NaN"),
        (_set("top", "envs", None), "rng, envs or optimizer"),
        (lambda ck: ck["rng"].update(torch=torch.zeros(3)), "random-number states"),
        (lambda ck: ck["rng"].update(python=(1, 2)), "random-number states"),
        (lambda ck: ck["model"]["stop.0.bias"].fill_(np.nan), "NaN"),
        (_set("options", "visible", 0), "visible must be >= 1"),
    ],
)
def test_a_modified_training_state_is_refused_in_one_line(tmp_path, change, words):
    path = _state(tmp_path, change)
    with pytest.raises(ModelFormatError) as info:
        read_training_state(path)
    assert words in str(info.value) and str(path) in str(info.value)


def test_an_unmodified_training_state_reads(tmp_path):
    ck, progress = read_training_state(_state(tmp_path))
    assert progress.update == 3 and ck["source"].endswith("last.pt")
