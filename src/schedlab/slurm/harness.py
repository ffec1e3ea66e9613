"""A real Slurm on one host (loopback): munged, slurmctld and one ``slurmd -N NODE`` per node,
started as the current user's processes from a machine description, everything in one folder.

``up(cluster, folder)`` writes ``slurm.conf``/``gres.conf`` (see :mod:`schedlab.slurm.conf`), a munge
key, fake GPU device files, starts the daemons on free ports (or from ``port`` on), waits until
every node is idle and records what it started in ``folder/harness.json``; ``status(folder)``
says what runs; ``down(folder)`` cancels this Slurm's jobs and stops exactly the processes that
``up`` started (by pid, after checking each pid still runs the command it started);
``env(folder)`` is an environment in which ``sbatch``, ``squeue``, ``scontrol``, ``sprio`` ... talk
to this Slurm.  :func:`running` is the same as a ``with`` block (the test fixture uses it).

The daemons run in the foreground (``-D``/``-F``) in a session of their own, so they outlive the
command that started them and are not its children; their output goes to ``folder/log/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from schedlab.errors import SchedlabError
from schedlab.report.outputs import write_text

STATE_FILE = "harness.json"
#: where Debian and most sites put the daemons when PATH (a non-root user's) lacks them
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/opt/slurm/sbin", "/opt/slurm/bin")
DAEMONS = ("slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scontrol", "sinfo", "scancel", "sprio")
MUNGE = ("munged", "munge", "unmunge")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
#: what a harness folder holds (anything else there: not ours, refused)
OURS = {"state", "spool", "log", "run", "dev", "munge", "munge-key", "slurm.conf", "gres.conf", "cgroup.conf"}
OURS |= {"job_submit.lua", "jobcomp.log", STATE_FILE}


@dataclass
class HarnessState:
    """What ``up`` started, saved as ``folder/harness.json``."""

    folder: str
    slurm_conf: str
    cluster: str
    nodes: list[str]
    partitions: list[str]
    ports: dict  # slurmctld: int, slurmd: {node: int}
    pids: dict  # munged: int, slurmctld: int, slurmd: {node: int}
    commands: dict  # the same keys: argv of each process
    scheduler: dict
    munge_socket: str
    jobcomp: str
    version: str = ""
    job_submit: str = ""
    started: str = ""
    gpus: dict = field(default_factory=dict)  # node -> count
    notes: list[str] = field(default_factory=list)
    #: the nodes in slurmctld's own table order (its node selection scans them in this order)
    node_order: list[str] = field(default_factory=list)

    def processes(self) -> list[tuple[str, int, list[str]]]:
        """(label, pid, argv) of every process, in the order to stop them (node daemons first)."""
        out = [(f"slurmd {n}", pid, self.commands["slurmd"][n]) for n, pid in self.pids.get("slurmd", {}).items()]
        for key in ("slurmrestd", "slurmctld", "munged"):
            if self.pids.get(key):
                out.append((key, self.pids[key], self.commands[key]))
        return out


def find_tools() -> dict[str, str]:
    """The Slurm and munge programs: name -> path.  Missing ones: a SchedlabError naming them."""
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(SBIN)
    found = {name: shutil.which(name, path=path) for name in (*DAEMONS, *CLIENTS)}
    missing = [n for n, p in found.items() if not p]
    if missing:
        raise SchedlabError(
            f"Slurm is not installed ({', '.join(missing)} not found on PATH or in {', '.join(SBIN[:2])}); "
            "on Debian/Ubuntu: apt-get install slurm-wlm munge"
        )
    munge = {name: shutil.which(name, path=path) for name in MUNGE}
    missing = [n for n, p in munge.items() if not p]
    if missing:
        raise SchedlabError(
            f"munge is not installed ({', '.join(missing)} not found); on Debian/Ubuntu: apt-get install munge"
        )
    return {**found, **munge}


def _version(tools: dict) -> str:
    try:
        out = subprocess.run([tools["slurmctld"], "-V"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip().split()[-1] if out.stdout.strip() else ""


# ports --------------------------------------------------------------------------------------------
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_port(port: int) -> None:
    """A SchedlabError unless ``port`` can be bound on 127.0.0.1 now."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= 65535:
        raise SchedlabError(f"port must be a whole number in [1024, 65535], got {port!r}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise SchedlabError(f"port {port} on 127.0.0.1 is in use; give another --port (or none)") from None


def _ports(n: int, port: int | None) -> tuple[int, list[int]]:
    if port is None:
        chosen: set[int] = set()
        while len(chosen) < n + 1:
            chosen.add(free_port())
        ports = sorted(chosen)
        return ports[0], ports[1:]
    for p in range(port, port + n + 1):
        check_port(p)
    return port, list(range(port + 1, port + n + 1))


# processes ----------------------------------------------------------------------------------------
def _spawn(argv: list[str], log: Path, env: dict | None = None) -> int:
    """Start ``argv`` in a new session, detached (not our child), output to ``log``; its pid."""
    script = f"{shlex.join(argv)} >>{shlex.quote(str(log))} 2>&1 </dev/null & echo $!"
    out = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, start_new_session=True)
    try:
        return int(out.stdout.strip())
    except ValueError:
        raise SchedlabError(f"could not start {argv[0]}: {out.stderr.strip()[:200]}") from None


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    if state == "Z":
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def alive(pid: int, argv: list[str]) -> bool:
    """Whether ``pid`` still runs ``argv`` (same program and arguments: not a reused pid)."""
    cmd = _cmdline(pid)
    return bool(cmd) and Path(cmd[0]).name == Path(argv[0]).name and cmd[1:] == argv[1:]


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(t.strip() for t in text[-lines:])


