"""The dashboard in a real browser: every view loads with no console error and shows the data of
the folder it was given (asserted on the plotly figure data, not only on the page's elements), the
controls change the figures, a run started from the page completes and is shown, and bad input
(an unreadable or foreign folder, one from an older version, a trace that does not parse) gets a
message in the page while the server lives on."""

from __future__ import annotations

import json
import shutil
import urllib.request

import pandas as pd

from schedlab.report.outputs import MARKER
from tests.dashboard.conftest import shoot

FIGURE = "(id) => { const g = document.querySelector('#' + id + ' .js-plotly-plot'); return g ? {data: g.data, layout: g.layout} : null; }"  # noqa: E501


def figure(page, gid: str) -> dict:
    return page.evaluate(FIGURE, gid)


def wait_figure(page, gid: str, test: str, timeout: float = 30_000) -> dict:
    """Wait until the figure of graph ``gid`` satisfies the JS expression ``test`` (over ``f``)."""
    page.wait_for_function(
        f"() => {{ const g = document.querySelector('#{gid} .js-plotly-plot'); if (!g || !g.data) return false;"
        f" const f = {{data: g.data, layout: g.layout}}; return {test}; }}",
        timeout=timeout,
    )
    return figure(page, gid)


def text(page, selector: str) -> str:
    return page.inner_text(selector)


def open_tab(page, view: str) -> None:
    page.click(f"#tab-{view}")
    page.wait_for_selector(f"#view-{view}", state="visible")


def test_every_view_shows_its_folder(page, results):
    jobs = pd.read_parquet(results["fcfs"] / "jobs.parquet")
    # schedule: the raster of every job, its legend, and the jobs in view in the grid
    g = wait_figure(page, "gantt", "(f.layout.images || []).length > 0")
    assert g["layout"]["images"][0]["source"].startswith("data:image/png;base64,")
    assert f"{len(jobs):,} jobs in view: raster" in text(page, "#gantt-info")
    page.wait_for_selector("#gantt-grid-holder .ag-row")  # the table of the jobs in view, mounted after the draw
    assert page.locator("#gantt-grid-holder .ag-center-cols-container .ag-row").count() > 0
    shoot(page, "schedule")
    open_tab(page, "overtime")
    f = wait_figure(page, "ot-graph", "f.data.length >= 4")  # two runs x (utilisation, queue)
    util = [t for t in f["data"] if t["name"].endswith("utilisation")]
    assert len(util) == 2 and all(0 <= max(t["y"]) <= 1.0 + 1e-9 for t in util)
    shoot(page, "over_time")
    open_tab(page, "dist")
    f = wait_figure(page, "dist-graph", "f.data.length == 2")
    assert {t["name"].split(" ")[0] for t in f["data"]} == {"fcfs", "sjf"}
    f = wait_figure(page, "dist-bars", "f.data.length == 1 && f.data[0].x.length == 4")  # 2 policies x 2 backfills
    shoot(page, "distributions")
    open_tab(page, "sbs")
    wait_figure(page, "sbs-ga", "(f.layout.images || []).length > 0")
    f = wait_figure(page, "sbs-scatter", "f.data.length == 1 && f.data[0].x.length > 0")
    page.wait_for_selector("#sbs-grid .ag-row")
    shoot(page, "side_by_side")
    open_tab(page, "groups")
    page.wait_for_selector("#grp-users .ag-row")
    assert "no partitions" in text(page, "#grp-msg")
    shoot(page, "users_partitions")
    if "bftrainer" in results:  # needs the BFTrainer dataset
        open_tab(page, "bft")
        f = wait_figure(page, "bft-graph", "f.data.length >= 3")
        events = pd.read_parquet(results["bftrainer"] / "events.parquet")
        assert f["data"][0]["y"] == events["idle_nodes"].tolist()
        shoot(page, "bftrainer")
    if "ecosched" in results:  # needs the EcoSched dataset
        open_tab(page, "energy")
        f = wait_figure(page, "en-bars", "f.data.length == 1")
        assert {"sequential", "marble"} <= set(f["data"][0]["x"])
        shoot(page, "energy")
    open_tab(page, "analytics")
    f = wait_figure(page, "an-fail", "f.data.length >= 1")
    assert "ml" in f["data"][0]["x"] and "generic" in f["data"][0]["x"]
    assert page.locator("#an-findings li").count() == len(
        json.loads((results["analyze"] / "summary.json").read_text())["findings"]
    )
    shoot(page, "analytics")
    open_tab(page, "newrun")
    shoot(page, "new_run")


