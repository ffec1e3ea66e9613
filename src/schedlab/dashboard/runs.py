"""New runs started from the page, and uploaded traces.

A run (trace, machine, policies, backfill, estimates) is simulated in a background thread, one
policy after another, each into its own results folder under the runs folder, written exactly as
``schedlab simulate --out`` writes it (:func:`schedlab.report.outputs.prepare_out`, then
:func:`schedlab.report.simulation.write_simulation`), so the dashboard (and any other tool) reads
it like any other.  Its progress (step, fraction, message) is polled by the page; an error ends
the run with its one-line message and leaves no half-written folder.

An uploaded trace is size-bounded, written under the runs folder's ``uploads/`` with a cleaned
name, and parsed at once: a file that does not parse is deleted and its error shown.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from schedlab.errors import SchedlabError

#: Largest trace accepted from the page.
MAX_UPLOAD_BYTES = 256 * 1024 * 1024


@dataclass
class RunSpec:
    """What the page asks for (validated by :meth:`check`)."""

    trace: str
    policies: list[str]
    backfill: str = "easy"
    estimates: str = "requested"
    cluster: str | None = None

    def check(self) -> RunSpec:
        from schedlab.options import Backfill, Estimates

        if not self.trace:
            raise SchedlabError("choose a trace (a bundled one or an uploaded file)")
        if not self.policies:
            raise SchedlabError("choose at least one policy")
        if len(self.policies) > 8:
            raise SchedlabError("at most 8 policies per run")
        if self.backfill not in {b.value for b in Backfill}:
            raise SchedlabError(f"unknown backfill {self.backfill!r}")
        if self.estimates not in {e.value for e in Estimates}:
            raise SchedlabError(f"unknown estimates {self.estimates!r}")
        return self


@dataclass
class RunState:
    id: int
    spec: RunSpec
    state: str = "queued"  # queued, running, done, error
    progress: float = 0.0
    message: str = "queued"
    folders: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def public(self) -> dict:
        return dict(id=self.id, state=self.state, progress=round(self.progress, 3), message=self.message,
                    folders=list(self.folders))  # fmt: skip


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.")[:60] or "run"


class Runner:
    """Runs new simulations one at a time in a background thread; ``on_done(folder)`` is called for
    each folder written."""

    def __init__(self, runs_dir: Path, on_done=None):
        self.runs_dir = Path(runs_dir)
        self.on_done = on_done
        self._lock = threading.Lock()
        self._runs: dict[int, RunState] = {}
        self._ids = itertools.count(1)

    def start(self, spec: RunSpec) -> RunState:
        spec.check()
        with self._lock:
            if any(r.state in ("queued", "running") for r in self._runs.values()):
                raise SchedlabError("a run is already under way; wait for it to finish")
            run = RunState(next(self._ids), spec)
            self._runs[run.id] = run
        threading.Thread(target=self._work, args=(run,), name=f"schedlab-run-{run.id}", daemon=True).start()
        return run

    def get(self, run_id: int) -> dict | None:
        with self._lock:
            r = self._runs.get(run_id)
            return r.public() if r else None

    def _set(self, run: RunState, **kw) -> None:
        with self._lock:
            for k, v in kw.items():
                setattr(run, k, v)

    def _work(self, run: RunState) -> None:
        try:
            self._simulate_all(run)
            self._set(run, state="done", progress=1.0, message=f"done: {len(run.folders)} folder(s) written")
        except SchedlabError as exc:
            self._set(run, state="error", message=f"error: {exc}")
        except Exception as exc:  # a bug or a library failure: shown, the server lives on
            self._set(run, state="error", message=f"error: {type(exc).__name__}: {exc}")

    def _simulate_all(self, run: RunState) -> None:
        from schedlab.policies import resolve
        from schedlab.report.outputs import prepare_out
        from schedlab.report.simulation import write_simulation
        from schedlab.simulator import SimConfig
        from schedlab.simulator.compare import simulate_summary
        from schedlab.workload import load_trace

        spec = run.spec
        n = len(spec.policies)
        self._set(run, state="running", message=f"reading {Path(spec.trace).name}", progress=0.02)
        machine = None
        if spec.cluster:
            from schedlab.cluster import load_cluster

            machine = load_cluster(spec.cluster)
        pols = [resolve(p) for p in spec.policies]
        wl = load_trace(spec.trace)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for i, (name, pol) in enumerate(zip(spec.policies, pols, strict=True)):
            self._set(run, message=f"simulating {name} ({i + 1}/{n}) on {len(wl):,} jobs", progress=(i + 0.1) / n)
            out = self.runs_dir / _slug(f"{Path(wl.name).name}-{name}-{spec.backfill}-{stamp}-{run.id}")
            command = (
                f"schedlab simulate --trace {spec.trace} --policy {name} --backfill {spec.backfill} "
                f"--estimates {spec.estimates}" + (f" --cluster {spec.cluster}" if spec.cluster else "")
                + f" --out {out}  (from schedlab dashboard)"
            )  # fmt: skip
            folder = prepare_out(out, command=command)
            cfg = SimConfig(policy=pol, backfill=spec.backfill, estimates=spec.estimates, cluster=machine)
            summary, res = simulate_summary(wl, cfg)
            self._set(run, message=f"writing {out.name} ({i + 1}/{n})", progress=(i + 0.8) / n)
            folder.write(lambda d, s=summary, r=res: write_simulation(d, s, r))
            self._set(run, folders=[*run.folders, str(out)])
            if self.on_done is not None:
                self.on_done(out)


def save_upload(runs_dir: Path, filename: str, contents: str) -> Path:
    """A trace uploaded from the page (``contents``: a data URL), written under ``runs_dir/uploads``
    and parsed; its path.  A file too large, not base64 or that does not parse is refused."""
    from schedlab.report.outputs import atomic_path
    from schedlab.workload import load_trace

    if not contents or "," not in contents:
        raise SchedlabError("the upload is empty")
    b64 = contents.split(",", 1)[1]
    if len(b64) * 3 // 4 > MAX_UPLOAD_BYTES:
        raise SchedlabError(f"{filename}: over the {MAX_UPLOAD_BYTES // 2**20} MiB a trace upload may have")
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise SchedlabError(f"{filename}: the upload is not valid base64") from None
    name = _slug(Path(filename or "trace.swf").name)
    if not name.endswith((".swf", ".swf.gz", ".gz", ".csv", ".parquet", ".txt", ".json")):
        name += ".swf"
    path = Path(runs_dir) / "uploads" / name
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
    try:
        wl = load_trace(path)
    except SchedlabError as exc:
        path.unlink(missing_ok=True)
        raise SchedlabError(f"{filename} does not parse as a trace: {exc}") from None
    except Exception as exc:
        path.unlink(missing_ok=True)
        raise SchedlabError(f"{filename} does not parse as a trace: {type(exc).__name__}: {exc}") from None
    if len(wl) == 0:
        path.unlink(missing_ok=True)
        raise SchedlabError(f"{filename} holds no job once cleaned")
    return path


__all__ = ["MAX_UPLOAD_BYTES", "RunSpec", "Runner", "save_upload"]
