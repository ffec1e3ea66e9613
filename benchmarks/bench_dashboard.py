"""Dashboard latency on a 300k-job schedule, in headless Chromium (Debian's /usr/bin/chromium).

    python benchmarks/bench_dashboard.py     # prints the table, writes results/bench_dashboard.json

The schedule: CEA-Curie (295,540 jobs after cleaning, ../shared/traces) simulated by schedlab
(FCFS + EASY) into a results folder.  ``schedlab dashboard`` serves it (a subprocess on a free
loopback port) and the browser measures, with ``performance.now()`` in the page:

- first render: from the page's navigation start until the Gantt of all 295,540 jobs is drawn
  (its raster is in the figure, then two animation frames).  The first load on a fresh server also
  places the jobs (once per run); it is reported apart ("cold"), then REPEATS loads in a new browser
  profile each (nothing cached: plotly.js basic, AG Grid and Dash to parse) and REPEATS loads in
  one profile (the scripts cached, as when the page is opened again).
- zoom: from ``Plotly.relayout`` (what a drag-zoom calls) to the new view drawn: the server
  re-rasterises the jobs in view (or sends exact rectangles once fewer than 1,500 are), REPEATS
  zooms at several depths.

Also the raster's size on the wire and the server's resident memory before and after.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRACE = HERE.parent.parent / "shared" / "traces" / "CEA-Curie-2011-2.1-cln.swf.gz"
ARGS = [
    "--no-sandbox", "--enable-unsafe-swiftshader", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
REPEATS = 7

DRAWN = """async () => {
  const ready = () => { const g = document.querySelector('#gantt .js-plotly-plot');
    return g && g.layout && g.layout.images && g.layout.images.length && g.layout.title.text.includes('curie'); };
  while (!ready()) await new Promise(r => requestAnimationFrame(r));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const g = document.querySelector('#gantt .js-plotly-plot');
  return {ms: performance.now(), bytes: g.layout.images[0].source.length};
}"""
ZOOM = """async ([a, b]) => {
  const gd = document.querySelector('#gantt .js-plotly-plot');
  const info = document.querySelector('#gantt-info');
  const img = () => gd.layout.images && gd.layout.images.length;
  const src = () => img() ? gd.layout.images[0].source : 'exact:' + gd.data.length;
  const before = src(), text = info.innerText;
  const t0 = performance.now();
  Plotly.relayout(gd, {'xaxis.range[0]': a, 'xaxis.range[1]': b});
  while (src() === before && info.innerText === text) await new Promise(r => requestAnimationFrame(r));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return {ms: performance.now() - t0, info: info.innerText, bytes: src().length};
}"""


def simulate(out: Path) -> Path:
    """CEA-Curie, FCFS + EASY, written like ``schedlab simulate --out``."""
    from schedlab.report.outputs import prepare_out
    from schedlab.report.simulation import write_simulation
    from schedlab.simulator import SimConfig
    from schedlab.simulator.compare import simulate_summary
    from schedlab.workload import load_trace

    folder = prepare_out(out, command=f"schedlab simulate --trace {TRACE} --policy fcfs --backfill easy --out {out}")
    summary, res = simulate_summary(load_trace(TRACE), SimConfig(policy="fcfs", backfill="easy"))
    folder.write(lambda d: write_simulation(d, summary, res))
    return out


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serve(folder: Path, runs: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "schedlab.cli", "dashboard", "--results", str(folder), "--port", str(port),
           "--runs-dir", str(runs)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the dashboard did not start")


def measure(url: str, proc: subprocess.Popen) -> dict:
    from playwright.sync_api import sync_playwright

    out: dict = {"rss_mib_started": rss_mib(proc.pid)}
    time.sleep(8)  # let the server's warm-up (numba compiles) finish, as it does before anyone opens the page
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        loads = []
        for _ in range(REPEATS + 1):  # a new browser profile each time: nothing cached
            ctx = browser.new_context(viewport=dict(width=1400, height=1000))
            page = ctx.new_page()
            page.goto(url)
            loads.append(page.evaluate(DRAWN))
            print(f"page load {len(loads)} (new profile): {loads[-1]['ms'] / 1000:.3f} s", file=sys.stderr, flush=True)
            ctx.close()
        out["first_render_cold_s"] = loads[0]["ms"] / 1000
        out["first_render_new_profile_s"] = [r["ms"] / 1000 for r in loads[1:]]
        out["raster_bytes"] = loads[0]["bytes"]
        ctx = browser.new_context(viewport=dict(width=1400, height=1000))
        page = ctx.new_page()
        again = []
        for _ in range(REPEATS + 1):  # the same profile: the page's scripts cached, as on a second visit
            page.goto(url)
            again.append(page.evaluate(DRAWN)["ms"] / 1000)
            print(f"page load (cached scripts): {again[-1]:.3f} s", file=sys.stderr, flush=True)
        out["first_render_cached_s"] = again[1:]
        ctx.close()
        page = browser.new_page(viewport=dict(width=1400, height=1000))
        page.goto(url)
        page.evaluate(DRAWN)
        x1 = page.evaluate("() => document.querySelector('#gantt .js-plotly-plot').layout.xaxis.range[1]")
        zooms = []
        for k in range(REPEATS):  # spans from a quarter of the trace down to one hour
            span = x1 / 4 / (3**k) if k < REPEATS - 1 else 1.0
            lo = x1 * (0.15 + 0.1 * k)
            zooms.append(page.evaluate(ZOOM, [lo, lo + span]) | {"span_h": span})
            print(f"zoom {k}: {zooms[-1]['ms'] / 1000:.3f} s", file=sys.stderr, flush=True)
            zooms.append(page.evaluate(ZOOM, [0, x1]) | {"span_h": x1})  # and back out to the whole trace
        out["zooms"] = zooms
        browser.close()
    out["rss_mib_after"] = rss_mib(proc.pid)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        folder = simulate(Path(tmp) / "curie")
        sim_s = time.perf_counter() - t
        print(f"simulated and written in {sim_s:.1f} s", file=sys.stderr, flush=True)
        proc, url = serve(folder, Path(tmp) / "runs")
        try:
            res = measure(url, proc)
        finally:
            proc.terminate()
            proc.wait(10)
    zoom_ms = [z["ms"] / 1000 for z in res["zooms"]]
    summary = {
        "trace": TRACE.name, "jobs": 295540, "simulate_and_write_s": round(sim_s, 2),
        "first_render_cold_s": round(res["first_render_cold_s"], 3),
        "first_render_new_profile_median_s": round(statistics.median(res["first_render_new_profile_s"]), 3),
        "first_render_new_profile_max_s": round(max(res["first_render_new_profile_s"]), 3),
        "first_render_cached_median_s": round(statistics.median(res["first_render_cached_s"]), 3),
        "first_render_cached_max_s": round(max(res["first_render_cached_s"]), 3),
        "zoom_median_s": round(statistics.median(zoom_ms), 3), "zoom_max_s": round(max(zoom_ms), 3),
        "zooms": len(zoom_ms), "raster_kib": round(res["raster_bytes"] / 1024, 1),
        "server_rss_mib_started": round(res["rss_mib_started"], 1),
        "server_rss_mib_after": round(res["rss_mib_after"], 1),
        "cpus": os.cpu_count(), "browser": "Debian chromium, headless, software rendering",
    }  # fmt: skip
    for k, v in summary.items():
        print(f"{k:32} {v}")
    for z in res["zooms"]:
        print(f"  zoom to {z['span_h']:>10.1f} h: {z['ms'] / 1000:.3f} s  ({z['info']})")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "bench_dashboard.json").write_text(
        json.dumps(summary | {"zoom_details": res["zooms"]}, indent=2)
    )


if __name__ == "__main__":
    main()