def test_decisions_of_an_agent_and_the_path_through_a_tree(page, results):
    open_tab(page, "rl")
    wait_figure(page, "rl-bars", "f.data.length == 1 && f.data[0].x.length > 1")
    page.click("#rl-go")
    f = wait_figure(page, "rl-decisions", "f.data.length == 1 && f.data[0].x.length > 0")
    assert all(y >= 0 for y in f["data"][0]["y"])  # the chosen job's place in the queue
    shoot(page, "rl_decisions")
    open_tab(page, "tree")
    tree = json.loads((results["explain"] / "tree.json").read_text())
    n_nodes = len(tree["nodes"]["feature"])
    f = wait_figure(page, "tree-graph", f"f.data.length == 3 && f.data[2].x.length == {n_nodes}")
    assert f["data"][1]["x"] == []  # no path yet
    page.click("#tree-go")
    page.wait_for_selector("#tree-grid .ag-row")
    page.click("#tree-grid .ag-center-cols-container .ag-row[row-index='3'] .ag-cell")
    f = wait_figure(page, "tree-graph", "f.data[1].x.length > 0")
    assert "decision 3" in f["layout"]["title"]["text"]
    shoot(page, "tree")


def test_controls_change_the_gantt(page, results):
    g = wait_figure(page, "gantt", "(f.layout.images || []).length > 0")
    before = g["layout"]["images"][0]["source"]
    page.click("#gantt-colour")
    assert all(t["name"].startswith("wait") for t in g["data"])  # the default colour: wait, in fixed bins
    page.get_by_role("option", name="user", exact=True).click()
    g = wait_figure(page, "gantt", "f.layout.images && f.layout.images.length && f.data[0].name.startsWith('user')")
    assert g["layout"]["images"][0]["source"] != before and [t["name"] for t in g["data"]] == ["user -1"]
    page.click("#gantt-colour")
    page.get_by_role("option", name="wait", exact=True).click()
    wait_figure(page, "gantt", "f.data[0].name.startsWith('wait')")
    # zoom to a short window: few jobs in view, so exact rectangles named by job id
    jobs = pd.read_parquet(results["fcfs"] / "jobs.parquet")
    x0 = (jobs["start"].quantile(0.5) - jobs["submit"].min()) / 3600
    page.evaluate(
        "([a, b]) => Plotly.relayout(document.querySelector('#gantt .js-plotly-plot'), {'xaxis.range[0]': a, 'xaxis.range[1]': b})",  # noqa: E501
        [x0, x0 + 2.0],
    )
    g = wait_figure(page, "gantt", "f.data.length > 0 && f.data[0].fill == 'toself'")
    ids = {int(i) for t in g["data"] for i in t["customdata"]}
    assert ids and ids <= set(jobs["job_id"].tolist())
    assert "exact" in text(page, "#gantt-info")
    n = int(text(page, "#gantt-info").split(" ")[0].replace(",", ""))
    assert n == len(ids)
    page.wait_for_selector("#gantt-grid-holder .ag-row")
    page.click("#gantt-grid-holder .ag-center-cols-container .ag-row[row-index='0'] .ag-cell")
    page.wait_for_function("() => document.querySelector('#gantt-detail').innerText.startsWith('job ')")
    shoot(page, "schedule_zoomed")