def _stop(procs: list[tuple[str, int, list[str]]]) -> list[str]:
    """SIGTERM each live process, wait, SIGKILL what is left; the labels stopped."""
    live = [(label, pid, argv) for label, pid, argv in procs if alive(pid, argv)]
    for _, pid, _ in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and any(alive(pid, argv) for _, pid, argv in live):
        time.sleep(0.1)
    for _, pid, argv in live:
        if alive(pid, argv):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return [label for label, _, _ in live]


# munge --------------------------------------------------------------------------------------------
def _start_munged(tools: dict, folder: Path) -> tuple[int, list[str], str]:
    keydir, sockdir = folder / "munge-key", folder / "munge"
    keydir.mkdir(mode=0o700, exist_ok=True)
    sockdir.mkdir(exist_ok=True)
    os.chmod(keydir, 0o700)
    os.chmod(sockdir, 0o755)  # munged wants its socket's folder searchable by all (--force: and above)
    key = keydir / "munge.key"
    if not key.exists():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(1024))
    sock = sockdir / "munge.socket"
    if len(str(sock)) > 100:  # a unix socket's path is at most 107 bytes
        raise SchedlabError(f"{folder}: path too long for munge's socket (over 100 bytes); use a shorter folder")
    argv = [
        tools["munged"], "--foreground", "--force", f"--key-file={key}", f"--socket={sock}",
        f"--pid-file={sockdir / 'munged.pid'}", f"--seed-file={keydir / 'munged.seed'}",
        f"--log-file={folder / 'log' / 'munged.log'}",
    ]  # fmt: skip
    pid = _spawn(argv, folder / "log" / "munged.out")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not sock.exists():
        if not alive(pid, argv):
            raise SchedlabError(f"munged failed to start: {_tail(folder / 'log' / 'munged.out', 1)}")
        time.sleep(0.05)
    _check_munge(tools, sock)
    return pid, argv, str(sock)


