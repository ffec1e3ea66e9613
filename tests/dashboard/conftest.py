"""End-to-end fixtures: results folders written by the real commands, the real server started as
``schedlab dashboard`` on a free loopback port (and stopped: that process only), and Debian's
Chromium driven by playwright.  Skipped, with the reason, only when /usr/bin/chromium is absent."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--no-sandbox", "--enable-unsafe-swiftshader", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]
#: Screenshots of every view (test artefacts); SCHEDLAB_UPDATE_DOCS_IMG=1 also copies them to docs/img/dashboard.
ARTIFACTS = Path(os.environ.get("SCHEDLAB_TEST_ARTIFACTS", ROOT / "out" / "test-artifacts")) / "dashboard"
DOCS_IMG = ROOT / "docs" / "img" / "dashboard"
SACCT = ROOT / "tests" / "fixtures" / "analytics" / "sacct_small.txt"

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is absent (Debian's chromium; scripts/bootstrap.sh test installs it as root)",
        allow_module_level=True,
    )

COMMANDS = {
    "fcfs": ["simulate", "--trace", "lublin_256", "--policy", "fcfs", "--backfill", "easy"],
    "sjf": ["simulate", "--trace", "lublin_256", "--policy", "sjf", "--backfill", "easy"],
    "compare": ["compare", "--trace", "lublin_256", "--policies", "fcfs,sjf", "--backfill", "none,easy"],
    "evaluate": ["evaluate", "--model", "lublin_256-scorer", "--trace", "lublin_256", "--windows", "1",
                 "--window-len", "64", "--protocol", "windows"],
    "explain": ["explain", "--model", "sjf", "--trace", "lublin_256", "--window-len", "64", "--iterations", "1",
                "--max-leaves", "6", "--windows", "1"],
    "bftrainer": ["bftrainer", "--nodes", "200", "--hours", "2", "--trainers", "hps10"],
    "ecosched": ["energy", "ecosched", "--policy", "sequential", "--policy", "marble"],
    "ecoshift": ["energy", "ecoshift", "--predictor", "oracle", "--cap-fraction", "0.8"],
    "analyze": ["analyze", "--jobs", str(SACCT)],
}  # fmt: skip


def _have(check) -> bool:
    from schedlab.datasets import DataNotFound

    try:
        check()
    except DataNotFound:
        return False
    return True


def _data_checks() -> dict:
    """The commands that read a measured dataset (../shared/data or `schedlab data fetch`), and how
    to tell it is there: without it the command is left out and its view's checks are skipped."""
    from schedlab.datasets import find_dataset
    from schedlab.elastic.data import bftrainer_dir
    from schedlab.energy import open as op
    from schedlab.energy.profiles import load_app_table

    return {
        "bftrainer": bftrainer_dir,
        "ecosched": lambda: load_app_table("H100"),
        "ecoshift": lambda: find_dataset("open_a100", [op.MEASURED_FILE]),
    }


#: the commands whose folders the tests get (those needing a dataset only where it is found)
_CHECKS = _data_checks()
AVAILABLE = {name: args for name, args in COMMANDS.items() if name not in _CHECKS or _have(_CHECKS[name])}


WRITE = """
import json, sys
from typer.testing import CliRunner
from schedlab.cli import app
for out, args in json.loads(sys.argv[1]):
    r = CliRunner().invoke(app, [*args, "--out", out])
    if r.exit_code:
        sys.exit(f"{args[0]}: {r.output}")
"""


@pytest.fixture(scope="session")
def results(tmp_path_factory) -> dict[str, Path]:
    """One --out folder of each command the dashboard reads, written by the commands themselves (in
    two processes at once, half the commands each)."""
    base = tmp_path_factory.mktemp("results")
    out = {name: base / name for name in AVAILABLE}
    jobs = [[str(out[n]), AVAILABLE[n]] for n in AVAILABLE]
    halves = [jobs[0::2], jobs[1::2]]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITE, json.dumps(h)], stderr=subprocess.PIPE, text=True, env=env)
        for h in halves
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the dashboard exited ({proc.returncode}): {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the dashboard did not answer at {url} within {timeout} s")


@pytest.fixture(scope="session")
def server(results, tmp_path_factory):
    """``schedlab dashboard`` over the folders, on a free loopback port; (url, runs folder, process)."""
    runs = tmp_path_factory.mktemp("runs")
    port = free_port()
    folders = [a for k in ("fcfs", "sjf", "compare", "evaluate", "explain", "bftrainer", "ecosched", "ecoshift",
                           "analyze") if k in results for a in ("--results", str(results[k]))]  # fmt: skip
    cmd = [sys.executable, "-m", "schedlab.cli", "dashboard", *folders, "--port", str(port), "--runs-dir", str(runs)]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_for(url, proc)
        yield url, runs, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C: the command stops its server and exits
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    """A page on the dashboard; fails the test on any console error or uncaught page error."""
    url = server[0]
    ctx = browser.new_context(viewport=dict(width=1400, height=1000))
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(url)
    pg.wait_for_selector("#tabs")
    yield pg
    ctx.close()
    assert not errors, errors


def shoot(page, name: str) -> Path:
    """A screenshot of the page as a test artefact (and in docs/img/dashboard with SCHEDLAB_UPDATE_DOCS_IMG=1)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("SCHEDLAB_UPDATE_DOCS_IMG") == "1":
        DOCS_IMG.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMG / f"{name}.png")
    return path