def test_a_run_started_from_the_page_completes(page, server):
    _, runs, _ = server
    open_tab(page, "newrun")
    page.click("#nr-trace")
    page.get_by_role("option", name="cqsim_test2", exact=True).click()
    page.click("#nr-start")
    page.wait_for_function("() => document.querySelector('#nr-msg').innerText.includes('done')", timeout=60_000)
    assert "2 folder(s) written" in text(page, "#nr-msg")
    made = sorted(p for p in runs.iterdir() if (p / MARKER).is_file())
    assert len(made) == 2 and all((p / "jobs.parquet").is_file() for p in made)
    assert "from schedlab dashboard" in json.loads((made[0] / MARKER).read_text())["command"]
    # the new folders are offered in the schedule's selector
    open_tab(page, "schedule")
    page.click("#gantt-run")
    page.get_by_role("option", name=f"{made[0].name} (fcfs+easy)").click()
    wait_figure(page, "gantt", "f.data.length > 0 && f.layout.title.text.includes('cqsim_test2')")


def test_a_bad_folder_gets_a_message(page, tmp_path, results):
    expected = {
        "missing": "is not a folder", "foreign": "not a finished schedlab results folder", "older": "older version",
        "bad_table": "cannot read",
    }  # fmt: skip
    for case, words in expected.items():
        folder = tmp_path / case
        if case == "foreign":
            folder.mkdir()
            (folder / "notes.txt").write_text("not schedlab")
        elif case in ("older", "bad_table"):
            shutil.copytree(results["fcfs"], folder)
            if case == "older":
                (folder / MARKER).write_text(json.dumps({"schedlab": "0.0.1", "command": "schedlab simulate"}))
            else:
                (folder / "jobs.parquet").write_bytes(b"PAR1 this is no parquet file")
        page.fill("#folder-path", str(folder))
        page.click("#folder-load")
        page.wait_for_function(
            "(f) => document.querySelector('#folder-msg').innerText.includes(f)", arg=str(folder), timeout=10_000
        )
        msg = text(page, "#folder-msg")
        assert words in msg, (case, msg)
        if case == "older":
            shoot(page, "bad_folder")
    assert urllib.request.urlopen(page.url, timeout=5).status == 200  # the server lives on
    page.fill("#folder-path", str(results["sjf"]))  # and a good folder still loads
    page.click("#folder-load")
    page.wait_for_function("() => document.querySelector('#folder-ok').innerText.startsWith('loaded sjf')")


def test_a_trace_that_does_not_parse_gets_a_message(page, tmp_path):
    bad = tmp_path / "broken.swf"
    bad.write_text("; MaxProcs: 16\n1 0 0 not-a-number 4 -1 -1 4 100 -1 1 1 1 -1 1 -1 -1 -1\n")
    open_tab(page, "newrun")
    page.set_input_files("#nr-upload input[type=file]", str(bad))
    page.wait_for_function("() => document.querySelector('#nr-upload-msg').innerText.length > 0")
    assert "broken.swf does not parse as a trace" in text(page, "#nr-upload-msg")
    shoot(page, "bad_upload")
    good = tmp_path / "tiny.swf"
    good.write_text("; MaxProcs: 16\n1 0 0 100 4 -1 -1 4 200 -1 1 1 1 -1 1 -1 -1 -1\n")
    page.set_input_files("#nr-upload input[type=file]", str(good))
    page.wait_for_function("() => document.querySelector('#nr-upload-msg').innerText.includes('tiny.swf: read')")


def test_a_taken_port_is_one_line_and_exit_2(server):
    import subprocess
    import sys

    port = int(server[0].rsplit(":", 1)[1].strip("/"))
    r = subprocess.run(
        [sys.executable, "-m", "schedlab.cli", "dashboard", "--port", str(port)], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert r.returncode == 2
    assert (
        r.stderr.strip()
        == f"error: port {port} on 127.0.0.1 is already in use (another dashboard?); give another with --port"
    )