def _check_munge(tools: dict, sock: Path | str) -> None:
    """A SchedlabError unless a credential encodes and decodes through munged's ``sock``."""
    try:
        cred = subprocess.run([tools["munge"], "-n", "-S", str(sock)], capture_output=True, timeout=10)
        back = subprocess.run([tools["unmunge"], "-S", str(sock)], input=cred.stdout, capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SchedlabError(f"munge is not working at {sock}: {exc}") from None
    if cred.returncode or back.returncode:
        msg = (cred.stderr or back.stderr).decode(errors="replace").strip().splitlines()
        raise SchedlabError(f"munge is not running or failing at {sock}: {msg[-1] if msg else 'no answer'}")


# the harness --------------------------------------------------------------------------------------
def _state_path(folder: Path) -> Path:
    return Path(folder) / STATE_FILE


def load_state(folder: str | Path) -> HarnessState:
    """The state ``up`` saved in ``folder``; a SchedlabError when there is none."""
    path = _state_path(Path(folder))
    try:
        data = json.loads(path.read_text())
        return HarnessState(**data)
    except FileNotFoundError:
        raise SchedlabError(f"{folder}: no loopback Slurm here (no {STATE_FILE}); start one: slurm up") from None
    except (OSError, ValueError, TypeError) as exc:
        raise SchedlabError(f"{path}: not a harness state file ({exc})") from None


def env(folder: str | Path) -> dict:
    """An environment (this process's, updated) for Slurm commands that talk to the Slurm in ``folder``:
    ``SLURM_CONF`` set, the sbin folders on ``PATH``, and a surrounding job's ``SLURM_*`` removed."""
    state = load_state(folder)
    out = {k: v for k, v in os.environ.items() if not k.startswith(("SLURM_", "SBATCH_", "SQUEUE_", "SRUN_"))}
    out["SLURM_CONF"] = state.slurm_conf
    out["PATH"] = os.pathsep.join([os.environ.get("PATH", "/usr/bin:/bin"), *SBIN[:2]])
    return out


def _running_here(folder: Path) -> HarnessState | None:
    try:
        state = load_state(folder)
    except SchedlabError:
        return None
    return state if any(alive(pid, argv) for _, pid, argv in state.processes()) else None


def _prepare(folder: Path, job_submit: Path | None) -> None:
    """A fresh Slurm each time: an earlier harness's job state, spool and job records in ``folder``
    are removed (a folder that holds other files is refused)."""
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    if not names <= OURS:
        odd = ", ".join(sorted(names - OURS)[:3])
        raise SchedlabError(
            f"{folder}: holds files a loopback Slurm does not write ({odd}); give a new or empty folder"
        )
    for sub in ("state", "spool", "dev"):
        if (folder / sub).is_dir() and not (folder / sub).is_symlink():
            shutil.rmtree(folder / sub)
    (folder / "jobcomp.log").unlink(missing_ok=True)
    for sub in ("state", "spool", "log", "run", "dev"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    if job_submit is not None:
        try:
            text = Path(job_submit).read_text()
        except OSError as exc:
            raise SchedlabError(f"{job_submit}: cannot be read ({exc.strerror or exc})") from None
        write_text(folder / "job_submit.lua", text)  # Slurm reads it beside slurm.conf
    elif (folder / "job_submit.lua").exists():
        (folder / "job_submit.lua").unlink()


def _write_conf(cluster, folder: Path, nodes, port, scheduler, job_submit):
    from schedlab.slurm.conf import kept_count, loopback_conf

    ctld_port, node_ports = _ports(kept_count(cluster, nodes), port)
    conf = loopback_conf(cluster, folder, node_ports, ctld_port, nodes, scheduler, job_submit is not None)
    write_text(folder / "slurm.conf", conf.slurm_conf)
    write_text(folder / "gres.conf", conf.gres_conf)
    write_text(folder / "cgroup.conf", "# not used: proctrack/linuxproc, task/none\n")
    for files in conf.gpu_files.values():
        for f in files:
            Path(f).parent.mkdir(parents=True, exist_ok=True)
            Path(f).touch()
    for name in conf.nodes:
        (folder / "spool" / name).mkdir(parents=True, exist_ok=True)
    return conf, ctld_port


def up(
    cluster: str | Path, folder: Path, job_submit: Path | None = None, nodes: int | None = None,
    port: int | None = None, scheduler: dict | None = None,
) -> HarnessState:  # fmt: skip
    """Start a loopback Slurm of the machine ``cluster`` (a shipped name or a description file) in
    ``folder`` and wait until its nodes are idle.  ``job_submit``: a job_submit.lua to load;
    ``nodes``: run only the first N nodes; ``port``: slurmctld's port, the slurmd's the next ones
    (default: free ports); ``scheduler``: sched_interval, bf_interval, bf_resolution, bf_window."""
    from schedlab.cluster import load_cluster

    tools = find_tools()
    folder = Path(folder).resolve()
    machine = cluster if hasattr(cluster, "node_names") else load_cluster(cluster)
    if folder.exists() and not folder.is_dir():
        raise SchedlabError(f"{folder}: exists and is not a folder")
    running = _running_here(folder)
    if running is not None:
        raise SchedlabError(f"{folder}: a loopback Slurm already runs here; stop it first (schedlab slurm down)")
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    _prepare(folder, job_submit)
    conf, ctld_port = _write_conf(machine, folder, nodes, port, scheduler, job_submit)
    state = HarnessState(
        folder=str(folder), slurm_conf=str(folder / "slurm.conf"), cluster=machine.name, nodes=list(conf.nodes),
        partitions=list(conf.partitions), ports={"slurmctld": ctld_port, "slurmd": conf.node_ports},
        pids={"slurmd": {}}, commands={"slurmd": {}}, scheduler=conf.scheduler, munge_socket="",
        jobcomp=str(folder / "jobcomp.log"), version=_version(tools), job_submit=str(job_submit or ""),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        gpus={n: len(f) for n, f in conf.gpu_files.items()}, notes=list(conf.notes),
    )  # fmt: skip
    try:
        _start_all(tools, state, folder)
        _wait_idle(tools, state, folder)
        state.node_order = _node_table_order(tools, state)
        _save(state)
    except BaseException:
        _stop(state.processes())
        _save(state)
        raise
    return state


def _save(state: HarnessState) -> None:
    write_text(_state_path(Path(state.folder)), json.dumps(asdict(state), indent=2) + "\n")


def _start_all(tools: dict, state: HarnessState, folder: Path) -> None:
    pid, argv, sock = _start_munged(tools, folder)
    state.pids["munged"], state.commands["munged"], state.munge_socket = pid, argv, sock
    _save(state)
    ctld = [tools["slurmctld"], "-D", "-i", "-f", state.slurm_conf]
    state.pids["slurmctld"], state.commands["slurmctld"] = _spawn(ctld, folder / "log" / "slurmctld.out"), ctld
    _save(state)
    _wait_ctld(tools, state, folder)
    for node in state.nodes:
        argv = [tools["slurmd"], "-D", "-N", node, "-f", state.slurm_conf]
        state.pids["slurmd"][node] = _spawn(argv, folder / "log" / f"slurmd.{node}.out")
        state.commands["slurmd"][node] = argv
    _save(state)


def _ctld_failure(state: HarnessState, folder: Path) -> SchedlabError:
    path = folder / "log" / "slurmctld.out"
    log = path.read_text(errors="replace") if path.exists() else ""
    if "Address already in use" in log:
        port = state.ports["slurmctld"]
        return SchedlabError(f"port {port} on 127.0.0.1 is in use: slurmctld cannot listen; give another --port")
    if "munge" in log.lower() and "error" in log.lower():
        return SchedlabError(f"slurmctld cannot use munge at {state.munge_socket}: {_tail(path, 1)}")
    return SchedlabError(f"slurmctld stopped at start: {_tail(path, 2) or 'no output'}")


def _slurm(tools: dict, state: HarnessState, *args: str, timeout: float = 10) -> subprocess.CompletedProcess:
    environ = {**os.environ, "SLURM_CONF": state.slurm_conf}
    return subprocess.run([tools[args[0]], *args[1:]], capture_output=True, text=True, env=environ, timeout=timeout)


def _wait_ctld(tools: dict, state: HarnessState, folder: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not alive(state.pids["slurmctld"], state.commands["slurmctld"]):
            raise _ctld_failure(state, folder)
        with contextlib.suppress(subprocess.TimeoutExpired):
            if _slurm(tools, state, "scontrol", "ping", timeout=5).stdout.count("is UP"):
                return
        time.sleep(0.2)
    tail = _tail(folder / "log" / "slurmctld.log", 2)
    raise SchedlabError(f"slurmctld did not answer within {START_TIMEOUT_S:.0f} s: {tail}")


def node_states(tools: dict, state: HarnessState) -> dict[str, str]:
    """node -> state as sinfo shows it (idle, mixed, allocated, down*, ...)."""
    out = _slurm(tools, state, "sinfo", "-h", "-N", "-o", "%N %T")
    return dict(line.split(None, 1) for line in out.stdout.splitlines() if len(line.split(None, 1)) == 2)


def _node_table_order(tools: dict, state: HarnessState) -> list[str]:
    out = _slurm(tools, state, "scontrol", "show", "nodes", "-o").stdout.splitlines()
    names = [line.split()[0].removeprefix("NodeName=") for line in out if line.startswith("NodeName=")]
    return names if sorted(names) == sorted(state.nodes) else list(state.nodes)


def _wait_idle(tools: dict, state: HarnessState, folder: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    states: dict = {}
    while time.monotonic() < deadline:
        for node in state.nodes:
            if not alive(state.pids["slurmd"][node], state.commands["slurmd"][node]):
                log = folder / "log" / f"slurmd.{node}.out"
                text = log.read_text(errors="replace") if log.exists() else ""
                if "Address already in use" in text:
                    port = state.ports["slurmd"][node]
                    raise SchedlabError(f"port {port} on 127.0.0.1 is in use: slurmd {node} cannot listen; give --port")
                raise SchedlabError(f"slurmd {node} stopped at start: {_tail(log, 2) or 'no output'}")
        with contextlib.suppress(subprocess.TimeoutExpired):
            states = node_states(tools, state)
        if states and all(states.get(n, "").rstrip("*~#") == "idle" for n in state.nodes):
            return
        time.sleep(0.2)
    raise SchedlabError(f"nodes not idle within {START_TIMEOUT_S:.0f} s: {states}; see {folder / 'log'}")


def status(folder: str | Path) -> dict:
    """What runs in ``folder``: each process alive or not, the nodes' states and the jobs in the queue."""
    state = load_state(folder)
    procs = {label: {"pid": pid, "alive": alive(pid, argv)} for label, pid, argv in state.processes()}
    out = {
        "folder": state.folder, "cluster": state.cluster, "slurm_conf": state.slurm_conf, "version": state.version,
        "started": state.started, "ports": state.ports, "processes": procs,
        "running": all(p["alive"] for p in procs.values()), "nodes": {}, "jobs": {},
        "scheduler": state.scheduler, "job_submit": state.job_submit, "notes": state.notes,
    }  # fmt: skip
    if procs.get("slurmctld", {}).get("alive"):
        tools = find_tools()
        with contextlib.suppress(subprocess.TimeoutExpired):
            out["nodes"] = node_states(tools, state)
            q = _slurm(tools, state, "squeue", "-h", "-o", "%T").stdout.split()
            out["jobs"] = {s.lower(): q.count(s) for s in sorted(set(q))}
    return out


def down(folder: str | Path) -> list[str]:
    """Cancel this Slurm's jobs and stop the processes ``up`` started in ``folder`` (only those:
    by pid, each checked to still run its command); the labels of those stopped."""
    state = load_state(folder)
    if alive(state.pids.get("slurmctld", 0), state.commands.get("slurmctld", ["-"])):
        with contextlib.suppress(OSError, subprocess.TimeoutExpired, SchedlabError):
            tools = find_tools()
            jobs = _slurm(tools, state, "squeue", "-h", "-o", "%i").stdout.split()
            if jobs:
                _slurm(tools, state, "scancel", *jobs)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and _slurm(tools, state, "squeue", "-h", "-o", "%i").stdout.split():
                    time.sleep(0.2)
    return _stop(state.processes())


def rest_up(folder: str | Path) -> str:
    """Start slurmrestd for the Slurm in ``folder`` on a unix socket there (``run/slurmrestd.sock``,
    API v0.0.38, rest_auth/local), as the current user, and record it so that ``down`` stops it;
    its ``unix:`` URL.  slurmrestd refuses to run as root or SlurmUser (the harness's user is both
    or one): this test Slurm's copy runs with ``SLURMRESTD_SECURITY=disable_user_check``, a site runs
    its own.  Already running: its URL."""
    state, folder = load_state(folder), Path(folder)
    sock = folder / "run" / "slurmrestd.sock"
    if alive(state.pids.get("slurmrestd", 0), state.commands.get("slurmrestd", ["-"])):
        return f"unix:{sock}"
    path = os.environ.get("PATH", "") + os.pathsep + os.pathsep.join(SBIN)
    exe = shutil.which("slurmrestd", path=path)
    if not exe:
        raise SchedlabError("slurmrestd is not installed; on Debian/Ubuntu: apt-get install slurmrestd")
    sock.parent.mkdir(exist_ok=True)
    sock.unlink(missing_ok=True)
    argv = [exe, "-f", state.slurm_conf, "-s", "openapi/v0.0.38", "-a", "rest_auth/local", f"unix:{sock}"]
    log = folder / "log" / "slurmrestd.out"
    state.pids["slurmrestd"] = _spawn(argv, log, {**env(folder), "SLURMRESTD_SECURITY": "disable_user_check"})
    state.commands["slurmrestd"] = argv
    _save(state)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not sock.exists():
        if not alive(state.pids["slurmrestd"], argv) or time.monotonic() > deadline:
            raise SchedlabError(f"slurmrestd did not start: {_tail(log, 2) or 'no output'}")
        time.sleep(0.1)
    return f"unix:{sock}"


@contextlib.contextmanager
def running(
    cluster: str | Path, folder: Path, job_submit: Path | None = None, nodes: int | None = None, **kw
) -> Iterator[HarnessState]:
    """``up`` for the block, ``down`` after it (whatever happens inside)."""
    state = up(cluster, folder, job_submit=job_submit, nodes=nodes, **kw)
    try:
        yield state
    finally:
        down(folder)


__all__ = ["STATE_FILE", "HarnessState", "alive", "check_port", "down", "env", "find_tools", "free_port", "load_state"]
__all__ += ["node_states", "rest_up", "running", "status", "up"]
