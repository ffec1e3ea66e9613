"""The dashboard's state (loaded folders, cached Gantts, the runner) and its page layout."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from schedlab.dashboard.results import Results, load_results
from schedlab.dashboard.runs import Runner
from schedlab.errors import SchedlabError

#: Most results folders held at once (the oldest is dropped), and Gantts kept built.
MAX_RESULTS = 32
MAX_GANTTS = 3

VIEWS = (
    ("schedule", "Schedule"),
    ("overtime", "Over time"),
    ("dist", "Distributions"),
    ("sbs", "Side by side"),
    ("groups", "Users & partitions"),
    ("rl", "RL decisions"),
    ("tree", "Tree"),
    ("bft", "BFTrainer"),
    ("energy", "Energy"),
    ("analytics", "Analytics"),
    ("newrun", "New run"),
)
#: Which result kinds each selector offers.
KIND_OF = {
    "gantt-run": ("simulate",), "ot-runs": ("simulate",), "dist-runs": ("simulate",),
    "dist-table": ("compare", "evaluate"), "sbs-a": ("simulate",), "sbs-b": ("simulate",), "grp-run": ("simulate",),
    "rl-run": ("evaluate",), "tree-run": ("explain",), "bft-run": ("bftrainer",),
    "en-run": ("ecosched", "ecoshift"), "an-run": ("analyze",),
}  # fmt: skip


class State:
    """What the server holds: loaded results (bounded), built Gantts (LRU), decisions, the runner."""

    def __init__(self, runs_dir: Path):
        self.lock = threading.RLock()
        self.results: OrderedDict[str, Results] = OrderedDict()
        self.gantts: OrderedDict[str, object] = OrderedDict()
        self.decisions: dict[str, tuple] = {}
        self.version = 0
        self.runs_dir = Path(runs_dir)
        self.runner = Runner(self.runs_dir, on_done=self.add)

    def add(self, path) -> Results:
        res = load_results(path)
        key = str(res.path)
        with self.lock:
            self.results.pop(key, None)
            self.gantts.pop(key, None)
            self.results[key] = res
            while len(self.results) > MAX_RESULTS:
                old, _ = self.results.popitem(last=False)
                self.gantts.pop(old, None)
            self.version += 1
        return res

    def get(self, key: str | None) -> Results:
        with self.lock:
            if not key or key not in self.results:
                raise SchedlabError("choose a results folder (load one above, or start a new run)")
            return self.results[key]

    def gantt(self, key: str):
        from schedlab.dashboard.gantt import build

        with self.lock:
            if key in self.gantts:
                self.gantts.move_to_end(key)
                return self.gantts[key]
        g = build(self.get(key).tables["jobs"])
        with self.lock:
            self.gantts[key] = g
            while len(self.gantts) > MAX_GANTTS:
                self.gantts.popitem(last=False)
        return g

    def listing(self) -> list[dict]:
        with self.lock:
            return [dict(value=k, label=r.label, kind=r.kind) for k, r in self.results.items()]


def choices(listing: list[dict], current: dict) -> dict:
    """selector id -> (options, value): the folders of the kinds it shows; the current value kept
    while it is still offered, else the first (two for the multi-run views, the second for run B)."""
    out = {}
    for key, kinds in KIND_OF.items():
        opts = [dict(label=r["label"], value=r["value"]) for r in listing if r["kind"] in kinds]
        valid = [o["value"] for o in opts]
        value = current.get(key)
        if key in ("ot-runs", "dist-runs"):
            value = [v for v in (value or []) if v in valid] or valid[:4]
        elif value not in valid:
            value = valid[1] if key == "sbs-b" and len(valid) > 1 else (valid[0] if valid and key != "sbs-b" else None)
        out[key] = (opts, value)
    return out


def _grid(gid: str, height: int = 320, rows=(), columns=()):
    import dash_ag_grid as dag

    return dag.AgGrid(
        id=gid, rowData=list(rows), columnDefs=list(columns),
        defaultColDef=dict(sortable=True, filter=True, resizable=True),
        dashGridOptions=dict(rowSelection=dict(mode="singleRow", checkboxes=False, enableClickSelection=True),
                             animateRows=False),
        style=dict(height=f"{height}px", width="100%"), className="ag-theme-alpine",
    )  # fmt: skip


#: Initial options and values of the selectors, set by :func:`layout` for the page being served.
_INITIAL: dict = {}
_LAYOUT_LOCK = threading.Lock()


def _dd(did: str, multi: bool = False, placeholder: str = "results folder", width: str = "420px"):
    from dash import dcc

    options, value = _INITIAL.get(did, ([], None))
    return dcc.Dropdown(id=did, options=options, value=value, multi=multi, placeholder=placeholder,
                        style=dict(width=width))  # fmt: skip


def _graph(gid: str, height: int = 420):
    from dash import dcc

    return dcc.Graph(id=gid, figure=dict(data=[], layout={}), style=dict(height=f"{height}px"),
                     config=dict(displaylogo=False))  # fmt: skip


def _row(*children):
    from dash import html

    return html.Div(children, style=dict(display="flex", gap="12px", alignItems="center", flexWrap="wrap",
                                         margin="6px 0"))  # fmt: skip


def _msg(mid: str):
    from dash import html

    return html.Div(id=mid, className="msg", style=dict(color="#b00020", margin="4px 0"))


def _views() -> dict:
    from dash import dcc, html

    return {
        "schedule": [
            _row(_dd("gantt-run"),
                 dcc.Dropdown(id="gantt-colour", options=_INITIAL.get("gantt-colour", ([], None))[0],
                              value=_INITIAL.get("gantt-colour", ([], None))[1], clearable=False,
                              style=dict(width="200px")),
                 html.Span(id="gantt-info")),
            _msg("gantt-msg"), _graph("gantt", 560), dcc.Store(id="gantt-view", data={}), dcc.Store(id="gantt-zoom"),
            html.Div(id="gantt-detail", style=dict(fontFamily="monospace", margin="4px 0")),
            html.Div(id="gantt-grid-holder"), dcc.Store(id="gantt-rows"),
        ],
        "overtime": [_row(_dd("ot-runs", multi=True, width="700px")), _msg("ot-msg"), _graph("ot-graph", 560)],
        "dist": [
            _row(_dd("dist-runs", multi=True, width="600px"),
                 dcc.RadioItems(id="dist-metric", options=["wait", "bsld"], value="wait", inline=True)),
            _msg("dist-msg"), _graph("dist-graph"),
            _row(_dd("dist-table", placeholder="compare or evaluate folder")), _graph("dist-bars", 360),
        ],
        "sbs": [
            _row(_dd("sbs-a", placeholder="run A"), _dd("sbs-b", placeholder="run B")), _msg("sbs-msg"),
            html.Div([_graph("sbs-ga", 380), _graph("sbs-gb", 380)],
                     style=dict(display="grid", gridTemplateColumns="1fr 1fr", gap="8px")),
            _graph("sbs-scatter", 380), _grid("sbs-grid", 300),
        ],
        "groups": [_row(_dd("grp-run")), _msg("grp-msg"), html.H4("per user"), _grid("grp-users"),
                   html.H4("per partition"), _grid("grp-parts", 200)],
        "rl": [
            _row(_dd("rl-run", placeholder="evaluate folder"), html.Button("Replay its first window", id="rl-go")),
            _msg("rl-msg"), _graph("rl-bars", 340), _graph("rl-decisions", 380), _grid("rl-grid", 260),
        ],
        "tree": [
            _row(_dd("tree-run", placeholder="explain folder"), html.Button("Replay a window", id="tree-go")),
            _msg("tree-msg"), _graph("tree-graph", 520),
            html.Div("Select a decision to see the path its chosen job took:"), _grid("tree-grid", 260),
            html.Pre(id="tree-rules", style=dict(fontSize="12px", maxHeight="240px", overflow="auto")),
        ],
        "bft": [_row(_dd("bft-run", placeholder="bftrainer folder")), _msg("bft-msg"), _graph("bft-graph", 520),
                _grid("bft-grid", 260)],
        "energy": [
            _row(_dd("en-run", placeholder="energy folder"),
                 dcc.Dropdown(id="en-policy", options=[], clearable=False, style=dict(width="240px"))),
            _msg("en-msg"), _graph("en-graph", 420), _graph("en-bars", 340), _grid("en-grid", 260),
        ],
        "analytics": [
            _row(_dd("an-run", placeholder="analyze folder")), _msg("an-msg"), html.Ul(id="an-findings"),
            html.Div([_graph("an-fail", 340), _graph("an-state", 340)],
                     style=dict(display="grid", gridTemplateColumns="1fr 1fr", gap="8px")),
            html.Div(id="an-pngs"),
        ],
        "newrun": _new_run(),
    }  # fmt: skip


def _new_run() -> list:
    from dash import dcc, html

    from schedlab.options import Backfill, Estimates
    from schedlab.workload.bundled import BUNDLED

    clusters = sorted(p.stem for p in (Path(__file__).parent.parent / "data" / "clusters").glob("*.toml"))
    policies = ["fcfs", "sjf", "ljf", "saf", "laf", "wfp3", "unicep", "f1", "f2", "f3", "f4"]
    return [
        _row(html.Label("trace"), dcc.Dropdown(id="nr-trace", options=list(BUNDLED), value="lublin_256",
                                               clearable=False, style=dict(width="420px")),
             dcc.Upload(id="nr-upload", children=html.Button("Upload a trace (SWF, sacct, CSV/Parquet)"),
                        max_size=256 * 1024 * 1024)),
        _msg("nr-upload-msg"),
        _row(html.Label("machine"), dcc.Dropdown(id="nr-cluster", options=clusters, placeholder="the trace's own",
                                                 style=dict(width="240px")),
             html.Label("backfill"), dcc.RadioItems(id="nr-backfill", options=[b.value for b in Backfill], value="easy",
                                                    inline=True),
             html.Label("estimates"), dcc.Dropdown(id="nr-estimates", options=[e.value for e in Estimates],
                                                   value="requested", clearable=False, style=dict(width="200px"))),
        _row(html.Label("policies"), dcc.Checklist(id="nr-policies", options=policies, value=["fcfs", "sjf"],
                                                   inline=True)),
        _row(html.Button("Start the run", id="nr-start"), html.Span(id="nr-msg")),
        html.Div(html.Div(id="nr-bar", style=dict(width="0%", height="12px", background="#4e79a7")),
                 style=dict(width="420px", border="1px solid #ccc", margin="6px 0")),
        dcc.Store(id="nr-id", data=None),
    ]  # fmt: skip


def layout(state: State):
    """The page, with the selectors already holding the loaded folders (one round trip less)."""
    from dash import dcc, html

    from schedlab.dashboard.gantt import colour_options

    listing = state.listing()
    with _LAYOUT_LOCK:  # _INITIAL is read by the builders below (pages may load at once)
        _INITIAL.clear()
        _INITIAL.update(choices(listing, {}))
        run = _INITIAL["gantt-run"][1]
        opts = colour_options(state.get(run).tables["jobs"]) if run else []
        _INITIAL["gantt-colour"] = (opts, opts[0] if opts else None)
        views = _views()
    runs_dir = state.runs_dir
    return html.Div(
        [
            html.H2("schedlab dashboard", style=dict(margin="4px 0")),
            _row(dcc.Input(id="folder-path", type="text", placeholder="a results folder (--out of a schedlab command)",
                           style=dict(width="520px"), debounce=False),
                 html.Button("Load folder", id="folder-load"), html.Span(id="folder-ok", style=dict(color="#2e7d32"))),
            _msg("folder-msg"),
            dcc.Store(id="runs", data=dict(version=state.version, runs=listing)),
            dcc.Interval(id="tick", interval=1000),
            dcc.Tabs(id="tabs", value="schedule", children=[
                dcc.Tab(label=label, value=v, id=f"tab-{v}", children=html.Div(views[v], id=f"view-{v}"))
                for v, label in VIEWS
            ]),
            html.Div(f"new runs are written under {runs_dir}", style=dict(color="#777", fontSize="12px")),
        ],
        style=dict(fontFamily="sans-serif", margin="8px 16px"),
    )  # fmt: skip


def create_app(results=(), runs_dir: Path | str = "dashboard-runs", warm: bool = True):
    """The Dash app over ``results`` (folders); new runs are written under ``runs_dir``.  A folder
    that cannot be read raises SchedlabError (the command reports it before serving)."""
    import dash

    from schedlab.dashboard.callbacks import register

    state = State(Path(runs_dir))
    for path in results:
        state.add(path)
    app = dash.Dash(__name__, title="schedlab dashboard", update_title=None, suppress_callback_exceptions=True)
    app.layout = lambda: layout(state)  # built for each page load: the folders loaded so far
    register(app, state)
    if warm:
        from schedlab.dashboard.gantt import warm_up

        threading.Thread(target=warm_up, name="schedlab-dashboard-warm-up", daemon=True).start()
    return app, state


__all__ = ["KIND_OF", "MAX_GANTTS", "MAX_RESULTS", "VIEWS", "State", "create_app", "layout"]
